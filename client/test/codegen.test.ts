import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Runs a generator of client/scripts with --check: silent and exit 0 when the checked-in file is what it makes. */
function expectFresh(scriptName: string) {
  const script = fileURLToPath(new URL(`../scripts/${scriptName}`, import.meta.url));
  const run = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  expect(run.stderr + run.stdout).toBe('');
  expect(run.status).toBe(0);
}

describe('client/src/graphql/generated.ts', () => {
  it('is what codegen makes of the schema and the operations (run `npm run codegen -w client`)', () => {
    expectFresh('codegen.mjs');
  });
});

describe('client/src/common/schemaForm/validators.generated.ts', () => {
  it('is what Ajv makes of the workflow input schemas (run `npm run codegen -w client` after a server build)', () => {
    expectFresh('validators.mjs');
  });
});
