/**
 * Structure check: close codes and error codes are written once, in schema/codes.ts, and used by name
 * everywhere else (`CloseCode.Unauthorized`, `ErrorCode.BAD_USER_INPUT`), in code, tests and comments alike, so
 * that what a code means is read in one place and a changed code cannot leave a stale copy behind.
 *
 * Scans server/src, client/src and client/test. A close-code number fails wherever it appears; the one code
 * that is also an everyday quantity (NormalClosure, a thousand) only on a line that speaks of closing or of a
 * code. A quantity of that size on such a line is written `1_000`.
 *
 * Out of scope: bench/ and scripts/ (plain JavaScript run by node, which cannot import a .ts file), and the
 * server's use of error-code strings in its tests (they assert the contract's wire format as a client sees it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloseCode as GraphqlWsCloseCode } from 'graphql-ws';
import { describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode } from '../../../schema/codes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Folders scanned, with the fewest source files each must hold: fewer means the walk went wrong. */
const SCANNED: Record<string, number> = { 'server/src': 150, 'client/src': 30, 'client/test': 5 };
const SOURCE_FILE = /\.(ts|tsx|mts|js|mjs)$/;
/** Generated from the schema, never edited by hand. */
const GENERATED = new Set(['client/src/graphql/generated.ts']);

/** The close code that is also a round number: flagged only on a line about closing or codes. */
const EVERYDAY = new Set<number>([CloseCode.NormalClosure]);
const CLOSING_LINE = /clos|code/i;
const numbers = (values: number[]) => new RegExp(`(?<![\\w.])(${values.join('|')})(?!\\w)`, 'g');
const DISTINCT = [...new Set<number>(Object.values(CloseCode))];
const ALWAYS = numbers(DISTINCT.filter((n) => !EVERYDAY.has(n)));
const ON_CLOSING_LINES = numbers([...EVERYDAY]);
/** An error code as a string literal ('UNAUTHENTICATED'), looked for in the client. */
const ERROR_STRING = new RegExp(`(['"\`])(${Object.values(ErrorCode).join('|')})\\1`, 'g');

/** The close-code numbers on one line of source. */
function closeCodeLiterals(line: string): string[] {
  const found = [...line.matchAll(ALWAYS)].map((m) => m[1]);
  if (CLOSING_LINE.test(line)) found.push(...[...line.matchAll(ON_CLOSING_LINES)].map((m) => m[1]));
  return found;
}

function errorCodeStrings(line: string): string[] {
  return [...line.matchAll(ERROR_STRING)].map((m) => m[2]);
}

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (SOURCE_FILE.test(entry.name)) out.push(path.relative(ROOT, full).split(path.sep).join('/'));
    }
  };
  visit(path.join(ROOT, folder));
  return out;
}

/** `file:line: text` for each line of the files where `find` finds something. */
function offenders(files: string[], find: (line: string) => string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (GENERATED.has(file)) continue;
    fs.readFileSync(path.join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const found = find(line);
        if (found.length > 0) out.push(`${file}:${i + 1}: ${found.join(', ')} in: ${line.trim().slice(0, 120)}`);
      });
  }
  return out;
}

describe('codes are used by name (schema/codes.ts)', () => {
  const scanned = Object.fromEntries(Object.keys(SCANNED).map((folder) => [folder, sourceFiles(folder)]));
  const all = Object.values(scanned).flat();

  it('scans every source folder it names', () => {
    for (const [folder, least] of Object.entries(SCANNED)) {
      expect(scanned[folder].length, `${folder} holds too few source files: is the path right?`).toBeGreaterThanOrEqual(least);
    }
    expect(all).toContain('server/src/collab/GridConnection.ts');
    expect(all).toContain('client/src/apollo.ts');
  });

  it('recognises a close-code number, and leaves other numbers alone', () => {
    // Built from the table, so that this file holds no literal of its own.
    const { TryAgainLater, Unauthorized, NormalClosure, BadRequest } = CloseCode;
    expect(closeCodeLiterals(`ws.close(${TryAgainLater}, 'not reading');`)).toEqual([String(TryAgainLater)]);
    expect(closeCodeLiterals(`// closed with ${Unauthorized}.`)).toEqual([String(Unauthorized)]);
    expect(closeCodeLiterals(`expect([${BadRequest}, x]).toContain(code)`)).toEqual([String(BadRequest)]);
    expect(closeCodeLiterals(`if (code !== ${NormalClosure}) reconnect();`)).toEqual([String(NormalClosure)]);
    expect(closeCodeLiterals(`const FILL_PAGE = ${NormalClosure};`)).toEqual([]);
    expect(closeCodeLiterals(`socket.close(CloseCode.Unauthorized, 'x'); // 1_000 and 1${Unauthorized} are not codes`)).toEqual([]);
    expect(closeCodeLiterals(`const id = '00000000-0000-${Unauthorized}0-8000';`)).toEqual([]);
  });

  it('finds no close-code number outside schema/codes.ts', () => {
    const found = offenders(all, closeCodeLiterals);
    expect(found, `write CloseCode.<Name> (schema/codes.ts) instead of the number:\n${found.join('\n')}`).toEqual([]);
  });

  it("finds no error code written as a string in the client's code", () => {
    expect(errorCodeStrings(`e.extensions?.code === '${ErrorCode.UNAUTHENTICATED}'`)).toEqual([ErrorCode.UNAUTHENTICATED]);
    const client = [...scanned['client/src'], ...scanned['client/test']];
    const found = offenders(client, errorCodeStrings);
    expect(found, `write ErrorCode.<NAME> (schema/codes.ts) instead of the string:\n${found.join('\n')}`).toEqual([]);
  });

  it("agrees with graphql-ws's own CloseCode on every name both have", () => {
    const ours: Record<string, number> = CloseCode;
    const shared = Object.entries(GraphqlWsCloseCode).filter(([name, value]) => typeof value === 'number' && name in ours);
    // The graphql-ws codes our server sends or our tests read must all be there.
    expect(shared.map(([name]) => name).sort()).toEqual(
      ['BadRequest', 'ConnectionInitialisationTimeout', 'Forbidden', 'InternalServerError', 'SubprotocolNotAcceptable', 'SubscriberAlreadyExists', 'TooManyInitialisationRequests', 'Unauthorized'],
    );
    for (const [name, value] of shared) expect(ours[name], name).toBe(value);
  });

  it('names each error code by itself, as the contract writes it', () => {
    for (const [name, value] of Object.entries(ErrorCode)) expect(value).toBe(name);
  });
});
