/**
 * The people and rows the fuzz suites act as and aim at: the demo roles of CONTRACT.md, a `FuzzWorld` of real
 * ids for the generators, and a fingerprint of every row a role may NOT write, taken before and after a fuzz
 * run to prove that nothing the fuzzer sent as that role changed them.
 */
import { expect } from 'vitest';
import { DEMO_PASSWORD } from '../seed.js';
import { eventually } from './gridClients.js';
import type { FuzzWorld } from './graphqlArbitraries.js';
import type { TestServer } from './harness.js';

/** Who the fuzzers act as: nobody, and one demo user of each role. */
export const FUZZ_ROLES = {
  anonymous: null,
  admin: 'admin@example.com',
  analyst: 'analyst@example.com',
  lead: 'lead.sales-north@example.com',
  viewer: 'viewer.marketing@example.com',
  partner: 'partner.admin@acme.example',
} as const;
export type FuzzRole = keyof typeof FUZZ_ROLES;
export const FUZZ_ROLE_NAMES = Object.keys(FUZZ_ROLES) as FuzzRole[];

/** The unit the lead may write. */
export const LEAD_UNIT = 'SALES_NORTH';

/**
 * Real ids for the generators. People the fuzzers act as (and `bystanders`, whose sessions a suite watches) are
 * left out of `userIds`: an admin's fuzzed `setUserAccess` may then change anyone else, but never the rights
 * another run's fingerprint or a watched session relies on.
 */
export async function loadWorld(server: TestServer, bystanders: string[] = []): Promise<FuzzWorld> {
  const lines = await server.sql<{ id: string; code: string }>(
    `SELECT DISTINCT ON (u.code, l.position % 7) l.id, u.code FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id
      ORDER BY u.code, l.position % 7, l.position`,
  );
  const plans = await server.sql<{ id: string }>('SELECT id FROM budget_plan');
  const units = await server.sql<{ code: string }>('SELECT code FROM business_unit');
  const fuzzers: string[] = [...Object.values(FUZZ_ROLES).filter((e): e is NonNullable<typeof e> => e !== null), ...bystanders];
  const users = await server.sql<{ id: string; email: string }>('SELECT id, email FROM app_user');
  return {
    planIds: plans.map((p) => p.id),
    lineIds: lines.map((l) => l.id),
    unitCodes: [...units.map((u) => u.code), 'NOPE', 'sales_north'],
    userIds: users.filter((u) => !fuzzers.includes(u.email)).map((u) => u.id),
    executionIds: ['00000000-0000-0000-0000-000000000000'],
    emails: [...users.map((u) => u.email), 'nobody@example.com'],
    keys: ['new_partner', 'new_partner_user', 'budget_submission', 'input_studio_companies', 'select_organization', 'input_user_details', 'finance_review', 'validate_budget'],
  };
}

/**
 * A fingerprint of what `role` may not write: budget lines, their audit entries and submissions outside the
 * role's writable units, people and their units (a partner admin's organisation aside), plans and
 * organisations. An admin may write everything: nothing to fingerprint.
 */
export async function protectedState(server: TestServer, role: FuzzRole): Promise<string> {
  if (role === 'admin') return '';
  const writableUnit = role === 'lead' ? LEAD_UNIT : null;
  const unitFilter = `bu.code IS DISTINCT FROM $1`;
  const [lines] = await server.sql(
    `SELECT count(*)::int AS n, md5(coalesce(string_agg(concat_ws('|', l.id, l.budget_amount, l.forecast_sales, l.comment, l.version, l.updated_at, l.updated_by_id), ',' ORDER BY l.id), '')) AS h
       FROM budget_line l JOIN business_unit bu ON bu.id = l.business_unit_id WHERE ${unitFilter}`,
    [writableUnit],
  );
  const [audit] = await server.sql(
    `SELECT count(*)::int AS n FROM cell_change c JOIN business_unit bu ON bu.id = c.business_unit_id WHERE ${unitFilter}`,
    [writableUnit],
  );
  // An analyst reviews submissions; everyone else but the lead (their own unit) changes none.
  const [submissions] =
    role === 'analyst'
      ? [{ h: 'reviewable' }]
      : await server.sql(
          `SELECT md5(coalesce(string_agg(concat_ws('|', s.id, s.status, s.submitted_at, s.submitted_by_id, s.execution_id), ',' ORDER BY s.id), '')) AS h
             FROM budget_submission s JOIN business_unit bu ON bu.id = s.business_unit_id WHERE ${unitFilter}`,
          [writableUnit],
        );
  const partnerOrg = role === 'partner' ? (await server.sql(`SELECT organization_id FROM app_user WHERE email = $1`, [FUZZ_ROLES.partner]))[0].organization_id : null;
  const [users] = await server.sql(
    `SELECT md5(coalesce(string_agg(concat_ws('|', u.id, u.email, u.role, u.organization_id, u.password_hash,
              (SELECT string_agg(ub.business_unit_id::text, ',' ORDER BY ub.business_unit_id) FROM user_business_unit ub WHERE ub.user_id = u.id)), ',' ORDER BY u.id), '')) AS h
       FROM app_user u WHERE $1::uuid IS NULL OR u.organization_id IS DISTINCT FROM $1::uuid`,
    [partnerOrg],
  );
  const [plans] = await server.sql(`SELECT md5(coalesce(string_agg(concat_ws('|', id, name, fiscal_year), ',' ORDER BY id), '')) AS h FROM budget_plan`);
  const [organizations] = await server.sql(
    `SELECT md5(coalesce(string_agg(concat_ws('|', id, name), ',' ORDER BY id), '')) AS h FROM organization WHERE $1::uuid IS NULL OR id IS DISTINCT FROM $1::uuid`,
    [partnerOrg],
  );
  return JSON.stringify({ lines, audit: audit.n, submissions: submissions.h, users: users.h, plans: plans.h, organizations: role === 'partner' ? 'own' : organizations.h });
}

/**
 * Waits until no workflow execution is RUNNING: steps run in the background (a submission's validation and
 * lock, say), and a fingerprint taken while they run would blame the next run's role for their writes.
 */
export async function workflowsSettled(server: TestServer): Promise<void> {
  await eventually(async () => {
    const [running] = await server.sql(`SELECT count(*)::int AS n FROM workflow_execution WHERE status = 'RUNNING'`);
    return running.n === 0;
  }, 'no workflow execution RUNNING', 30_000);
}

/** Runs `act` as `role` and fails if it changed a row the role may not write. */
export async function expectNothingProtectedChanged(server: TestServer, role: FuzzRole, act: () => Promise<void>, what: () => string): Promise<void> {
  await workflowsSettled(server);
  const before = await protectedState(server, role);
  await act();
  await workflowsSettled(server);
  const after = await protectedState(server, role);
  expect(after, `rows ${role} may not write changed after ${what()}`).toBe(before);
}

let signIns = 0;

/**
 * A fresh token for `email`, signed in from an address of its own (X-Forwarded-For, believed from loopback):
 * clear of the failed sign-ins and locks the fuzzers' own `login` calls leave on 127.0.0.1.
 */
export async function signInFresh(server: TestServer, email: string): Promise<string> {
  signIns++;
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.${process.pid % 250}.${Math.floor(signIns / 250) % 250}.${signIns % 250}` },
    body: JSON.stringify({ query: 'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }', variables: { e: email, p: DEMO_PASSWORD } }),
  });
  const json = (await res.json()) as { data?: { login: { token: string } }; errors?: unknown };
  expect(json.data?.login.token, `sign-in of ${email}: ${JSON.stringify(json.errors)}`).toBeTruthy();
  return json.data!.login.token;
}

/** True when `token` still signs its owner in (a fuzzed signOut ends the token it ran with). */
export async function stillSignedIn(server: TestServer, token: string): Promise<boolean> {
  return !(await server.gql('{ me { id } }', {}, token)).errors;
}

/**
 * Fails when any stored row holds what the contract says can never be stored: an amount that is negative, not
 * finite or above 1e12, a comment over 2000 characters, an audit entry of a column that is not editable, or a
 * line counted twice for one unit and cell.
 */
export async function expectNothingInvalidStored(server: TestServer, after: () => string): Promise<void> {
  const [lines] = await server.sql(
    `SELECT count(*)::int AS n FROM budget_line
      WHERE NOT (coalesce(budget_amount, 0) BETWEEN 0 AND 1e12) OR NOT (coalesce(forecast_sales, 0) BETWEEN 0 AND 1e12)
         OR char_length(comment) > 2000`,
  );
  const [audit] = await server.sql(`SELECT count(*)::int AS n FROM cell_change WHERE column_name NOT IN ('budgetAmount', 'forecastSales', 'comment')`);
  const [duplicates] = await server.sql(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM budget_line GROUP BY plan_id, business_unit_id, product_category, region, quarter HAVING count(*) > 1) d`,
  );
  expect({ invalidLines: lines.n, invalidAudit: audit.n, duplicateLines: duplicates.n }, `invalid rows stored after ${after()}`).toEqual({ invalidLines: 0, invalidAudit: 0, duplicateLines: 0 });
}
