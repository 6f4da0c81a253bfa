/**
 * The Power Query template shipped for Power BI (integrations/powerbi/Plansync.pq) kept honest against the real
 * feed: every entity set and property the M names exists in $metadata, with an M type that matches its EDM type,
 * and the incremental refresh filter, written as OData.Feed folds it into $filter, is answered with exactly the
 * lines whose UpdatedAt falls in [RangeStart, RangeEnd) (compared with the rows in PostgreSQL). Power BI itself
 * cannot run here, so what the test holds fixed is the contract between the template and the feed.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.js';

const TEMPLATE = fs.readFileSync(new URL('../../../integrations/powerbi/Plansync.pq', import.meta.url), 'utf8');

/** The M types the template may give a property of each EDM type (a Guid is text in Power Query). */
const M_TYPES: Record<string, string[]> = {
  'Edm.Guid': ['type text'],
  'Edm.String': ['type text'],
  'Edm.Int32': ['Int64.Type', 'Int32.Type'],
  'Edm.Int64': ['Int64.Type'],
  'Edm.Double': ['type number'],
  'Edm.DateTimeOffset': ['type datetimezone'],
};

/** The template's shared queries: name → body (comment lines removed; the template has no trailing comments). */
function sharedQueries(m: string): Map<string, string> {
  const code = m.replace(/^\s*\/\/[^\n]*/gm, '');
  const queries = new Map<string, string>();
  for (const match of code.matchAll(/shared\s+(\w+)\s*=([\s\S]*?);\s*(?=shared\s|$)/g)) queries.set(match[1], match[2].trim());
  return queries;
}

/** A #datetime(y, m, d, h, mi, s) parameter value as the UTC instant DateTime.AddZone(…, 0) makes of it. */
function parameterInstant(body: string): string {
  const match = /^#datetime\((\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+),\s*(\d+)\)/.exec(body);
  expect(match, body).not.toBeNull();
  const [y, mo, d, h, mi, s] = match!.slice(1).map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s)).toISOString().replace('.000Z', 'Z');
}

function basic(token: string): string {
  return `Basic ${Buffer.from(`power.bi:${token}`).toString('base64')}`;
}

describe('Power BI template (integrations/powerbi/Plansync.pq)', () => {
  let server: TestServer;
  let token: string;
  const queries = sharedQueries(TEMPLATE);
  /** entity set name → (property name → EDM type), from the real $metadata. */
  const model = new Map<string, Map<string, string>>();

  beforeAll(async () => {
    server = await startTestServer();
    const admin = await server.login('admin@example.com');
    // A READ access token through Basic with any user name: what the README tells the analyst to use.
    const created = await server.gql(`mutation { createAccessToken(name: "Power BI", scopes: [READ]) { token } }`, {}, admin);
    expect(created.errors).toBeUndefined();
    token = created.data.createAccessToken.token;
    const res = await fetch(`${server.url}/odata/$metadata`, { headers: { authorization: basic(token) } });
    expect(res.status).toBe(200);
    const xml = await res.text();
    const types = new Map<string, Map<string, string>>();
    for (const [, name, body] of xml.matchAll(/<EntityType Name="(\w+)">([\s\S]*?)<\/EntityType>/g)) {
      types.set(name, new Map([...body.matchAll(/<Property Name="(\w+)" Type="([\w.]+)"/g)].map((m) => [m[1], m[2]])));
    }
    for (const [, set, type] of xml.matchAll(/<EntitySet Name="(\w+)" EntityType="Plansync\.(\w+)"\/>/g)) model.set(set, types.get(type)!);
  }, 60_000);
  afterAll(() => server?.stop());

  it('declares the parameters Power BI needs: PlansyncUrl (text), RangeStart and RangeEnd (DateTime)', () => {
    expect(queries.get('PlansyncUrl')).toMatch(/^"https?:\/\/[^"]+"\s+meta\s+\[IsParameterQuery = true, Type = "Text"/);
    // Incremental refresh finds its parameters by these exact names, and only if they are DateTime.
    for (const name of ['RangeStart', 'RangeEnd']) expect(queries.get(name)).toMatch(/^#datetime\([^)]*\)\s+meta\s+\[IsParameterQuery = true, Type = "DateTime"/);
    expect(queries.get('PlansyncFeed')).toMatch(/^OData\.Feed\(PlansyncUrl & "\/odata\/"/);
  });

  it('names only entity sets and properties of the feed, each with an M type matching its EDM type', () => {
    const tables = ['BudgetLines', 'BudgetPlans', 'BusinessUnits', 'BudgetSubmissions'];
    for (const table of tables) {
      const body = queries.get(table);
      expect(body, `query ${table}`).toBeDefined();
      const navigations = [...body!.matchAll(/PlansyncFeed\{\[Name = "(\w+)", Signature = "table"\]\}\[Data\]/g)].map((m) => m[1]);
      expect(navigations).toEqual([table]);
      const properties = model.get(table);
      expect(properties, `entity set ${table} in $metadata`).toBeDefined();
      // Field accesses ([UpdatedAt]) and the column lists of SelectColumns and TransformColumnTypes.
      const fields = [...body!.matchAll(/\[(\w+)\]/g)].map((m) => m[1]).filter((f) => f !== 'Data');
      const selectList = /Table\.SelectColumns\(\w+, \{([^}]*)\}\)/.exec(body!);
      expect(selectList, `${table} selects its columns`).not.toBeNull();
      const selected = [...selectList![1].matchAll(/"(\w+)"/g)].map((m) => m[1]);
      const typed = [...body!.matchAll(/\{"(\w+)", ([\w. ]+?)\}/g)].map((m) => [m[1], m[2]] as const);
      for (const name of [...fields, ...selected, ...typed.map(([n]) => n)]) expect(properties!.has(name), `${table}.${name} in $metadata`).toBe(true);
      // Every column of the set is read and typed, each once, with a type that fits what the feed sends.
      expect(new Set(selected)).toEqual(new Set(properties!.keys()));
      expect(typed.map(([n]) => n)).toEqual(selected);
      for (const [name, mType] of typed) expect(M_TYPES[properties!.get(name)!], `${table}.${name}: ${mType}`).toContain(mType);
    }
  });

  it('answers the folded incremental refresh filter on UpdatedAt with exactly the lines changed in [RangeStart, RangeEnd)', async () => {
    const select = /Table\.SelectRows\(Source, each \[(\w+)\] >= DateTime\.AddZone\(RangeStart, 0\) and \[(\w+)\] < DateTime\.AddZone\(RangeEnd, 0\)\)/.exec(
      queries.get('BudgetLines')!,
    );
    expect(select, 'BudgetLines filters on the RangeStart/RangeEnd parameters').not.toBeNull();
    expect(select![1]).toBe('UpdatedAt');
    expect(select![2]).toBe('UpdatedAt');
    const start = parameterInstant(queries.get('RangeStart')!);
    const end = parameterInstant(queries.get('RangeEnd')!);
    expect([start, end]).toEqual(['2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z']);

    // Lines changed before, at the start of, inside, at the end of and after the range (the end is excluded).
    const lines = await server.sql<{ id: string }>(`SELECT id FROM budget_line ORDER BY id`);
    expect(lines.length).toBeGreaterThan(10);
    await server.sql(`UPDATE budget_line SET updated_at = '2025-12-31T23:59:59.999999Z'`);
    const at = ['2026-01-01T00:00:00Z', '2026-01-15T12:30:00.5Z', '2026-01-31T23:59:59.999999Z', '2026-02-01T00:00:00Z', '2026-03-01T00:00:00Z'];
    for (const [i, time] of at.entries()) await server.sql(`UPDATE budget_line SET updated_at = $2 WHERE id = $1`, [lines[i].id, time]);
    const expected = await server.sql<{ id: string }>(`SELECT id FROM budget_line WHERE updated_at >= $1 AND updated_at < $2 ORDER BY id`, [start, end]);
    expect(expected.map((r) => r.id)).toEqual(lines.slice(0, 3).map((l) => l.id).sort());

    // What OData.Feed sends for the step (with the $select of the next one folded in too).
    const filter = `UpdatedAt ge ${start} and UpdatedAt lt ${end}`;
    const url = `${server.url}/odata/BudgetLines?$filter=${encodeURIComponent(filter)}&$select=Id,UpdatedAt`;
    const res = await fetch(url, { headers: { authorization: basic(token) } });
    const body = await res.json();
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body['@odata.nextLink']).toBeUndefined();
    expect(body.value.map((r: { Id: string }) => r.Id).sort()).toEqual(expected.map((r) => r.id));
    for (const row of body.value) expect(row.UpdatedAt >= '2026-01-01T00:00:00' && row.UpdatedAt < '2026-02-01T00:00:00').toBe(true);
  });
});
