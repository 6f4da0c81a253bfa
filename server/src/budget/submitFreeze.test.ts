/**
 * A submission reviews exactly what was submitted: edits sent just before `submitBudget` (grid or API) are either
 * in the rows the review reads and in the version the submission froze, or refused; none lands after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectGrid, eventually, synced } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';

const LINES = `query($p: ID!, $u: String) { budgetLines(planId: $p, businessUnitCode: $u) { id budgetAmount } }`;
const STEPS = `query($id: ID!) { workflowExecution(id: $id) { steps { key status output } } }`;

describe('edits racing a submission', () => {
  let server: TestServer;
  let planId: string;
  let admin: string;

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login('admin@example.com');
    planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
  });
  afterAll(() => server?.stop());

  const total = async (unit: string) => {
    const res = await server.gql(LINES, { p: planId, u: unit }, admin);
    return res.data.budgetLines.reduce((sum: number, l: any) => sum + (l.budgetAmount ?? 0), 0);
  };
  const frozenTotal = async (unit: string) => {
    const res = await server.gql(`query($p: ID!, $u: String!) { submissionVersions(planId: $p, businessUnitCode: $u) { version total } }`, { p: planId, u: unit }, admin);
    expect(res.data.submissionVersions).toHaveLength(1);
    return res.data.submissionVersions[0].total as number;
  };
  const reviewedTotal = async (executionId: string) =>
    eventually(async () => {
      const res = await server.gql(STEPS, { id: executionId }, admin);
      return res.data.workflowExecution.steps.find((s: any) => s.key === 'validate_budget' && s.status === 'SUCCEEDED')?.output.totalBudgetAmount as number | undefined;
    }, 'validate_budget to finish');

  it('grid edits sent right before submitBudget are in the reviewed total, and nothing lands after it', async () => {
    const leadToken = await server.login('lead.sales-north@example.com');
    const lines = (await server.gql(LINES, { p: planId, u: 'SALES_NORTH' }, admin)).data.budgetLines;
    const grid = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, leadToken);
    try {
      await synced(grid);
      const observer = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, admin);
      await synced(observer);
      // A burst of edits, each its own message, and the submission right behind them, as soon as the server has
      // accepted them (another client sees them), whether or not they are in the rows yet.
      for (let i = 0; i < 60; i++) grid.cells.set(`${lines[i].id}/budgetAmount`, 10_000 + i);
      await eventually(() => observer.cells.get(`${lines[59].id}/budgetAmount`) === 10_059, 'the edits to be accepted');
      observer.destroy();
      let writing = true;
      const writer = (async () => {
        // Edits keep coming while the submission commits and its status spreads: none may land after it.
        for (let n = 0; writing; n++) {
          grid.cells.set(`${lines[60 + (n % 60)].id}/budgetAmount`, 50_000 + n);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      const submitted = await server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_NORTH") { status execution { id } } }`, { p: planId }, leadToken);
      expect(submitted.errors).toBeUndefined();
      const atSubmit = await total('SALES_NORTH');
      // Accepted before the submission, so submitted: in the rows when submitBudget answers.
      const rows = new Map<string, number | null>((await server.gql(LINES, { p: planId, u: 'SALES_NORTH' }, admin)).data.budgetLines.map((l: any) => [l.id, l.budgetAmount]));
      for (let i = 0; i < 60; i++) expect(rows.get(lines[i].id)).toBe(10_000 + i);
      const reviewed = await reviewedTotal(submitted.data.submitBudget.execution.id);
      writing = false;
      await writer;
      // More edits after the submission: refused (the connection is read-only now).
      for (let i = 60; i < 120; i++) grid.cells.set(`${lines[i].id}/budgetAmount`, 99_999);
      expect(reviewed).toBe(atSubmit);
      // The version frozen with the submission holds exactly those values (submissionVersions, submissionChanges).
      expect(await frozenTotal('SALES_NORTH')).toBe(atSubmit);
      // No line of the unit was written after the submission was made.
      const late = await server.sql(
        `SELECT l.id FROM budget_line l JOIN budget_submission s ON s.plan_id = l.plan_id AND s.business_unit_id = l.business_unit_id
          WHERE l.plan_id = $1 AND s.status <> 'DRAFT' AND l.updated_at > s.submitted_at`,
        [planId],
      );
      expect(late).toEqual([]);
      // Give a late edit every chance to land (many projection intervals), then look again.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await total('SALES_NORTH')).toBe(atSubmit);
      const fresh = connectGrid(server.url, `budget:${planId}:SALES_NORTH`, admin);
      await synced(fresh);
      const docTotal = lines.reduce((sum: number, l: any) => sum + ((fresh.cells.get(`${l.id}/budgetAmount`) as number | undefined) ?? 0), 0);
      fresh.destroy();
      expect(docTotal).toBe(atSubmit);
    } finally {
      grid.destroy();
    }
  });

  it('API edits racing submitBudget either land before it (and are reviewed) or are refused', async () => {
    const leadToken = await server.login('lead.marketing@example.com');
    const lines = (await server.gql(LINES, { p: planId, u: 'MARKETING' }, admin)).data.budgetLines;
    const edits = lines.slice(0, 40).map((line: any, i: number) =>
      server.gql(`mutation($id: ID!, $v: Float) { updateBudgetLine(id: $id, input: { budgetAmount: $v }) { id } }`, { id: line.id, v: 20_000 + i }, leadToken),
    );
    const submit = server.gql(`mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "MARKETING") { execution { id } } }`, { p: planId }, leadToken);
    const [results, submitted] = await Promise.all([Promise.all(edits), submit]);
    expect(submitted.errors).toBeUndefined();
    for (const res of results) if (res.errors) expect(res.errors[0].extensions?.code).toBe('FORBIDDEN');
    const reviewed = await reviewedTotal(submitted.data.submitBudget.execution.id);
    expect(reviewed).toBe(await total('MARKETING'));
    expect(await frozenTotal('MARKETING')).toBe(reviewed);
    // Every edit that said it succeeded is in what was reviewed.
    const rows = new Map<string, number | null>((await server.gql(LINES, { p: planId, u: 'MARKETING' }, admin)).data.budgetLines.map((l: any) => [l.id, l.budgetAmount]));
    results.forEach((res, i) => {
      if (!res.errors) expect(rows.get(lines[i].id)).toBe(20_000 + i);
    });
  });
});
