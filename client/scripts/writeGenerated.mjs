// How the client's generators (codegen.mjs, validators.mjs) finish: write the file, or with --check (the
// freshness tests in client/test/codegen.test.ts) say nothing and exit 0 when the checked-in file is current.
import fs from 'node:fs';
import path from 'node:path';

/**
 * Writes `text` to `outFile`, or with `--check` in the arguments compares instead: exit 1 with `staleMessage`
 * on stderr when the file differs.
 */
export function writeOrCheck(outFile, text, staleMessage) {
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8') : '';
    if (current !== text) {
      console.error(staleMessage);
      process.exit(1);
    }
    return;
  }
  fs.writeFileSync(outFile, text);
  console.log(`wrote ${path.relative(process.cwd(), outFile)}`);
}
