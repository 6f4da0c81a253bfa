/**
 * The OData feed against a real server and database: the service document and $metadata (parsed as XML by a
 * real browser's DOMParser), every entity set, every query option, refusals (400 with an OData error, 401 with
 * the challenges Power Query needs), row-level security for every role, paging that sends every row exactly
 * once (small pages while rows change, and the default 5,000), filters that PostgreSQL evaluates (the statement
 * the feed ran, replayed under EXPLAIN ANALYZE: the scan itself returns only matching rows), and a real OData
 * client library (@odata/client) reading a filtered set.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { EdmV4, OData } from '@odata/client';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors.js';
import { startFakeEntraAuthority } from '../testing/fakeEntraAuthority.js';
import { eventually } from '../testing/gridClients.js';
import { startTestServer, type TestServer } from '../testing/harness.js';
import { unitGridLayout } from '../budget/planLayout.js';
import { statementObservers } from './feed.js';

type Row = Record<string, any>;
interface Page {
  status: number;
  body: any;
  headers: Headers;
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function basic(token: string, user = 'anyone'): string {
  return `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
}

async function get(url: string, authorization?: string): Promise<Page> {
  const res = await fetch(url, { headers: authorization ? { authorization } : {} });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // XML ($metadata) stays text
  }
  return { status: res.status, body, headers: res.headers };
}

/** Every row of a set for a query, following @odata.nextLink; the pages' sizes too. */
async function readAll(server: TestServer, path: string, authorization: string, between?: (page: number) => Promise<void>) {
  const rows: Row[] = [];
  const sizes: number[] = [];
  let url: string | undefined = `${server.url}/odata/${path}`;
  while (url) {
    const page = await get(url, authorization);
    expect(page.status, JSON.stringify(page.body)).toBe(200);
    rows.push(...page.body.value);
    sizes.push(page.body.value.length);
    url = page.body['@odata.nextLink'];
    if (url) expect(url.startsWith(`${server.url}/odata/`)).toBe(true);
    if (url && between) await between(sizes.length);
  }
  return { rows, sizes };
}

function expectODataError(page: Page, status: number, code: string) {
  expect(page.status, JSON.stringify(page.body)).toBe(status);
  expect(page.body.error.code).toBe(code);
  expect(typeof page.body.error.message).toBe('string');
  expect(page.body.error.message.length).toBeGreaterThan(0);
}

const setLine = `mutation($id: ID!, $input: BudgetLineInput!) { updateBudgetLine(id: $id, input: $input) { id version } }`;

describe('OData feed', () => {
  let server: TestServer;
  const tokens: Record<string, string> = {};
  let northId: string;
  let planId: string;
  const feed = (path: string) => `${server.url}/odata/${path}`;
  const as = (who: string) => `Bearer ${tokens[who]}`;

  beforeAll(async () => {
    server = await startTestServer();
    for (const [who, email] of Object.entries({
      admin: 'admin@example.com',
      analyst: 'analyst@example.com',
      lead: 'lead.sales-north@example.com',
      viewer: 'viewer.sales-north@example.com',
      partner: 'partner.admin@acme.example',
    })) {
      tokens[who] = await server.login(email);
    }
    [{ id: northId }] = await server.sql(`SELECT id FROM business_unit WHERE code = 'SALES_NORTH'`);
    [{ id: planId }] = await server.sql(`SELECT id FROM budget_plan`);
    // Two audited changes: one in the lead's unit, one outside it.
    const [north] = await server.sql(`SELECT l.id FROM budget_line l WHERE l.business_unit_id = $1 ORDER BY l.position LIMIT 1`, [northId]);
    const [south] = await server.sql(`SELECT l.id FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE u.code = 'SALES_SOUTH' ORDER BY l.position LIMIT 1`);
    expect((await server.gql(setLine, { id: north.id, input: { budgetAmount: 1234, comment: "it's north" } }, tokens.admin)).errors).toBeUndefined();
    expect((await server.gql(setLine, { id: south.id, input: { budgetAmount: 999 } }, tokens.admin)).errors).toBeUndefined();
  }, 60_000);
  afterAll(() => server?.stop());

  it('writes stored text that the rules now refuse as the exports do, U+FFFD, in valid JSON', async () => {
    // Stored before comments refused U+FFFE, U+FFFF and C0 controls: the feed gave them as they were, so the same
    // comment read differently in Excel through the feed and in the xlsx export.
    const [line] = await server.sql(`SELECT id, comment FROM budget_line WHERE business_unit_id = $1 ORDER BY position OFFSET 5 LIMIT 1`, [northId]);
    await server.sql(`UPDATE budget_line SET comment = $2 WHERE id = $1`, [line.id, 'a\uFFFE b\uFFFF c\u0007 d\u001F']);
    try {
      const page = await get(feed(`BudgetLines?$select=Id,Comment&$filter=Id eq ${line.id}`), as('lead'));
      expect(page.status).toBe(200);
      expect(page.body.value).toEqual([{ Id: line.id, Comment: 'a\uFFFD b\uFFFD c\uFFFD d\uFFFD' }]);
      // contains() still looks at the stored text.
      expect((await get(feed(`BudgetLines?$select=Id&$filter=contains(Comment,'a\uFFFE b')`), as('lead'))).body.value).toEqual([{ Id: line.id }]);
    } finally {
      await server.sql(`UPDATE budget_line SET comment = $2 WHERE id = $1`, [line.id, line.comment]);
    }
  });

  it('refuses a request without valid credentials: 401, an OData error, a Basic and a Bearer challenge', async () => {
    for (const path of ['', '$metadata', 'BudgetLines', 'BudgetLines?$filter=Quarter eq \'Q1\'']) {
      for (const authorization of [undefined, 'Bearer not-a-token', basic('not-a-token'), basic(''), 'Basic !!!', 'Digest x']) {
        const page = await get(feed(path), authorization);
        expectODataError(page, 401, ErrorCode.UNAUTHENTICATED);
        const challenge = page.headers.get('www-authenticate') ?? '';
        expect(challenge).toContain('Basic realm="Plansync"');
        expect(challenge).toMatch(/(^|, )Bearer realm="Plansync"/);
        // Without Entra ID, the Bearer challenge names no authority.
        expect(challenge).not.toContain('authorization_uri');
      }
    }
  });

  it('accepts the token as a Bearer token and as the Basic password with any user name', async () => {
    for (const authorization of [as('admin'), basic(tokens.admin), basic(tokens.admin, ''), basic(tokens.admin, 'excel@contoso.com')]) {
      const page = await get(feed('BusinessUnits'), authorization);
      expect(page.status).toBe(200);
      expect(page.body.value).toHaveLength(5);
    }
    // A signed-out token is refused, Basic or Bearer.
    const ended = await server.login('analyst@example.com');
    expect((await server.gql('mutation { signOut }', {}, ended)).errors).toBeUndefined();
    expect((await get(feed('BusinessUnits'), basic(ended))).status).toBe(401);
    expect((await get(feed('BusinessUnits'), `Bearer ${ended}`)).status).toBe(401);
  });

  it("accepts a pst_ access token through Basic, as Excel sends it, within its owner's rights, and not once revoked", async () => {
    const created = await server.gql(
      `mutation { createAccessToken(name: "Excel", scopes: [READ]) { token accessToken { id } } }`,
      {},
      tokens.lead,
    );
    expect(created.errors).toBeUndefined();
    const { token, accessToken } = created.data.createAccessToken;
    expect(token.startsWith('pst_')).toBe(true);
    const lines = await readAll(server, `BudgetLines?$select=BusinessUnitCode`, basic(token, 'finance.analyst'));
    expect(lines.rows).toHaveLength(120);
    expect(new Set(lines.rows.map((l) => l.BusinessUnitCode))).toEqual(new Set(['SALES_NORTH']));
    expect((await get(feed('BusinessUnits'), `Bearer ${token}`)).body.value).toEqual([{ Code: 'SALES_NORTH', Name: 'Sales North' }]);
    expect((await server.gql(`mutation($id: ID!) { revokeAccessToken(id: $id) }`, { id: accessToken.id }, tokens.lead)).errors).toBeUndefined();
    const refused = await get(feed('BudgetLines'), basic(token, 'finance.analyst'));
    expectODataError(refused, 401, ErrorCode.UNAUTHENTICATED);
  });

  it('serves the service document and a CSDL $metadata that parses as XML and names every set and property', async () => {
    const service = await get(feed(''), as('analyst'));
    expect(service.status).toBe(200);
    expect(service.headers.get('odata-version')).toBe('4.0');
    expect(service.headers.get('cache-control')).toBe('no-store');
    expect(service.body['@odata.context']).toBe(`${server.url}/odata/$metadata`);
    expect(service.body.value.map((s: Row) => s.name)).toEqual(['BudgetPlans', 'BusinessUnits', 'BudgetLines', 'BudgetSubmissions', 'CellChanges']);
    expect(service.body.value.every((s: Row) => s.kind === 'EntitySet' && s.url === s.name)).toBe(true);

    const metadata = await get(feed('$metadata'), basic(tokens.viewer));
    expect(metadata.status).toBe(200);
    expect(metadata.headers.get('content-type')).toMatch(/^application\/xml/);
    if (!fs.existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM} to parse $metadata with`);
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const parsed = await page.evaluate((xml: string) => {
        const doc = new DOMParser().parseFromString(xml, 'application/xml');
        if (doc.getElementsByTagName('parsererror').length) return { error: doc.documentElement.textContent };
        const EDM = 'http://docs.oasis-open.org/odata/ns/edm';
        const types: Record<string, { key: string[]; properties: [string, string, string][] }> = {};
        for (const t of Array.from(doc.getElementsByTagNameNS(EDM, 'EntityType'))) {
          types[t.getAttribute('Name')!] = {
            key: Array.from(t.getElementsByTagNameNS(EDM, 'PropertyRef')).map((r) => r.getAttribute('Name')!),
            properties: Array.from(t.getElementsByTagNameNS(EDM, 'Property')).map((p) => [p.getAttribute('Name')!, p.getAttribute('Type')!, p.getAttribute('Nullable')!]),
          };
        }
        const sets = Array.from(doc.getElementsByTagNameNS(EDM, 'EntitySet')).map((s) => [s.getAttribute('Name'), s.getAttribute('EntityType')]);
        return { root: doc.documentElement.localName, version: doc.documentElement.getAttribute('Version'), types, sets };
      }, metadata.body as string);
      expect(parsed.error).toBeUndefined();
      expect(parsed.root).toBe('Edmx');
      expect(parsed.version).toBe('4.0');
      expect(parsed.sets).toEqual([
        ['BudgetPlans', 'Plansync.BudgetPlan'],
        ['BusinessUnits', 'Plansync.BusinessUnit'],
        ['BudgetLines', 'Plansync.BudgetLine'],
        ['BudgetSubmissions', 'Plansync.BudgetSubmission'],
        ['CellChanges', 'Plansync.CellChange'],
      ]);
      const names = (type: string) => parsed.types![type].properties.map((p) => p[0]);
      expect(names('BudgetPlan')).toEqual(['Id', 'Name', 'FiscalYear', 'Status']);
      expect(names('BusinessUnit')).toEqual(['Code', 'Name']);
      expect(names('BudgetLine')).toEqual(['Id', 'PlanId', 'PlanName', 'FiscalYear', 'BusinessUnitCode', 'BusinessUnitName', 'ProductCategory', 'Region', 'Quarter', 'PriorYearActual', 'BudgetAmount', 'ForecastSales', 'Comment', 'Version', 'UpdatedAt', 'UpdatedBy']);
      expect(names('BudgetSubmission')).toEqual(['PlanId', 'BusinessUnitCode', 'Status', 'Version', 'SubmittedAt', 'SubmittedBy', 'ReviewedAt', 'ReviewComment']);
      expect(names('CellChange')).toEqual(['Id', 'LineId', 'PlanId', 'BusinessUnitCode', 'Column', 'OldValue', 'NewValue', 'UserEmail', 'Source', 'At']);
      expect(parsed.types!.BudgetSubmission.key).toEqual(['PlanId', 'BusinessUnitCode']);
      expect(parsed.types!.BudgetLine.properties.find((p) => p[0] === 'UpdatedAt')).toEqual(['UpdatedAt', 'Edm.DateTimeOffset', 'false']);
      expect(parsed.types!.BudgetLine.properties.find((p) => p[0] === 'BudgetAmount')).toEqual(['BudgetAmount', 'Edm.Double', 'true']);
    } finally {
      await browser.close();
    }
  });

  it('reads every entity set, with the values the database holds', async () => {
    const plans = await get(feed('BudgetPlans'), as('admin'));
    expect(plans.body['@odata.context']).toBe(`${server.url}/odata/$metadata#BudgetPlans`);
    expect(plans.body.value).toEqual([{ Id: planId, Name: 'FY2027 Budget', FiscalYear: 2027, Status: 'OPEN' }]);

    const units = await get(feed('BusinessUnits'), as('admin'));
    expect(units.body.value.map((u: Row) => u.Code).sort()).toEqual(['FINANCE', 'MARKETING', 'OPERATIONS', 'SALES_NORTH', 'SALES_SOUTH']);
    expect(units.body.value.find((u: Row) => u.Code === 'SALES_NORTH')).toEqual({ Code: 'SALES_NORTH', Name: 'Sales North' });

    const lines = await readAll(server, 'BudgetLines', as('admin'));
    expect(lines.rows).toHaveLength(600);
    const changed = lines.rows.find((l) => l.Comment === "it's north")!;
    const [stored] = await server.sql(
      `SELECT l.*, to_char(l.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM budget_line l WHERE l.id = $1`,
      [changed.Id],
    );
    expect(changed).toEqual({
      Id: stored.id,
      PlanId: planId,
      PlanName: 'FY2027 Budget',
      FiscalYear: 2027,
      BusinessUnitCode: 'SALES_NORTH',
      BusinessUnitName: 'Sales North',
      ProductCategory: stored.product_category,
      Region: stored.region,
      Quarter: stored.quarter,
      PriorYearActual: stored.prior_year_actual,
      BudgetAmount: 1234,
      ForecastSales: stored.forecast_sales,
      Comment: "it's north",
      Version: stored.version,
      UpdatedAt: stored.at,
      UpdatedBy: 'admin@example.com',
    });
    expect(changed.UpdatedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);

    const submissions = await get(feed('BudgetSubmissions'), as('admin'));
    expect(submissions.body.value).toHaveLength(5);
    expect(submissions.body.value[0]).toEqual({
      PlanId: planId,
      BusinessUnitCode: expect.any(String),
      Status: 'DRAFT',
      Version: 0,
      SubmittedAt: null,
      SubmittedBy: null,
      ReviewedAt: null,
      ReviewComment: null,
    });

    const changes = await get(feed('CellChanges'), as('admin'));
    const north = changes.body.value.filter((c: Row) => c.BusinessUnitCode === 'SALES_NORTH');
    expect(north.map((c: Row) => c.Column).sort()).toEqual(['budgetAmount', 'comment']);
    const amount = north.find((c: Row) => c.Column === 'budgetAmount');
    expect(amount).toMatchObject({ LineId: changed.Id, PlanId: planId, NewValue: '1234', UserEmail: 'admin@example.com', Source: 'API' });
    expect(typeof amount.Id).toBe('number');
    expect(amount.At).toMatch(/Z$/);
  });

  it('shows a submitted and reviewed unit with its submitter, version, review time and comment', async () => {
    const lead = tokens.lead;
    const submitted = await server.gql(
      `mutation($p: ID!) { submitBudget(planId: $p, businessUnitCode: "SALES_NORTH") { status } }`,
      { p: planId },
      lead,
    );
    expect(submitted.errors).toBeUndefined();
    const page = await get(feed(`BudgetSubmissions?$filter=BusinessUnitCode eq 'SALES_NORTH'`), as('lead'));
    expect(page.body.value).toEqual([expect.objectContaining({ Status: 'SUBMITTED', Version: 1, SubmittedBy: 'lead.sales-north@example.com', ReviewedAt: null })]);
    expect(page.body.value[0].SubmittedAt).toMatch(/Z$/);
    // The finance review, answered on its workflow step.
    const [execution] = await server.sql(`SELECT execution_id AS id FROM budget_submission WHERE business_unit_id = $1`, [northId]);
    await eventually(async () => {
      const review = await server.gql(
        `mutation($e: ID!, $i: JSON!) { submitStepInput(executionId: $e, stepKey: "finance_review", input: $i) { status } }`,
        { e: execution.id, i: { decision: 'REJECT', comment: 'Q3 too high' } },
        tokens.analyst,
      );
      return !review.errors;
    }, 'the finance review to wait for input');
    await eventually(async () => (await server.sql(`SELECT status FROM budget_submission WHERE business_unit_id = $1`, [northId]))[0].status === 'REJECTED', 'the rejection');
    const reviewed = await get(feed(`BudgetSubmissions?$filter=BusinessUnitCode eq 'SALES_NORTH'`), as('analyst'));
    expect(reviewed.body.value).toEqual([expect.objectContaining({ Status: 'REJECTED', Version: 1, ReviewComment: 'Q3 too high' })]);
    expect(reviewed.body.value[0].ReviewedAt).toMatch(/Z$/);
  });

  it('answers $filter with every operator, $select, $orderby, $top, $skip and $count', async () => {
    const q = async (query: string, who = 'admin') => {
      const page = await get(feed(`BudgetLines?${query}`), as(who));
      expect(page.status, `${query}: ${JSON.stringify(page.body)}`).toBe(200);
      return page.body;
    };
    const all = (await readAll(server, 'BudgetLines', as('admin'))).rows;
    const expectSame = async (filter: string, predicate: (l: Row) => boolean) => {
      const got = (await readAll(server, `BudgetLines?$filter=${encodeURIComponent(filter)}`, as('admin'))).rows;
      expect(got.map((l) => l.Id).sort(), filter).toEqual(all.filter(predicate).map((l) => l.Id).sort());
    };
    await expectSame(`Quarter eq 'Q1'`, (l) => l.Quarter === 'Q1');
    await expectSame(`Quarter ne 'Q1'`, (l) => l.Quarter !== 'Q1');
    await expectSame(`PriorYearActual gt 300000`, (l) => l.PriorYearActual > 300000);
    await expectSame(`PriorYearActual ge 300000`, (l) => l.PriorYearActual >= 300000);
    await expectSame(`PriorYearActual lt 100000`, (l) => l.PriorYearActual < 100000);
    await expectSame(`PriorYearActual le 100000.5`, (l) => l.PriorYearActual <= 100000.5);
    // Doubles in exponent notation, as OData's ABNF writes them (`e` in either case, the fraction optional).
    await expectSame(`PriorYearActual gt 3e5`, (l) => l.PriorYearActual > 300000);
    await expectSame(`PriorYearActual ge 3E+5`, (l) => l.PriorYearActual >= 300000);
    await expectSame(`PriorYearActual lt 1.5E5 and PriorYearActual gt -1e-3`, (l) => l.PriorYearActual < 150000);
    await expectSame(`FiscalYear eq 2.027E3`, () => true);
    // ...and text that looks like one is left as it is.
    await expectSame(`Comment eq '1e5' or Comment eq 'it''s north'`, (l) => l.Comment === "it's north");
    await expectSame(`BudgetAmount eq null`, (l) => l.BudgetAmount === null);
    await expectSame(`BudgetAmount ne null`, (l) => l.BudgetAmount !== null);
    // OData's ne holds for a null: every line but the one of 1234.
    await expectSame(`BudgetAmount ne 1234`, (l) => l.BudgetAmount !== 1234);
    // And `not` of a comparison with a null is true, as OData says (SQL's NOT would leave the null rows out).
    await expectSame(`not (BudgetAmount eq 1234)`, (l) => l.BudgetAmount !== 1234);
    await expectSame(`not (BudgetAmount gt 0 and Quarter eq 'Q1')`, (l) => !(l.BudgetAmount !== null && l.BudgetAmount > 0 && l.Quarter === 'Q1'));
    await expectSame(`Quarter eq 'Q1' and (Region eq 'North' or not (BusinessUnitCode eq 'FINANCE'))`, (l) => l.Quarter === 'Q1' && (l.Region === 'North' || l.BusinessUnitCode !== 'FINANCE'));
    await expectSame(`contains(BusinessUnitName,'ale')`, (l) => l.BusinessUnitName.includes('ale'));
    await expectSame(`startswith(BusinessUnitCode,'SALES_')`, (l) => l.BusinessUnitCode.startsWith('SALES_'));
    await expectSame(`not startswith(BusinessUnitCode,'SALES_')`, (l) => !l.BusinessUnitCode.startsWith('SALES_'));
    await expectSame(`Comment eq 'it''s north'`, (l) => l.Comment === "it's north");
    await expectSame(`Region eq 'Middle East & Africa' and Quarter eq 'Q1'`, (l) => l.Region === 'Middle East & Africa' && l.Quarter === 'Q1');
    await expectSame(`contains(Comment,'%')`, () => false);
    await expectSame(`FiscalYear eq 2027 and PlanId eq ${planId}`, () => true);
    await expectSame(`Id eq ${all[7].Id}`, (l) => l.Id === all[7].Id);
    await expectSame(`UpdatedAt ge ${all.map((l) => l.UpdatedAt).sort().at(-1)}`, (l) => l.UpdatedAt === all.map((x) => x.UpdatedAt).sort().at(-1));
    await expectSame(`UpdatedAt lt 2000-01-01T00:00:00+01:00`, () => false);

    const selected = await q(`$select=Id,BudgetAmount&$top=3`);
    expect(selected['@odata.context']).toBe(`${server.url}/odata/$metadata#BudgetLines(Id,BudgetAmount)`);
    expect(selected.value).toHaveLength(3);
    expect(Object.keys(selected.value[0])).toEqual(['Id', 'BudgetAmount']);

    const ordered = await q(`$orderby=PriorYearActual desc,Id&$top=10&$select=Id,PriorYearActual`);
    const expected = [...all].sort((a, b) => b.PriorYearActual - a.PriorYearActual || (a.Id < b.Id ? -1 : 1)).slice(0, 10);
    expect(ordered.value).toEqual(expected.map((l) => ({ Id: l.Id, PriorYearActual: l.PriorYearActual })));

    const byCode = await q(`$orderby=BusinessUnitCode asc,Id desc&$skip=100&$top=5&$select=Id`);
    const codeOrder = [...all].sort((a, b) => (a.BusinessUnitCode < b.BusinessUnitCode ? -1 : a.BusinessUnitCode > b.BusinessUnitCode ? 1 : a.Id < b.Id ? 1 : -1));
    expect(byCode.value.map((l: Row) => l.Id)).toEqual(codeOrder.slice(100, 105).map((l) => l.Id));

    const counted = await q(`$filter=Quarter eq 'Q2'&$count=true&$top=2`);
    expect(counted['@odata.count']).toBe(150);
    expect(counted.value).toHaveLength(2);
    expect((await q(`$count=false`))['@odata.count']).toBeUndefined();
    expect((await q(`$top=0&$count=true`))).toMatchObject({ '@odata.count': 600, value: [] });
    expect((await q(`$skip=599`)).value).toHaveLength(1);
    // The count alone ($count segment), filtered and scoped.
    const countOnly = await fetch(feed(`BudgetLines/$count?$filter=${encodeURIComponent(`Quarter eq 'Q2'`)}`), { headers: { authorization: as('admin') } });
    expect(countOnly.status).toBe(200);
    expect(await countOnly.text()).toBe('150');
    expect(await (await fetch(feed('BudgetLines/$count'), { headers: { authorization: as('viewer') } })).text()).toBe('120');
    expect((await fetch(feed('BudgetLines/$count'))).status).toBe(401);
    expect((await q(`$format=json&$top=1&custom=ignored`)).value).toHaveLength(1);
  });

  it('refuses a bad option with 400 and an OData error, before reading anything', async () => {
    const bad = [
      `$filter=Quarter eq`,
      `$filter=Nope eq 1`,
      `$filter=Quarter eq 1`,
      `$filter=BudgetAmount eq 'x'`,
      `$filter=BudgetAmount gt null`,
      `$filter=Id eq 'x'`,
      `$filter=UpdatedAt ge 2026-02-30T00:00:00Z`,
      `$filter=BudgetAmount eq 1.0e400`,
      `$filter=BudgetAmount eq NaN`,
      `$filter=tolower(Region) eq 'north'`,
      `$filter=contains(BudgetAmount,'1')`,
      `$filter=BudgetAmount add 1 gt 2`,
      `$filter=Quarter eq Region`,
      `$filter=Quarter eq 'Q1')`,
      `$select=Nope`,
      `$select=Id,`,
      `$orderby=Nope`,
      `$orderby=Id sideways`,
      `$orderby=Id,Id`,
      `$top=-1`,
      `$top=x`,
      `$skip=1.5`,
      `$count=yes`,
      `$expand=Plan`,
      `$search=north`,
      `$apply=aggregate(BudgetAmount with sum as Total)`,
      `$format=xml`,
      `$skiptoken=nonsense`,
      `$skiptoken=${Buffer.from(JSON.stringify({ a: ['not-a-uuid'], r: null })).toString('base64url')}`,
      `$top=1&$top=2`,
    ];
    const observed: string[] = [];
    const observe = (text: string) => void observed.push(text);
    statementObservers.add(observe);
    try {
      for (const query of bad) {
        const page = await get(`${feed('BudgetLines')}?${query.replace(/ /g, '%20')}`, as('admin'));
        expectODataError(page, 400, ErrorCode.BAD_USER_INPUT);
      }
    } finally {
      statementObservers.delete(observe);
    }
    expect(observed).toEqual([]);
    // The feed's requests are counted under their own route in /metrics, refusals included.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/plansync_http_requests_total\{route="\/odata",status="4xx"\} [1-9]/);
    expectODataError(await get(feed('Nothing'), as('admin')), 404, ErrorCode.NOT_FOUND);
    const post = await fetch(feed('BudgetLines'), { method: 'POST', headers: { authorization: as('admin'), 'content-type': 'application/json' }, body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('refuses, before parsing, a filter nested or long enough to hold the server (the parser backtracks), and not a long text value', async () => {
    // 2,500 open parentheses (a 7 KB URL) held the event loop for seconds, every other request waiting: any
    // viewer or READ token could stall the server with a few of them. Refused now without reaching the parser.
    const refusals: [string, RegExp][] = [
      [`$filter=${'('.repeat(2500)}`, /parentheses more than 32 deep/],
      [`$filter=${'('.repeat(33)}Quarter eq 'Q1'${')'.repeat(33)}`, /parentheses more than 32 deep/],
      [`$filter=${'not '.repeat(1600)}Quarter eq 'Q1'`, /longer than 6000 characters/],
      [`$orderby=${'Region,'.repeat(200)}Id`, /\$orderby is longer than 1000 characters/],
      [`$select=${'Region,'.repeat(200)}Id`, /\$select is longer than 1000 characters/],
    ];
    for (const [query, message] of refusals) {
      const page = await get(`${feed('BudgetLines')}?${encodeURI(query)}`, as('viewer'));
      expectODataError(page, 400, ErrorCode.BAD_USER_INPUT);
      expect(page.body.error.message).toMatch(message);
    }
    // What real filters nest and hold still passes: parentheses 32 deep, and a long text searched for.
    const nested = await get(`${feed('BudgetLines')}?${encodeURI(`$filter=${'('.repeat(32)}Quarter eq 'Q1'${')'.repeat(32)}&$count=true&$top=0`)}`, as('viewer'));
    expect(nested.status, JSON.stringify(nested.body)).toBe(200);
    expect(nested.body['@odata.count']).toBe(30);
    const long = await get(`${feed('BudgetLines')}?${encodeURI(`$filter=Comment eq '${'x'.repeat(7000)}'&$count=true&$top=0`)}`, as('viewer'));
    expect(long.status, JSON.stringify(long.body)).toBe(200);
    expect(long.body['@odata.count']).toBe(0);
  });

  it('returns only the rows each role may read, by the same policies as GraphQL', async () => {
    const codes = async (set: string, who: string) => (await readAll(server, set, as(who))).rows.map((r) => r.BusinessUnitCode ?? r.Code);
    const everyUnit = ['FINANCE', 'MARKETING', 'OPERATIONS', 'SALES_NORTH', 'SALES_SOUTH'];
    for (const who of ['admin', 'analyst']) {
      expect([...new Set(await codes('BudgetLines', who))].sort(), who).toEqual(everyUnit);
      expect((await codes('BusinessUnits', who)).sort(), who).toEqual(everyUnit);
      expect((await codes('BudgetSubmissions', who)).sort(), who).toEqual(everyUnit);
      expect([...new Set(await codes('CellChanges', who))].sort(), who).toEqual(['SALES_NORTH', 'SALES_SOUTH']);
      expect((await readAll(server, 'BudgetPlans', as(who))).rows).toHaveLength(1);
    }
    for (const who of ['lead', 'viewer']) {
      const lines = await codes('BudgetLines', who);
      expect(lines, who).toHaveLength(120);
      expect(new Set(lines), who).toEqual(new Set(['SALES_NORTH']));
      expect(await codes('BusinessUnits', who), who).toEqual(['SALES_NORTH']);
      expect(await codes('BudgetSubmissions', who), who).toEqual(['SALES_NORTH']);
      expect(new Set(await codes('CellChanges', who)), who).toEqual(new Set(['SALES_NORTH']));
      expect((await readAll(server, 'BudgetPlans', as(who))).rows).toHaveLength(1);
      // A filter naming another unit finds nothing, and the count agrees.
      const south = await get(feed(`BudgetLines?$filter=BusinessUnitCode eq 'SALES_SOUTH'&$count=true`), as(who));
      expect(south.body).toMatchObject({ '@odata.count': 0, value: [] });
    }
    // Partners read no unit's budget: every set is empty (plans too, as budgetPlans answers them).
    for (const set of ['BudgetPlans', 'BusinessUnits', 'BudgetLines', 'BudgetSubmissions', 'CellChanges']) {
      const page = await get(feed(`${set}?$count=true`), basic(tokens.partner));
      expect(page.status, set).toBe(200);
      expect(page.body, set).toMatchObject({ '@odata.count': 0, value: [] });
    }
    // A leader moved to another unit reads that unit's lines from the next request on.
    const [marketing] = await server.sql(`SELECT id FROM business_unit WHERE code = 'MARKETING'`);
    const [lead] = await server.sql(`SELECT id FROM app_user WHERE email = 'lead.sales-north@example.com'`);
    await server.sql(`UPDATE user_business_unit SET business_unit_id = $1 WHERE user_id = $2`, [marketing.id, lead.id]);
    try {
      expect(new Set(await codes('BudgetLines', 'lead'))).toEqual(new Set(['MARKETING']));
    } finally {
      await server.sql(`UPDATE user_business_unit SET business_unit_id = $1 WHERE user_id = $2`, [northId, lead.id]);
    }
  });

  it('pushes a filter into PostgreSQL: the statement carries it as parameters and its scan returns only matching rows', async () => {
    const statements: { text: string; values: readonly unknown[] }[] = [];
    const observe = (text: string, values: readonly unknown[]) => void statements.push({ text, values });
    statementObservers.add(observe);
    let page: Page;
    try {
      page = await get(feed(`BudgetLines?$filter=${encodeURIComponent(`Quarter eq 'Q3' and BusinessUnitCode eq 'MARKETING'`)}`), as('admin'));
    } finally {
      statementObservers.delete(observe);
    }
    expect(page.body.value).toHaveLength(30);
    expect(statements).toHaveLength(1);
    const [{ text, values }] = statements;
    expect(text).toMatch(/WHERE .*l\.quarter = \$\d+::text/s);
    expect(text).not.toContain('Q3');
    expect(text).not.toContain('MARKETING');
    expect(values).toEqual(expect.arrayContaining(['Q3', 'MARKETING']));
    // The same statement under EXPLAIN ANALYZE: the scan of budget_line yields at most the 150 lines of Q3 of 600
    // (PostgreSQL applies the filter in the scan, or an index on the unit reads fewer), and the 30 of MARKETING are
    // all that reach the result: no row is fetched to be filtered afterwards.
    const [{ 'QUERY PLAN': plan }] = await server.sql(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values as unknown[]);
    const nodes: Row[] = [];
    const walk = (node: Row) => {
      nodes.push(node);
      (node.Plans ?? []).forEach(walk);
    };
    walk(plan[0].Plan);
    const scan = nodes.find((n) => n['Relation Name'] === 'budget_line')!;
    expect(scan['Actual Rows'] * scan['Actual Loops']).toBeLessThanOrEqual(150);
    expect(plan[0].Plan['Actual Rows']).toBe(30);

    // Incremental refresh: after two lines change, `UpdatedAt gt <last refresh>` reads those two only.
    const before = (await readAll(server, `BudgetLines?$orderby=UpdatedAt desc&$top=1&$select=UpdatedAt`, as('admin'))).rows[0].UpdatedAt;
    const [a, b] = (await readAll(server, `BudgetLines?$filter=BusinessUnitCode eq 'OPERATIONS'&$top=2&$select=Id`, as('admin'))).rows;
    for (const line of [a, b]) expect((await server.gql(setLine, { id: line.Id, input: { forecastSales: 42 } }, tokens.admin)).errors).toBeUndefined();
    const since = `BudgetLines?$filter=${encodeURIComponent(`UpdatedAt gt ${before}`)}&$select=Id`;
    const fresh: string[] = [];
    statementObservers.add((t, v) => fresh.push(`${t} ${JSON.stringify(v)}`));
    try {
      const changed = (await readAll(server, since, as('admin'))).rows;
      expect(changed.map((l) => l.Id).sort()).toEqual([a.Id, b.Id].sort());
    } finally {
      statementObservers.clear();
    }
    expect(fresh.join('\n')).toMatch(/l\.updated_at > \$\d+::timestamptz/);
  });

  it('pages by 5,000 by default: every row once, the nextLink keeping the query', async () => {
    // A second plan of 5,200 lines (SQL, so that it is quick), in one unit.
    const [plan] = await server.sql(`INSERT INTO budget_plan (id, name, fiscal_year) VALUES (gen_random_uuid(), 'Big', 2028) RETURNING id`);
    await server.sql(
      `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position)
       SELECT gen_random_uuid(), $1, $2, 'Bulk ' || n, 'North', 'Q' || (1 + n % 4), n FROM generate_series(1, 5200) n`,
      [plan.id, northId],
    );
    try {
      const { rows, sizes } = await readAll(server, `BudgetLines?$filter=${encodeURIComponent(`PlanId eq ${plan.id}`)}&$select=Id,Quarter&$count=true`, as('admin'));
      expect(sizes).toEqual([5000, 200]);
      expect(new Set(rows.map((r) => r.Id)).size).toBe(5200);
      const first = await get(feed(`BudgetLines?$filter=${encodeURIComponent(`PlanId eq ${plan.id}`)}&$select=Id&$count=true`), as('admin'));
      const next = new URL(first.body['@odata.nextLink']);
      expect(next.searchParams.get('$filter')).toBe(`PlanId eq ${plan.id}`);
      expect(next.searchParams.get('$select')).toBe('Id');
      expect(first.body['@odata.count']).toBe(5200);
      // $top across pages: 5,100 rows in all, the second page the last 100.
      const topped = await readAll(server, `BudgetLines?$filter=${encodeURIComponent(`PlanId eq ${plan.id}`)}&$top=5100&$select=Id`, as('admin'));
      expect(topped.sizes).toEqual([5000, 100]);
    } finally {
      await server.sql(`DELETE FROM budget_plan WHERE id = $1`, [plan.id]);
    }
  }, 60_000);

  it('lists BudgetLines without $orderby as a person reads the grid: plan by plan, unit by unit, in the grid order', async () => {
    const { rows } = await readAll(server, 'BudgetLines?$select=Id,PlanId,BusinessUnitCode,ProductCategory,Region,Quarter', as('admin'));
    // Each unit's 120 lines come together (one block per plan and unit), in its grid's order.
    const blocks = rows.map((r) => `${r.PlanId}/${r.BusinessUnitCode}`).filter((key, i, all) => i === 0 || all[i - 1] !== key);
    expect(new Set(blocks).size).toBe(blocks.length);
    const layout = unitGridLayout().map((l) => `${l.productCategory}/${l.region}/${l.quarter}`);
    const firstUnit = rows.filter((r) => r.PlanId === rows[0].PlanId && r.BusinessUnitCode === rows[0].BusinessUnitCode);
    expect(firstUnit.map((r) => `${r.ProductCategory}/${r.Region}/${r.Quarter}`)).toEqual(layout);
    const expected = await server.sql(`SELECT id FROM budget_line ORDER BY plan_id, business_unit_id, position, id`);
    expect(rows.map((r) => r.Id)).toEqual(expected.map((r) => r.id));
  });

  it('reads BudgetLines through a real OData client (@odata/client) with a filter', async () => {
    const client = OData.New4({ serviceEndpoint: `${server.url}/odata/`, commonHeaders: { authorization: basic(tokens.viewer, 'excel') } });
    const filter = client.newFilter().property('Quarter').eq(EdmV4.String.from('Q4')).property('Region').eq(EdmV4.String.from('Asia Pacific'));
    const lines = await client.getEntitySet<Row>('BudgetLines').query(client.newParam().filter(filter).orderby('ProductCategory', 'asc').count(true));
    expect(lines).toHaveLength(6);
    expect(lines.every((l) => l.Quarter === 'Q4' && l.Region === 'Asia Pacific' && l.BusinessUnitCode === 'SALES_NORTH')).toBe(true);
    expect(lines.map((l) => l.ProductCategory)).toEqual([...lines.map((l) => l.ProductCategory)].sort());
  });
});

describe('OData paging with small pages while rows change', () => {
  let server: TestServer;
  let token: string;
  beforeAll(async () => {
    server = await startTestServer({ ODATA_PAGE_SIZE: '7' });
    token = await server.login('admin@example.com');
  }, 60_000);
  afterAll(() => server?.stop());

  it('sends every row exactly once across pages, in the default order and in an $orderby order, as lines change and are added meanwhile', async () => {
    const ids = (await server.sql(`SELECT id FROM budget_line`)).map((r) => r.id as string);
    let edits = 0;
    for (const query of ['BudgetLines?$select=Id', 'BudgetLines?$select=Id&$orderby=BudgetAmount desc,Region', 'BudgetLines?$select=Id&$orderby=Comment']) {
      const { rows, sizes } = await readAll(server, query, `Bearer ${token}`, async (page) => {
        if (page % 10 !== 0) return;
        // Between pages: values change (not those ordered by, but a new line appears) and a line is added.
        edits++;
        await server.sql(`UPDATE budget_line SET forecast_sales = coalesce(forecast_sales, 0) + 1, version = version + 1 WHERE id = $1`, [ids[(edits * 13) % ids.length]]);
        await server.sql(
          `INSERT INTO budget_line (id, plan_id, business_unit_id, product_category, region, quarter, position)
           SELECT gen_random_uuid(), plan_id, business_unit_id, 'Added ' || $2::int, 'North', 'Q1', 1000 + $2::int FROM budget_line WHERE id = $1`,
          [ids[0], edits],
        );
      });
      expect(sizes.slice(0, -1).every((s) => s === 7), query).toBe(true);
      const seen = rows.map((r) => r.Id);
      expect(new Set(seen).size, query).toBe(seen.length);
      for (const id of ids) expect(seen, query).toContain(id);
    }
  }, 120_000);

  it('orders nulls as OData does (before every value ascending, after every value descending), on every page', async () => {
    // A few amounts set, the rest null: the order must hold across the pages of 7.
    const ids = (await server.sql(`SELECT id FROM budget_line ORDER BY id LIMIT 5`)).map((r) => r.id as string);
    for (const [i, id] of ids.entries()) await server.sql(`UPDATE budget_line SET budget_amount = $2 WHERE id = $1`, [id, 100 * (i + 1)]);
    const all = (await readAll(server, 'BudgetLines?$select=Id,BudgetAmount', `Bearer ${token}`)).rows;
    const byAmount = (descending: boolean) => (a: Row, b: Row) => {
      if (a.BudgetAmount === b.BudgetAmount) return a.Id < b.Id ? -1 : 1;
      if (a.BudgetAmount === null) return descending ? 1 : -1;
      if (b.BudgetAmount === null) return descending ? -1 : 1;
      return descending ? b.BudgetAmount - a.BudgetAmount : a.BudgetAmount - b.BudgetAmount;
    };
    for (const descending of [false, true]) {
      const query = `BudgetLines?$select=Id,BudgetAmount&$orderby=BudgetAmount${descending ? ' desc' : ''}`;
      const { rows } = await readAll(server, query, `Bearer ${token}`);
      expect(rows.map((r) => r.Id), query).toEqual([...all].sort(byAmount(descending)).map((r) => r.Id));
      // What Power Query folds for "keep the top 3 rows" after a sort: values for a descending sort, nulls for an ascending one.
      const top = (await get(`${server.url}/odata/${query}&$top=3`, `Bearer ${token}`)).body.value.map((r: Row) => r.BudgetAmount);
      expect(top, query).toEqual(descending ? [500, 400, 300] : [null, null, null]);
    }
  });

  it('builds @odata.nextLink and @odata.context from a Host that names this machine, never from a forged one', async () => {
    const port = new URL(server.url).port;
    /** The links of a page asked for with this Host header (fetch cannot forge Host; node:http can). */
    const linksWith = (host: string) =>
      new Promise<{ status: number; next: string; context: string }>((resolve, reject) => {
        const req = http.get(`${server.url}/odata/BudgetLines?$select=Id`, { headers: { host, authorization: `Bearer ${token}` } }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (chunk) => (text += chunk)).on('end', () => {
            const body = JSON.parse(text);
            resolve({ status: res.statusCode ?? 0, next: body['@odata.nextLink'], context: body['@odata.context'] });
          });
        });
        req.on('error', reject);
      });
    // The names this machine answers to, on its port, are kept as the caller typed them.
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `${os.hostname()}:${port}`]) {
      const { status, next, context } = await linksWith(host);
      expect(status).toBe(200);
      expect(next.startsWith(`http://${host.toLowerCase()}/odata/BudgetLines?`), host).toBe(true);
      expect(context).toBe(`http://${host.toLowerCase()}/odata/$metadata#BudgetLines(Id)`);
    }
    // Any other Host (another name, our name on another port, tricks in the header) gets the address the connection reached.
    for (const host of ['attacker.example', `attacker.example:${port}`, `localhost:1`, `localhost:${port}@attacker.example`, `attacker.example/x?`, `localhost.attacker.example:${port}`, '']) {
      const { status, next, context } = await linksWith(host);
      expect(status).toBe(200);
      expect(next.startsWith(`http://127.0.0.1:${port}/odata/BudgetLines?`), `${host} gave ${next}`).toBe(true);
      expect(context, host).toBe(`http://127.0.0.1:${port}/odata/$metadata#BudgetLines(Id)`);
    }
    // The link it gives still leads to the next page.
    const forged = await linksWith('attacker.example');
    expect((await get(forged.next, `Bearer ${token}`)).body.value).toHaveLength(7);
  });

  it('keeps $top and $skip across small pages and gives $count on every page', async () => {
    const all = (await readAll(server, 'BudgetLines?$select=Id', `Bearer ${token}`)).rows.map((r) => r.Id);
    const { rows, sizes } = await readAll(server, 'BudgetLines?$select=Id&$skip=5&$top=20&$count=true', `Bearer ${token}`);
    expect(sizes).toEqual([7, 7, 6]);
    expect(rows.map((r) => r.Id)).toEqual(all.slice(5, 25));
    const first = await get(`${server.url}/odata/BudgetLines?$select=Id&$count=true`, `Bearer ${token}`);
    const second = await get(first.body['@odata.nextLink'], `Bearer ${token}`);
    expect(second.body['@odata.count']).toBe(first.body['@odata.count']);
  });
});

describe('OData 401 challenge with Entra ID set up', () => {
  it("names the Entra authority in the Bearer challenge (what Power Query's organizational account follows)", async () => {
    const fake = await startFakeEntraAuthority();
    const server = await startTestServer(fake.env('https://plansync.example/auth/microsoft/callback'));
    try {
      const page = await get(`${server.url}/odata/`);
      expectODataError(page, 401, ErrorCode.UNAUTHENTICATED);
      const challenge = page.headers.get('www-authenticate') ?? '';
      expect(challenge).toContain('Basic realm="Plansync"');
      expect(challenge).toContain(`Bearer realm="Plansync", authorization_uri="${fake.host}/${fake.tenantId}/oauth2/authorize"`);
    } finally {
      await server.stop();
      await fake.close();
    }
  }, 60_000);
});
