import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode, startTestServer, type TestServer } from '../testing/harness.js';

const LINES = `query($plan: ID!, $unit: String) {
  budgetLines(planId: $plan, businessUnitCode: $unit) {
    id businessUnit { code } productCategory region quarter priorYearActual budgetAmount forecastSales comment version
    updatedAt updatedBy { email }
  }
}`;
const UPDATE = `mutation($id: ID!, $input: BudgetLineInput!, $v: Int) {
  updateBudgetLine(id: $id, input: $input, expectedVersion: $v) { id budgetAmount forecastSales comment version updatedBy { email } }
}`;

describe('budget lines over GraphQL', () => {
  let server: TestServer;
  let lead: string;
  let planId: string;

  beforeAll(async () => {
    server = await startTestServer();
    lead = await server.login('lead.sales-north@example.com');
    planId = (await server.gql('{ budgetPlans { id name fiscalYear } }', {}, lead)).data.budgetPlans[0].id;
  });
  afterAll(() => server?.stop());

  it('seeds the demo data of the contract', async () => {
    const admin = await server.login('admin@example.com');
    const plans = await server.gql('{ budgetPlans { name fiscalYear } }', {}, admin);
    expect(plans.data.budgetPlans).toEqual([{ name: 'FY2027 Budget', fiscalYear: 2027 }]);
    const units = await server.gql('{ businessUnits { code name } }', {}, admin);
    expect(units.data.businessUnits.map((u: { code: string }) => u.code).sort()).toEqual(
      ['FINANCE', 'MARKETING', 'OPERATIONS', 'SALES_NORTH', 'SALES_SOUTH'],
    );
    const all = await server.gql(LINES, { plan: planId }, admin);
    expect(all.data.budgetLines).toHaveLength(600);
    const north = all.data.budgetLines.filter((l: any) => l.businessUnit.code === 'SALES_NORTH');
    expect(north).toHaveLength(120);
    expect(new Set(north.map((l: any) => l.productCategory))).toEqual(
      new Set(['Laptops', 'Desktops', 'Servers', 'Storage', 'Networking', 'Software']),
    );
    expect(new Set(north.map((l: any) => l.region))).toEqual(
      new Set(['North America', 'Europe', 'Asia Pacific', 'Latin America', 'Middle East & Africa']),
    );
    expect(new Set(north.map((l: any) => l.quarter))).toEqual(new Set(['Q1', 'Q2', 'Q3', 'Q4']));
    for (const line of all.data.budgetLines) {
      expect(line.priorYearActual).toBeGreaterThan(0);
      expect(line.budgetAmount).toBeNull();
      expect(line.forecastSales).toBeNull();
      expect(line.comment).toBe('');
    }
    const org = await server.gql('{ me { organization { name } } }', {}, await server.login('partner.admin@acme.example'));
    expect(org.data.me.organization.name).toBe('Acme Partners');
  });

  it('writes a line, bumps its version and records one audit entry per changed column', async () => {
    const lines = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, lead)).data.budgetLines;
    const line = lines[3];
    const res = await server.gql(UPDATE, { id: line.id, input: { budgetAmount: 1500.5, comment: 'Q plan' } }, lead);
    expect(res.errors).toBeUndefined();
    expect(res.data.updateBudgetLine).toMatchObject({
      budgetAmount: 1500.5,
      forecastSales: null,
      comment: 'Q plan',
      version: line.version + 1,
      updatedBy: { email: 'lead.sales-north@example.com' },
    });
    const audit = await server.gql(
      `query($line: ID) { auditLog(lineId: $line) { edges { node { column oldValue newValue source user { email } line { id } } } } }`,
      { line: line.id },
      lead,
    );
    const entries = audit.data.auditLog.edges.map((e: any) => e.node);
    expect(entries).toHaveLength(2);
    expect(entries).toEqual(
      expect.arrayContaining([
        { column: 'budgetAmount', oldValue: null, newValue: '1500.5', source: 'API', user: { email: 'lead.sales-north@example.com' }, line: { id: line.id } },
        { column: 'comment', oldValue: '', newValue: 'Q plan', source: 'API', user: { email: 'lead.sales-north@example.com' }, line: { id: line.id } },
      ]),
    );

    // Writing the same values again changes nothing: no version bump, no audit entry.
    const again = await server.gql(UPDATE, { id: line.id, input: { budgetAmount: 1500.5 } }, lead);
    expect(again.data.updateBudgetLine.version).toBe(line.version + 1);
    const count = await server.sql('SELECT count(*)::int AS n FROM cell_change WHERE line_id = $1', [line.id]);
    expect(count[0].n).toBe(2);
  });

  it('answers CONFLICT for a stale expectedVersion and changes nothing', async () => {
    const line = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, lead)).data.budgetLines[7];
    const ok = await server.gql(UPDATE, { id: line.id, input: { forecastSales: 10 }, v: line.version }, lead);
    expect(ok.data.updateBudgetLine.version).toBe(line.version + 1);
    const stale = await server.gql(UPDATE, { id: line.id, input: { forecastSales: 20 }, v: line.version }, lead);
    expect(errorCode(stale)).toBe('CONFLICT');
    const [row] = await server.sql('SELECT forecast_sales, version FROM budget_line WHERE id = $1', [line.id]);
    expect(row).toEqual({ forecast_sales: 10, version: line.version + 1 });
  });

  it('rejects out-of-range values with BAD_USER_INPUT and changes nothing', async () => {
    const line = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, lead)).data.budgetLines[9];
    const bad = [
      { budgetAmount: -1 },
      { budgetAmount: 1e12 + 1 },
      { forecastSales: -0.01 },
      { comment: 'x'.repeat(2001) },
      { budgetAmount: 5, comment: 'y'.repeat(2001) },
      // PostgreSQL cannot store these: refused here, they once wedged the unit's whole projection.
      { comment: 'nul \u0000 here' },
      { comment: 'half a pair \ud83d' },
      { comment: 'bell \u0007' },
      { comment: '\u001b[31mred' },
      { comment: 'next line \u0085' },
      { comment: 'delete \u007f' },
      // Not characters in XML 1.0: an xlsx export holding one was a workbook Excel repairs and our own import
      // refused ("disallowed character"), for everyone exporting the unit.
      { comment: 'non \ufffe character' },
      { comment: '\uffff' },
    ];
    for (const input of bad) {
      const res = await server.gql(UPDATE, { id: line.id, input }, lead);
      expect(errorCode(res), JSON.stringify(input).slice(0, 60)).toBe('BAD_USER_INPUT');
    }
    // Not a number at all: GraphQL's own coercion, still BAD_USER_INPUT.
    expect(errorCode(await server.gql(UPDATE, { id: line.id, input: { budgetAmount: 'lots' } }, lead))).toBe('BAD_USER_INPUT');
    const [row] = await server.sql('SELECT budget_amount, forecast_sales, comment, version FROM budget_line WHERE id = $1', [line.id]);
    expect(row).toEqual({ budget_amount: null, forecast_sales: null, comment: '', version: 1 });
    expect((await server.sql('SELECT count(*)::int AS n FROM cell_change WHERE line_id = $1', [line.id]))[0].n).toBe(0);
  });

  it('accepts the edges of the range: 0, 1e12 and a 2000-character comment', async () => {
    const line = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, lead)).data.budgetLines[11];
    const res = await server.gql(UPDATE, { id: line.id, input: { budgetAmount: 0, forecastSales: 1e12, comment: 'z'.repeat(2000) } }, lead);
    expect(res.errors).toBeUndefined();
    expect(res.data.updateBudgetLine).toMatchObject({ budgetAmount: 0, forecastSales: 1e12 });
  });

  it('keeps the tabs and line breaks Excel pastes, and characters beyond the BMP, in a comment', async () => {
    const line = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, lead)).data.budgetLines[12];
    const comment = 'Q1\tQ2\r\nsecond line\nthird 👍 ünïcödé';
    const res = await server.gql(UPDATE, { id: line.id, input: { comment } }, lead);
    expect(res.errors).toBeUndefined();
    expect(res.data.updateBudgetLine.comment).toBe(comment);
  });

  it('freezes a submitted unit: FORBIDDEN for everyone, CONFLICT on a second submit', async () => {
    const planner = await server.login('planner.sales-south@example.com');
    const line = (await server.gql(LINES, { plan: planId, unit: 'SALES_SOUTH' }, planner)).data.budgetLines[0];
    const submit = await server.gql(
      `mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_SOUTH") { businessUnit { code } status submittedAt submittedBy { email } canEdit } }`,
      { p: planId },
      planner,
    );
    expect(submit.data.submitBudget).toMatchObject({
      businessUnit: { code: 'SALES_SOUTH' },
      status: 'SUBMITTED',
      submittedBy: { email: 'planner.sales-south@example.com' },
      canEdit: false,
    });
    const edit = await server.gql(UPDATE, { id: line.id, input: { budgetAmount: 1 } }, planner);
    expect(errorCode(edit)).toBe('FORBIDDEN');
    const adminEdit = await server.gql(UPDATE, { id: line.id, input: { budgetAmount: 1 } }, await server.login('admin@example.com'));
    expect(errorCode(adminEdit)).toBe('FORBIDDEN');
    const twice = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_SOUTH") { status } }`, { p: planId }, planner);
    expect(errorCode(twice)).toBe('CONFLICT');
  });

  it('pages the audit log with cursors, newest first', async () => {
    const line = (await server.gql(LINES, { plan: planId, unit: 'SALES_NORTH' }, lead)).data.budgetLines[20];
    for (let i = 1; i <= 5; i++) await server.gql(UPDATE, { id: line.id, input: { budgetAmount: i } }, lead);
    const q = `query($after: String, $line: ID) { auditLog(first: 2, after: $after, lineId: $line) { edges { cursor node { newValue } } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await server.gql(q, { after, line: line.id }, lead)).data.auditLog;
      seen.push(...page.edges.map((e: any) => e.node.newValue));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['5', '4', '3', '2', '1']);
    expect(errorCode(await server.gql(q, { after: 'garbage', line: line.id }, lead))).toBe('BAD_USER_INPUT');
  });
});
