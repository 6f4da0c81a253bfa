import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('client/src/graphql/generated.ts', () => {
  it('is what codegen makes of the schema and the operations (run `npm run codegen -w client`)', () => {
    const script = fileURLToPath(new URL('../scripts/codegen.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(run.stderr + run.stdout).toBe('');
    expect(run.status).toBe(0);
  });
});
