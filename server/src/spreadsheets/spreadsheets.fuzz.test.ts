/**
 * The CSV import, fuzzed against a real server and PostgreSQL: bodies built from the export's header (whole,
 * shuffled, cut, misspelt) and rows naming real lines, other units' lines, missing and malformed ids, with
 * values valid and not (negative, huge, non-finite, text, formulas, quotes, line breaks, control characters,
 * non-ASCII), quoted or not, with either delimiter, then mutated byte-wise (cut, spliced, quotes, CR/LF, BOMs,
 * NULs, bytes that are not UTF-8), imported for real by a leader of one unit.
 *
 * Every answer is 200 or 400, never a 500 or a dropped connection. A 400 (BAD_USER_INPUT) wrote nothing; a 200
 * wrote exactly its `applied` cells (one audit entry each, source IMPORT) and listed refusals by row and
 * contract column. After the runs the server still answers. `npm run fuzz` runs it FUZZ_SCALE times longer;
 * FUZZ_SEED replays a failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { fuzzParams } from '../testing/fuzzBudget.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { HEADERS } from './sheetColumns.js';

describe('CSV import fuzz', () => {
  let server: TestServer;
  let planId: string;
  let lead: string;
  let northIds: string[];
  let southIds: string[];

  beforeAll(async () => {
    // Shrinking a failure sends hundreds of requests a minute: the request limit is not what is tested here.
    server = await startTestServer({ RATE_LIMIT_PER_MINUTE: '1000000000' });
    lead = await server.login('lead.sales-north@example.com');
    [{ id: planId }] = await server.sql(`SELECT id FROM budget_plan`);
    const ids = async (code: string) =>
      (
        await server.sql<{ id: string }>(
          `SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = $1 ORDER BY l.position LIMIT 8`,
          [code],
        )
      ).map((r) => r.id);
    northIds = await ids('SALES_NORTH');
    southIds = await ids('SALES_SOUTH');
  }, 60_000);
  afterAll(() => server?.stop());

  const state = async () =>
    (
      await server.sql(
        `SELECT (SELECT count(*)::int FROM cell_change) AS audits, (SELECT coalesce(max(id), 0)::text FROM cell_change) AS last_audit,
                (SELECT md5(string_agg(id::text || '|' || coalesce(budget_amount::text, '') || '|' || coalesce(forecast_sales::text, '') || '|' || comment || '|' || version, ',' ORDER BY id)) FROM budget_line) AS lines`,
      )
    )[0] as { audits: number; last_audit: string; lines: string };

  it('answers 200 or 400 and writes exactly what it says', async () => {
    const lineId = fc.oneof(
      fc.constantFrom(...northIds),
      fc.constantFrom(...southIds),
      fc.uuid(),
      fc.constantFrom('', 'not-an-id', '  ', northIds[0].toUpperCase(), ` ${northIds[1]} `),
    );
    const amount = fc.oneof(
      fc.double({ min: 0, max: 1e12, noNaN: true }).map(String),
      fc.integer({ min: -1000, max: 1_000_000 }).map(String),
      fc.constantFrom('', '-0', '1e13', 'NaN', 'Infinity', '-Infinity', '1,5', '1.234,5', '$12', '=1+1', '0x10', ' 7 ', '1e-400', '9'.repeat(400)),
      fc.string({ maxLength: 12 }),
    );
    const comment = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom('=SUM(A1)', "'=x", '+1', '@x', '\tlead', 'a "quoted" word', 'two\nlines', 'cr\rhere', 'bell\u0007', 'x'.repeat(2001), '\u0000', '\uD800'),
    );
    const row = fc.tuple(lineId, fc.constantFrom('SALES_NORTH', 'SALES_SOUTH', 'sales_north', '', 'SALES\u0000NORTH'), fc.constantFrom('Laptops', 'Servers', 'Nope'), fc.constantFrom('Europe', 'North America', ''), fc.constantFrom('Q1', 'q2', 'Q9'), amount, amount, comment);
    const header: fc.Arbitrary<string[]> = fc.oneof(
      fc.constant([...HEADERS] as string[]),
      fc.shuffledSubarray([...HEADERS] as string[], { minLength: 1 }),
      fc.array(fc.oneof(fc.constantFrom(...HEADERS), fc.string({ maxLength: 10 })), { maxLength: 14 }),
      fc.constant(['LINE ID', ' budget amount ', 'comment'] as string[]),
    );
    const quoting = fc.constantFrom('minimal', 'all', 'none');
    const delimiter = fc.constantFrom(',', ';', '\t');
    const mutation = fc.oneof(
      fc.constant(null),
      fc.tuple(fc.nat(), fc.constantFrom('"', '\r', '\n', '\r\n', '\uFEFF', '\u0000', ';', ',', '""', '\\', 'é')).map(([at, text]) => ({ at, text, cut: 0 })),
      fc.tuple(fc.nat(), fc.integer({ min: 1, max: 50 })).map(([at, cut]) => ({ at, text: '', cut })),
    );
    const encoding = fc.constantFrom('utf8', 'bom', 'latin1', 'garbage');

    const bodies = fc.record({ header, rows: fc.array(row, { maxLength: 12 }), quoting, delimiter, mutation, encoding });

    await fc.assert(
      fc.asyncProperty(bodies, async ({ header, rows, quoting, delimiter, mutation, encoding }) => {
        const field = (value: string) => {
          if (quoting === 'none') return value;
          if (quoting === 'all' || /["\r\n,;\t]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
          return value;
        };
        const values = (r: (typeof rows)[number]): Record<string, string> => ({
          'Line id': r[0],
          'Business unit': r[1],
          'Product category': r[2],
          Region: r[3],
          Quarter: r[4],
          'Budget amount': r[5],
          'Forecast sales': r[6],
          Comment: r[7],
        });
        // Own keys only: a header the fuzzer makes up may be `valueOf` or `__proto__`, which every object has.
        const cellFor = (r: (typeof rows)[number], h: string) => {
          const all = values(r);
          return Object.hasOwn(all, h) ? all[h] : '';
        };
        const lines = [header.map(field).join(delimiter), ...rows.map((r) => header.map((h) => field(cellFor(r, h))).join(delimiter))];
        let text = lines.join('\r\n') + '\r\n';
        if (mutation) {
          const at = mutation.at % (text.length + 1);
          text = text.slice(0, at) + mutation.text + text.slice(at + mutation.cut);
        }
        let body = Buffer.from(text, encoding === 'latin1' ? 'latin1' : 'utf8');
        if (encoding === 'bom') body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
        if (encoding === 'garbage') body = Buffer.concat([body, Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80])]);

        const before = await state();
        const res = await fetch(`${server.url}/import/budget-lines?planId=${planId}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${lead}`, 'content-type': 'text/csv' },
          body: new Uint8Array(body),
        });
        const answer = (await res.json()) as any;
        const after = await state();
        expect([200, 400], JSON.stringify(answer)).toContain(res.status);
        if (res.status === 400) {
          expect(answer.error.code).toBe(ErrorCode.BAD_USER_INPUT);
          expect(after).toEqual(before);
          return;
        }
        expect(Object.keys(answer).sort()).toEqual(['applied', 'changes', 'rejected', 'unchanged']);
        expect(Number.isInteger(answer.applied) && answer.applied >= 0).toBe(true);
        // The cells it lists for an undo are exactly the applied ones, each of a line of the leader's unit.
        expect(answer.changes).toHaveLength(answer.applied);
        expect(Number.isInteger(answer.unchanged) && answer.unchanged >= 0).toBe(true);
        // Exactly the applied cells were written, each with its audit entry.
        expect(after.audits - before.audits).toBe(answer.applied);
        if (answer.applied === 0) expect(after.lines).toBe(before.lines);
        for (const r of answer.rejected) {
          expect(Number.isInteger(r.row) && r.row >= 2).toBe(true);
          expect(HEADERS).toContain(r.column);
          expect(typeof r.reason).toBe('string');
        }
        // A leader of SALES_NORTH never changes another unit's line.
        if (answer.applied > 0) {
          const [{ n }] = await server.sql(
            `SELECT count(*)::int AS n FROM cell_change c JOIN business_unit u ON u.id = c.business_unit_id WHERE c.id > $1 AND u.code <> 'SALES_NORTH'`,
            [before.last_audit],
          );
          expect(n).toBe(0);
        }
      }),
      fuzzParams(40),
    );
    const still = await fetch(`${server.url}/export/budget-lines.csv?planId=${planId}&businessUnitCode=SALES_NORTH`, { headers: { authorization: `Bearer ${lead}` } });
    expect(still.status).toBe(200);
  }, 600_000);
});
