/**
 * Prior-year actuals from a Power BI semantic model (loadPriorYearActuals), end to end: a Plansync child process
 * whose query goes to a local fake of the Power BI REST API ("Execute Queries In Group") with an app-only token
 * from a fake Entra authority. Values land through the one write path (audit entries, versions, budgetLineChanged,
 * the grid document untouched and still refusing the column from clients), duplicates are summed, unmatched keys
 * reported, submitted units skipped, and every failure (invalid values, Power BI 429/5xx/errors, a closed plan,
 * a non-admin, no settings) leaves every line as it was.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { ErrorCode } from '../errors.js';
import { startChildServer, type ChildServer } from '../testing/childServer.js';
import { startFakeEntraAuthority, type FakeEntraAuthority } from '../testing/fakeEntraAuthority.js';
import { POWER_BI_RESOURCE, startFakeMicrosoftApis, type FakeMicrosoftApis } from '../testing/fakeMicrosoftApis.js';
import { connectGrid, eventually, synced, type GridClient } from '../testing/gridClients.js';
import { errorCode, startTestServer } from '../testing/harness.js';
import { PowerBiQueries } from './adapters/powerBiQuery.js';

const GROUP_ID = randomUUID();
const DATASET_ID = randomUUID();
const DAX = "EVALUATE FILTER(Actuals, Actuals[Year] = {fiscalYear} && Actuals[Scenario] = \"Actual\")";

const LOAD = `mutation($p: ID!, $d: Boolean) { loadPriorYearActuals(planId: $p, dryRun: $d) {
  planId fiscalYear dryRun rowsRead linesUpdated unchanged unmatched unmatchedExamples skippedUnits } }`;
const LINES = `query($p: ID!) { budgetLines(planId: $p) { id businessUnit { code } productCategory region quarter priorYearActual budgetAmount version updatedBy { email } } }`;
const AUDIT = `query($l: ID!) { auditLog(lineId: $l, first: 50) { edges { node { column oldValue newValue source user { email } } } } }`;

const entraEnv = {
  ENTRA_TENANT_ID: randomUUID(),
  ENTRA_CLIENT_ID: randomUUID(),
  ENTRA_CLIENT_SECRET: 'secret',
  ENTRA_REDIRECT_URI: 'https://plansync.example/auth/microsoft/callback',
};

/** A row as Power BI returns it for `EVALUATE` over a table: fully qualified column names. */
const row = (unit: string, category: string, region: string, quarter: string, amount: unknown) => ({
  'Actuals[BusinessUnitCode]': unit,
  'Actuals[ProductCategory]': category,
  'Actuals[Region]': region,
  'Actuals[Quarter]': quarter,
  '[Amount]': amount,
});

describe('configuration of prior-year actuals', () => {
  it('is off without its settings; on with the model and the query, the workspace optional', () => {
    expect(loadConfig({}).powerBiActuals).toBeUndefined();
    expect(loadConfig({ ...entraEnv, POWERBI_ACTUALS_DATASET_ID: DATASET_ID, POWERBI_ACTUALS_DAX: DAX }).powerBiActuals).toEqual({
      datasetId: DATASET_ID,
      query: DAX,
      apiUrl: 'https://api.powerbi.com/v1.0/myorg',
    });
    expect(loadConfig({ ...entraEnv, POWERBI_ACTUALS_GROUP_ID: GROUP_ID, POWERBI_ACTUALS_DATASET_ID: DATASET_ID, POWERBI_ACTUALS_DAX: DAX }).powerBiActuals).toMatchObject({
      groupId: GROUP_ID,
    });
  });

  it('refuses to start with incomplete or wrong settings, naming the variable', () => {
    const fails = (env: Record<string, string>, message: RegExp) => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(message);
    };
    fails({ POWERBI_ACTUALS_DATASET_ID: DATASET_ID, POWERBI_ACTUALS_DAX: DAX }, /POWERBI_ACTUALS_DATASET_ID .*ENTRA_CLIENT_SECRET/);
    fails({ ...entraEnv, POWERBI_ACTUALS_DATASET_ID: DATASET_ID }, /POWERBI_ACTUALS_DATASET_ID and POWERBI_ACTUALS_DAX/);
    fails({ ...entraEnv, POWERBI_ACTUALS_DAX: DAX }, /POWERBI_ACTUALS_DATASET_ID and POWERBI_ACTUALS_DAX/);
    fails({ ...entraEnv, POWERBI_ACTUALS_GROUP_ID: GROUP_ID }, /POWERBI_ACTUALS_DATASET_ID and POWERBI_ACTUALS_DAX/);
    fails({ ...entraEnv, POWERBI_ACTUALS_DATASET_ID: 'actuals', POWERBI_ACTUALS_DAX: DAX }, /POWERBI_ACTUALS_DATASET_ID must be/);
    fails({ ...entraEnv, POWERBI_ACTUALS_GROUP_ID: 'finance', POWERBI_ACTUALS_DATASET_ID: DATASET_ID, POWERBI_ACTUALS_DAX: DAX }, /POWERBI_ACTUALS_GROUP_ID must be/);
    fails({ ...entraEnv, POWERBI_ACTUALS_DATASET_ID: DATASET_ID, POWERBI_ACTUALS_DAX: 'x'.repeat(20_001) }, /POWERBI_ACTUALS_DAX must be at most/);
  });

  it('calls "Execute Queries In Group" with a workspace, "Execute Queries" without', () => {
    const tokens = { token: async () => 'unused' };
    const apiUrl = 'https://api.powerbi.com/v1.0/myorg';
    expect(new PowerBiQueries({ apiUrl, groupId: GROUP_ID, datasetId: DATASET_ID }, tokens).url).toBe(`${apiUrl}/groups/${GROUP_ID}/datasets/${DATASET_ID}/executeQueries`);
    expect(new PowerBiQueries({ apiUrl, datasetId: DATASET_ID }, tokens).url).toBe(`${apiUrl}/datasets/${DATASET_ID}/executeQueries`);
  });
});

describe('loadPriorYearActuals against a local fake of Power BI', () => {
  let authority: FakeEntraAuthority;
  let apis: FakeMicrosoftApis;
  let server: ChildServer;
  let admin: string;
  const sockets: { destroy(): void }[] = [];

  const login = async (email: string) => {
    const res = await server.gql('mutation($e: String!) { login(email: $e, password: "plansync-demo") { token } }', { e: email });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data.login.token as string;
  };
  const gql = async (query: string, variables: Record<string, unknown>, token = admin) => {
    const res = await server.gql(query, variables, token);
    if (res.errors) throw new Error(`${query}: ${JSON.stringify(res.errors)}`);
    return res.data;
  };
  let plans = 0;
  /** A plan of its own for each test, laid out like the demo plan (every unit x category x region x quarter). */
  const newPlan = async (fiscalYear = 2031) =>
    (await gql('mutation($i: CreateBudgetPlanInput!) { createBudgetPlan(input: $i) { id } }', { i: { name: `Actuals ${++plans}`, fiscalYear } })).createBudgetPlan
      .id as string;
  const lines = async (planId: string) => (await gql(LINES, { p: planId })).budgetLines as any[];
  const lineOf = (all: any[], unit: string, category: string, region: string, quarter: string) =>
    all.find((l) => l.businessUnit.code === unit && l.productCategory === category && l.region === region && l.quarter === quarter);
  const audit = async (lineId: string) => (await gql(AUDIT, { l: lineId })).auditLog.edges.map((e: any) => e.node);
  /** Every line's priorYearActual and version, to show that a refused load wrote nothing. */
  const state = async (planId: string) => (await lines(planId)).map((l) => `${l.id}:${l.priorYearActual}:${l.version}`).sort();

  beforeAll(async () => {
    authority = await startFakeEntraAuthority({});
    apis = await startFakeMicrosoftApis({
      authority,
      teams: [],
      powerBi: { groupId: randomUUID(), datasetId: randomUUID(), table: 'BudgetLines' },
      queryableModels: [{ groupId: GROUP_ID, datasetId: DATASET_ID }],
    });
    server = await startChildServer({
      ...authority.env('https://plansync.example/auth/microsoft/callback'),
      NODE_EXTRA_CA_CERTS: apis.caFile,
      POWERBI_ACTUALS_GROUP_ID: GROUP_ID,
      POWERBI_ACTUALS_DATASET_ID: DATASET_ID,
      POWERBI_ACTUALS_DAX: DAX,
      POWERBI_API_URL: apis.powerBiUrl,
    });
    admin = await login('admin@example.com');
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await server?.stop();
    await apis?.close();
    await authority?.close();
  });

  it('shows admins what will run, and nothing secret', async () => {
    const { priorYearActualsSource } = await gql('{ priorYearActualsSource { configured datasetId groupId query } }', {});
    expect(priorYearActualsSource).toEqual({ configured: true, datasetId: DATASET_ID, groupId: GROUP_ID, query: DAX });
    expect(JSON.stringify(priorYearActualsSource)).not.toContain(authority.env('https://plansync.example/auth/microsoft/callback').ENTRA_CLIENT_SECRET);
  });

  it('a dry run says what would change and writes nothing; the load then writes it through the one write path', async () => {
    const planId = await newPlan(2031);
    const before = await lines(planId);
    const finance = lineOf(before, 'FINANCE', 'Laptops', 'Europe', 'Q1');
    const north = lineOf(before, 'SALES_NORTH', 'Servers', 'North America', 'Q2');
    apis.queryResult = {
      rows: [
        row('FINANCE', 'Laptops', 'Europe', 'Q1', 100),
        // The same line again (a model at month grain): summed.
        row('FINANCE', 'Laptops', 'Europe', 'Q1', 50.5),
        row('SALES_NORTH', 'Servers', 'North America', 'Q2', 2000),
        row('FINANCE', 'Hardware', 'EMEA', 'Q5', 1),
      ],
    };

    // An open grid of FINANCE (stock y-websocket client) and a budgetLineChanged subscriber.
    const grid: GridClient = connectGrid(server.url, `budget:${planId}:FINANCE`, admin);
    sockets.push(grid);
    await synced(grid);
    const heard: any[] = [];
    const subscriber: Client = createClient({ url: server.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${admin}` }, retryAttempts: 0 });
    sockets.push({ destroy: () => void subscriber.dispose() });
    subscriber.subscribe(
      { query: 'subscription($p: ID!) { budgetLineChanged(planId: $p) { id priorYearActual version } }', variables: { p: planId } },
      { next: (m) => heard.push(m.data?.budgetLineChanged), error: (e) => heard.push(e), complete: () => undefined },
    );
    // Subscriptions have no acknowledgement: an edit of another line until the subscriber hears one.
    const primer = lineOf(before, 'FINANCE', 'Desktops', 'Europe', 'Q1');
    let primes = 0;
    let lastPrimeVersion = -1;
    await eventually(async () => {
      if (heard.length > 0) return true;
      const primed = await gql('mutation($id: ID!, $v: Float) { updateBudgetLine(id: $id, input: { forecastSales: $v }) { version } }', { id: primer.id, v: ++primes });
      lastPrimeVersion = primed.updateBudgetLine.version;
      return false;
    }, 'the subscription to hear a first change');
    // Primes sent before the subscription was live are never heard; events come in order, so the last prime's
    // being heard means every one that will be has been.
    await eventually(() => heard.some((e) => e?.id === primer.id && e.version === lastPrimeVersion), 'the last priming change heard');
    heard.length = 0;

    const dry = (await gql(LOAD, { p: planId, d: true })).loadPriorYearActuals;
    expect(dry).toEqual({
      planId,
      fiscalYear: 2030,
      dryRun: true,
      rowsRead: 4,
      linesUpdated: 2,
      unchanged: 0,
      unmatched: 1,
      unmatchedExamples: ['FINANCE / Hardware / EMEA / Q5: no such line in this plan'],
      skippedUnits: [],
    });
    expect(await audit(finance.id)).toEqual([]);
    expect(lineOf(await lines(planId), 'FINANCE', 'Laptops', 'Europe', 'Q1')).toMatchObject({ priorYearActual: null, version: finance.version });

    const [query] = apis.executedQueries.slice(-1);
    // {fiscalYear}: the plan's year minus 1.
    expect(query).toEqual({ groupId: GROUP_ID, datasetId: DATASET_ID, query: DAX.replace('{fiscalYear}', '2030') });
    const call = apis.requests.filter((r) => r.route === 'executeQueries').at(-1)!;
    expect(call).toMatchObject({ method: 'POST', path: `/groups/${GROUP_ID}/datasets/${DATASET_ID}/executeQueries`, status: 200 });
    expect(call.body).toEqual({ queries: [{ query: query.query }], serializerSettings: { includeNulls: true } });
    expect(call.claims).toMatchObject({ aud: POWER_BI_RESOURCE, appid: authority.clientId, idtyp: 'app' });

    const done = (await gql(LOAD, { p: planId })).loadPriorYearActuals;
    expect(done).toEqual({ ...dry, dryRun: false });
    const after = await lines(planId);
    expect(lineOf(after, 'FINANCE', 'Laptops', 'Europe', 'Q1')).toMatchObject({ priorYearActual: 150.5, version: finance.version + 1, updatedBy: { email: 'admin@example.com' } });
    expect(lineOf(after, 'SALES_NORTH', 'Servers', 'North America', 'Q2')).toMatchObject({ priorYearActual: 2000, version: north.version + 1 });
    // Nothing else changed.
    const others = after.filter((l) => l.id !== finance.id && l.id !== north.id && l.id !== primer.id);
    expect(others.every((l) => l.priorYearActual === null && l.version === before.find((b) => b.id === l.id).version)).toBe(true);
    expect(await audit(finance.id)).toEqual([{ column: 'priorYearActual', oldValue: null, newValue: '150.5', source: 'API', user: { email: 'admin@example.com' } }]);
    expect(await audit(north.id)).toEqual([{ column: 'priorYearActual', oldValue: null, newValue: '2000', source: 'API', user: { email: 'admin@example.com' } }]);

    // Live: budgetLineChanged carries the new values.
    await eventually(() => heard.length >= 2, 'budgetLineChanged for both lines');
    expect(heard).toEqual(
      expect.arrayContaining([
        { id: finance.id, priorYearActual: 150.5, version: finance.version + 1 },
        { id: north.id, priorYearActual: 2000, version: north.version + 1 },
      ]),
    );
    expect(heard).toHaveLength(2);

    // The activity log, so the budget.values_imported webhook.
    const activity = await gql('{ activityLog(first: 5, action: "VALUES_IMPORTED") { edges { node { subject actor { email } details } } } }', {});
    expect(activity.activityLog.edges[0].node).toMatchObject({
      subject: `Actuals ${plans}`,
      actor: { email: 'admin@example.com' },
      details: { planId, source: 'POWER_BI', column: 'priorYearActual', fiscalYear: 2030, cells: 2, unmatched: 1 },
    });

    // The grid document holds the editable columns only (CONTRACT), and a client cannot write the column.
    expect([...grid.cells.keys()].some((k) => k.endsWith('/priorYearActual'))).toBe(false);
    grid.cells.set(`${finance.id}/priorYearActual`, 5);
    await eventually(() => !grid.cells.has(`${finance.id}/priorYearActual`), 'the refused cell reverted');
    // A grid edit of the loaded line still lands, on top of the new version.
    grid.cells.set(`${finance.id}/budgetAmount`, 777);
    await eventually(async () => lineOf(await lines(planId), 'FINANCE', 'Laptops', 'Europe', 'Q1').budgetAmount === 777, 'the grid edit projected');
    expect(lineOf(await lines(planId), 'FINANCE', 'Laptops', 'Europe', 'Q1')).toMatchObject({ priorYearActual: 150.5, version: finance.version + 2 });

    // Loaded again: nothing changes, nothing is audited again.
    const again = (await gql(LOAD, { p: planId })).loadPriorYearActuals;
    expect(again).toMatchObject({ linesUpdated: 0, unchanged: 2, unmatched: 1 });
    expect((await audit(north.id)).length).toBe(1);
  });

  it('matches names without their table or case, and skips units whose budget is submitted', async () => {
    const planId = await newPlan(2032);
    const lead = await login('lead.sales-south@example.com');
    await gql('mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_SOUTH") { status } }', { p: planId }, lead);
    const before = await lines(planId);
    apis.queryResult = {
      rows: [
        { BusinessUnitCode: 'marketing', productcategory: 'storage', '[Region]': 'Asia Pacific', 'T[Quarter]': 'Q3', 'T[Amount]': 42 },
        { BusinessUnitCode: 'SALES_SOUTH', productcategory: 'Storage', '[Region]': 'Asia Pacific', 'T[Quarter]': 'Q3', 'T[Amount]': 43 },
      ],
    };
    const done = (await gql(LOAD, { p: planId })).loadPriorYearActuals;
    expect(done).toMatchObject({ fiscalYear: 2031, linesUpdated: 1, unmatched: 0, skippedUnits: ['SALES_SOUTH'] });
    const after = await lines(planId);
    expect(lineOf(after, 'MARKETING', 'Storage', 'Asia Pacific', 'Q3').priorYearActual).toBe(42);
    const south = lineOf(after, 'SALES_SOUTH', 'Storage', 'Asia Pacific', 'Q3');
    expect(south).toMatchObject({ priorYearActual: null, version: lineOf(before, 'SALES_SOUTH', 'Storage', 'Asia Pacific', 'Q3').version });
    expect(await audit(south.id)).toEqual([]);
  });

  it('refuses invalid values and a result without the columns, writing nothing', async () => {
    const planId = await newPlan(2033);
    const snapshot = await state(planId);
    const refused = async (rows: Record<string, unknown>[], message: RegExp) => {
      apis.queryResult = { rows };
      const res = await server.gql(LOAD, { p: planId }, admin);
      expect(errorCode(res)).toBe(ErrorCode.BAD_USER_INPUT);
      expect(res.errors![0].message).toMatch(message);
      expect(await state(planId)).toEqual(snapshot);
    };
    const good = row('FINANCE', 'Laptops', 'Europe', 'Q1', 10);
    await refused([good, row('FINANCE', 'Laptops', 'Europe', 'Q2', -5)], /nothing was loaded: row 2: Amount must not be negative/);
    await refused([good, row('FINANCE', 'Laptops', 'Europe', 'Q2', null)], /row 2: Amount must be a finite number/);
    await refused([good, row('FINANCE', 'Laptops', 'Europe', 'Q2', '12')], /row 2: Amount must be a finite number/);
    await refused([good, row('FINANCE', 'Laptops', 'Europe', 'Q2', 2e12)], /row 2: Amount must be at most 1000000000000/);
    await refused([good, row('FINANCE', 'Laptops', 'Europe', 'Q2', 6e11), row('FINANCE', 'Laptops', 'Europe', 'Q2', 6e11)], /FINANCE \/ Laptops \/ Europe \/ Q2: the rows add up to/);
    await refused([good, row('', 'Laptops', 'Europe', 'Q2', 1)], /row 2: BusinessUnitCode must be a text/);
    await refused([{ 'Actuals[BusinessUnitCode]': 'FINANCE', '[Amount]': 1 }], /no column ProductCategory, Region, Quarter/);
    // A dry run refuses alike.
    apis.queryResult = { rows: [good, row('FINANCE', 'Laptops', 'Europe', 'Q2', -1)] };
    expect(errorCode(await server.gql(LOAD, { p: planId, d: true }, admin))).toBe(ErrorCode.BAD_USER_INPUT);
  });

  it('reports Power BI failures clearly, retries what may pass, and writes nothing', async () => {
    const planId = await newPlan(2034);
    const snapshot = await state(planId);
    apis.queryResult = { rows: [row('FINANCE', 'Laptops', 'Europe', 'Q1', 10)] };
    const calls = () => apis.requests.filter((r) => r.route === 'executeQueries').length;

    // Throttled past the attempts.
    let start = calls();
    apis.fail('executeQueries', { status: 429, retryAfter: '30' });
    let res = await server.gql(LOAD, { p: planId }, admin);
    expect(errorCode(res)).toBe(ErrorCode.BAD_USER_INPUT);
    expect(res.errors![0].message).toMatch(/nothing was changed: Power BI POST .*\/executeQueries answered 429 TooManyRequests.*Retry-After: 30 s.*Try again later/);
    expect(res.errors![0].extensions).toMatchObject({ retryable: true });
    expect(calls() - start).toBe(3);
    expect(await state(planId)).toEqual(snapshot);

    // A 5xx.
    apis.clearFailures();
    apis.fail('executeQueries', { status: 503 });
    res = await server.gql(LOAD, { p: planId }, admin);
    expect(res.errors![0].message).toMatch(/answered 503/);
    expect(await state(planId)).toEqual(snapshot);

    // An error in the result (a result cut short), and a DAX error (400): not retried.
    apis.clearFailures();
    apis.queryResult = { rows: [row('FINANCE', 'Laptops', 'Europe', 'Q1', 10)], error: { code: 'RowLimitExceeded', message: 'More than 100000 rows in a query result' } };
    start = calls();
    res = await server.gql(LOAD, { p: planId }, admin);
    expect(res.errors![0].message).toMatch(/Power BI could not run the query: RowLimitExceeded: More than 100000 rows/);
    expect(res.errors![0].extensions).toMatchObject({ retryable: false });
    apis.queryResult = { daxError: "Query (1, 24) Cannot find table 'Actuals'." };
    res = await server.gql(LOAD, { p: planId }, admin);
    expect(res.errors![0].message).toMatch(/400 DatasetExecuteQueriesError: Query \(1, 24\) Cannot find table 'Actuals'/);
    expect(calls() - start).toBe(2);
    expect(await state(planId)).toEqual(snapshot);
    // The bearer token never appears in a message.
    for (const r of apis.requests) if (r.token) expect(res.errors![0].message).not.toContain(r.token);

    // One transient failure: tried again, and it loads.
    apis.queryResult = { rows: [row('FINANCE', 'Laptops', 'Europe', 'Q1', 10)] };
    apis.fail('executeQueries', { status: 503, times: 1 });
    expect((await gql(LOAD, { p: planId })).loadPriorYearActuals).toMatchObject({ linesUpdated: 1 });
  });

  it('stays exact while a grid writes the same lines: every load lands whole, every version has its audit entry', async () => {
    const planId = await newPlan(2036);
    const finance = (await lines(planId)).filter((l) => l.businessUnit.code === 'FINANCE');
    const start = new Map(finance.map((l) => [l.id, l.version as number]));
    const grid = connectGrid(server.url, `budget:${planId}:FINANCE`, admin);
    sockets.push(grid);
    await synced(grid);
    const rowsFor = (k: number) => finance.map((l, i) => row('FINANCE', l.productCategory, l.region, l.quarter, k * 1000 + i));

    // Grid edits of every line, in reverse id order (the load locks in id order), while each load runs.
    const byIdDesc = [...finance].sort((a, b) => (a.id < b.id ? 1 : -1));
    let edits = 0;
    const results: any[] = [];
    for (let k = 1; k <= 5; k++) {
      apis.queryResult = { rows: rowsFor(k) };
      const load = server.gql(LOAD, { p: planId }, admin);
      // A bounded burst: a flush waits for the queue to empty, so edits without end would hold the load back.
      for (let burst = 0; burst < 10; burst++) {
        edits += 1;
        grid.doc.transact(() => byIdDesc.forEach((l, i) => grid.cells.set(`${l.id}/budgetAmount`, edits * 1000 + i)));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      results.push(await load);
    }
    for (const res of results) expect(res.errors).toBeUndefined();
    expect(results.map((r) => r.data.loadPriorYearActuals.linesUpdated)).toEqual([120, 120, 120, 120, 120]);

    const lastEdit = (id: string) => edits * 1000 + byIdDesc.findIndex((b) => b.id === id);
    await eventually(async () => (await lines(planId)).filter((l) => l.businessUnit.code === 'FINANCE').every((l) => l.budgetAmount === lastEdit(l.id)), 'the last grid edits projected');
    const after = (await lines(planId)).filter((l) => l.businessUnit.code === 'FINANCE');
    const audits = new Map(
      (await server.sql<{ line_id: string; n: string }>('SELECT line_id, count(*) AS n FROM cell_change WHERE line_id = ANY($1::uuid[]) GROUP BY line_id', [finance.map((l) => l.id)])).map((r) => [r.line_id, Number(r.n)]),
    );
    for (const line of after) {
      expect(line.priorYearActual).toBe(5000 + finance.findIndex((l) => l.id === line.id));
      expect(line.version - start.get(line.id)!, line.id).toBe(audits.get(line.id));
    }
    const priorEntries = await server.sql<{ n: string }>("SELECT count(*) AS n FROM cell_change WHERE line_id = ANY($1::uuid[]) AND column_name = 'priorYearActual'", [finance.map((l) => l.id)]);
    expect(Number(priorEntries[0].n)).toBe(5 * 120);
  });

  it('is refused on a closed plan, and to every role but admins', async () => {
    const planId = await newPlan(2035);
    apis.queryResult = { rows: [row('FINANCE', 'Laptops', 'Europe', 'Q1', 10)] };
    const snapshot = await state(planId);
    for (const email of ['analyst@example.com', 'lead.finance@example.com', 'planner.finance@example.com', 'viewer.finance@example.com', 'partner.admin@acme.example']) {
      const token = await login(email);
      for (const dryRun of [false, true]) expect(errorCode(await server.gql(LOAD, { p: planId, d: dryRun }, token)), email).toBe(ErrorCode.FORBIDDEN);
      expect(errorCode(await server.gql('{ priorYearActualsSource { configured } }', {}, token)), email).toBe(ErrorCode.FORBIDDEN);
    }
    expect(errorCode(await server.gql(LOAD, { p: planId }, null))).toBe(ErrorCode.UNAUTHENTICATED);
    await gql('mutation($p: ID!) { setBudgetPlanStatus(planId: $p, status: CLOSED) { id } }', { p: planId });
    const closed = await server.gql(LOAD, { p: planId }, admin);
    expect(errorCode(closed)).toBe(ErrorCode.FORBIDDEN);
    expect(closed.errors![0].message).toMatch(/closed/);
    expect(await state(planId)).toEqual(snapshot);
    expect(errorCode(await server.gql(LOAD, { p: randomUUID() }, admin))).toBe(ErrorCode.NOT_FOUND);
  });
});

describe('loadPriorYearActuals without the settings', () => {
  it('answers BAD_USER_INPUT saying what to set, and the source says not configured', async () => {
    const server = await startTestServer();
    try {
      const admin = await server.login('admin@example.com');
      const planId = (await server.gql('{ budgetPlans { id } }', {}, admin)).data.budgetPlans[0].id;
      const res = await server.gql(LOAD, { p: planId }, admin);
      expect(errorCode(res)).toBe(ErrorCode.BAD_USER_INPUT);
      expect(res.errors![0].message).toMatch(/POWERBI_ACTUALS_DATASET_ID and POWERBI_ACTUALS_DAX/);
      expect((await server.gql('{ priorYearActualsSource { configured datasetId query } }', {}, admin)).data.priorYearActualsSource).toEqual({
        configured: false,
        datasetId: null,
        query: null,
      });
    } finally {
      await server.stop();
    }
  });
});
