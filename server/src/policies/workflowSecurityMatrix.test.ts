/**
 * Workflow security from the attacker's side: every caller x every workflow operation x executions of every
 * kind (another organisation's, one's own, another unit's, none at all), against the real server, database,
 * job queue and websockets. What each caller may do is written down as tables derived from CONTRACT.md:
 *
 *   ADMIN sees and drives every execution; PARTNER_ADMIN only new_partner_user executions of their own
 *   organisation (and, issue 17, its offboard_partner_user ones); ANALYST the budget_submission ones; a
 *   BU_LEADER the budget_submission of their units. finance_review is given by an ANALYST or an ADMIN only.
 *   budget_submission starts from submitBudget only; offboard_partner is started and seen by ADMIN only.
 *
 * Every case checks the exact outcome (data, or the error code), which rows come back (compared with SQL
 * that encodes the same rules), that a refused mutation changed nothing stored, and that a hidden execution
 * answers exactly like a missing one. Subscriptions are checked by order, never by waiting for silence: an
 * event the caller may see is made to happen after the ones they may not; once it has arrived, a leak would
 * have too.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../graphql/connections.js';
import { eventually } from '../testing/gridClients.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';
import { EVENT_CURSOR } from '../workflow/eventStream.js';
import { CloseCode } from '../../../schema/codes.js';

// ---------------------------------------------------------------------------------------------------------
// Who asks

const ACTORS = {
  ADMIN: 'admin@example.com',
  ANALYST: 'analyst@example.com',
  LEAD: 'lead.sales-north@example.com', // BU_LEADER of SALES_NORTH
  VIEWER: 'viewer.sales-north@example.com', // VIEWER of SALES_NORTH
  PARTNER: 'partner.admin@acme.example', // PARTNER_ADMIN of Acme Partners
  PUSER: 'pat.user@acme.example', // PARTNER_USER of Acme Partners, onboarded by the partner admin below
  ANON: null, // no token at all
} as const;
type Actor = keyof typeof ACTORS;
const ACTOR_NAMES = Object.keys(ACTORS) as Actor[];
const SIGNED_IN = ACTOR_NAMES.filter((a) => a !== 'ANON');

// ---------------------------------------------------------------------------------------------------------
// What they act on

/** Kinds of execution, by who may see them. */
type Kind =
  | 'NEW_PARTNER'
  | 'ACME_USER'
  | 'OTHER_USER'
  | 'UNASSIGNED_USER'
  | 'NORTH_BUDGET'
  | 'MARKETING_BUDGET'
  | 'ACME_OFFBOARD'
  | 'OTHER_OFFBOARD'
  | 'PARTNER_OFFBOARD';

const Y = true;
const N = false;
/** Who sees (and drives) an execution of each kind: the contract's rule, as a table. */
// prettier-ignore
const SEES: Record<Kind, boolean[]> = {
  //                    ADMIN ANALYST LEAD VIEWER PARTNER PUSER ANON
  NEW_PARTNER:        [ Y,    N,      N,   N,     N,      N,    N ],
  ACME_USER:          [ Y,    N,      N,   N,     Y,      N,    N ],
  OTHER_USER:         [ Y,    N,      N,   N,     N,      N,    N ],
  UNASSIGNED_USER:    [ Y,    N,      N,   N,     N,      N,    N ], // new_partner_user before its organisation is chosen
  NORTH_BUDGET:       [ Y,    Y,      Y,   N,     N,      N,    N ],
  MARKETING_BUDGET:   [ Y,    Y,      N,   N,     N,      N,    N ],
  ACME_OFFBOARD:      [ Y,    N,      N,   N,     Y,      N,    N ], // offboard_partner_user of an Acme person
  OTHER_OFFBOARD:     [ Y,    N,      N,   N,     N,      N,    N ], // offboard_partner_user of another organisation's person
  PARTNER_OFFBOARD:   [ Y,    N,      N,   N,     N,      N,    N ], // offboard_partner
};

/** The executions the matrix aims at, all made in `beforeAll`, in the state their name says. */
const TARGETS = {
  NP_WAIT: 'NEW_PARTNER', // admin-started, waiting for its Studio companies
  NP_FAIL: 'NEW_PARTNER', // lms_setup failed
  NP_DONE: 'NEW_PARTNER', // the onboarding of the other organisation
  ACME_USER_WAIT: 'ACME_USER', // partner-admin-started, waiting for the person's details
  ACME_USER_FAIL: 'ACME_USER', // share_documentation failed
  ACME_USER_DONE: 'ACME_USER', // the onboarding of PUSER
  ACME_USER_BY_ADMIN: 'ACME_USER', // admin-started, Acme chosen by the admin, waiting for the details
  OTHER_USER_WAIT: 'OTHER_USER', // admin-started for the other organisation, waiting for the details
  OTHER_USER_FAIL: 'OTHER_USER',
  UNASSIGNED_USER_WAIT: 'UNASSIGNED_USER', // admin-started, waiting for its organisation
  NORTH_BUDGET_WAIT: 'NORTH_BUDGET', // waiting for finance_review
  NORTH_BUDGET_FAIL: 'NORTH_BUDGET', // rejected, then notify_business_unit failed
  MARKETING_BUDGET_WAIT: 'MARKETING_BUDGET',
  MARKETING_BUDGET_FAIL: 'MARKETING_BUDGET',
  ACME_OFFBOARD_WAIT: 'ACME_OFFBOARD', // partner-admin-started, waiting for its confirmation
  OTHER_OFFBOARD_WAIT: 'OTHER_OFFBOARD', // admin-started, waiting for its confirmation
  PARTNER_OFFBOARD_WAIT: 'PARTNER_OFFBOARD', // admin-started for a throwaway organisation, waiting for its confirmation
} as const satisfies Record<string, Kind>;
type Target = keyof typeof TARGETS;
const TARGET_NAMES = Object.keys(TARGETS) as Target[];
/** A target, or an id naming no execution: a random UUID, or not a UUID at all. */
type Ref = Target | 'MISSING' | 'MALFORMED';
const REFS: Ref[] = [...TARGET_NAMES, 'MISSING', 'MALFORMED'];
const MISSING_ID = randomUUID();

const TARGET_STATUS: Record<Target, string> = Object.fromEntries(
  TARGET_NAMES.map((t) => [t, t.endsWith('_WAIT') || t === 'ACME_USER_BY_ADMIN' ? 'AWAITING_INPUT' : t.endsWith('_FAIL') ? 'FAILED' : 'COMPLETED']),
) as Record<Target, string>;

function sees(actor: Actor, ref: Ref): boolean {
  if (ref === 'MISSING' || ref === 'MALFORMED') return false;
  return SEES[TARGETS[ref]][ACTOR_NAMES.indexOf(actor)];
}

/**
 * The same rules as SQL over `workflow_execution` (alias x) or `workflow_event` (alias e): both carry
 * definition_key, organization_id and business_unit_id. On events, the fields are those the execution had
 * when the event happened, which is what a live subscriber is judged on, and so what a replay must match.
 * $1 is the caller's email.
 */
const RULES: Record<Exclude<Actor, 'ANON'>, (t: string) => string> = {
  ADMIN: () => 'TRUE',
  ANALYST: (t) => `${t}.definition_key = 'budget_submission'`,
  LEAD: (t) =>
    `${t}.definition_key = 'budget_submission' AND ${t}.business_unit_id IN
       (SELECT m.business_unit_id FROM user_business_unit m JOIN app_user u ON u.id = m.user_id WHERE u.email = $1)`,
  VIEWER: () => 'FALSE',
  PARTNER: (t) => `${t}.definition_key IN ('new_partner_user', 'offboard_partner_user') AND ${t}.organization_id = (SELECT organization_id FROM app_user WHERE email = $1)`,
  PUSER: () => 'FALSE',
};
const rule = (actor: Actor, table: string) => `($1::text IS NOT NULL AND (${RULES[actor as Exclude<Actor, 'ANON'>](table)}))`;

// ---------------------------------------------------------------------------------------------------------
// Outcomes

const OK = 'OK' as const; // the mutation took effect
const HIDDEN = 'HIDDEN' as const; // NOT_FOUND, word for word what a missing execution gets
const NF = 'NOT_FOUND' as const; // NOT_FOUND of something the caller may see (a step), or of a missing execution
const FB = 'FORBIDDEN' as const;
const CF = 'CONFLICT' as const;
const BAD = 'BAD_USER_INPUT' as const;
const UN = 'UNAUTHENTICATED' as const;
type Outcome = typeof OK | typeof HIDDEN | typeof NF | typeof FB | typeof CF | typeof BAD | typeof UN;

// ---------------------------------------------------------------------------------------------------------
// Operations

const STEPS_SELECTION = 'steps { key kind status attempts input output }';
const EXECUTION_SELECTION = `id definitionKey status organization { id name } ${STEPS_SELECTION}`;
const Q = {
  definitions: `{ workflowDefinitions { key name steps { key name kind } } }`,
  start: `mutation($key: String!, $input: JSON) { startWorkflow(definitionKey: $key, input: $input) { ${EXECUTION_SELECTION} } }`,
  list: `query($status: String, $key: String, $first: Int, $after: String) {
    workflowExecutions(status: $status, definitionKey: $key, first: $first, after: $after) {
      edges { cursor node { id definitionKey status organization { id } } } pageInfo { hasNextPage endCursor }
    }
  }`,
  one: `query($id: ID!) { workflowExecution(id: $id) { ${EXECUTION_SELECTION} canDrive } }`,
  input: `mutation($id: ID!, $step: String!, $input: JSON!) { submitStepInput(executionId: $id, stepKey: $step, input: $input) { ${EXECUTION_SELECTION} } }`,
  retry: `mutation($id: ID!, $step: String!) { retryStep(executionId: $id, stepKey: $step) { ${EXECUTION_SELECTION} } }`,
  submitBudget: `mutation($plan: ID!, $unit: String!) { submitBudget(planId: $plan, businessUnitCode: $unit) { status execution { id } } }`,
  submissions: `query($plan: ID!) { budgetSubmissions(planId: $plan) { businessUnit { code } status execution { id } } }`,
  events: `subscription($execution: ID, $after: String) {
    workflowEvents(executionId: $execution, after: $after) { cursor executionId stepKey status execution { id status } }
  }`,
  submissionChanged: `subscription($plan: ID!, $unit: String) {
    submissionStatusChanged(planId: $plan, businessUnitCode: $unit) { businessUnit { code } status execution { id definitionKey ${STEPS_SELECTION} } }
  }`,
};

/** "From the very beginning": the cursor before the first event. */
const START = encodeCursor(EVENT_CURSOR, '0');
const eventId = (cursor: string) => BigInt(/^workflow_event:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())![1]);

/** The definitions, as the contract lists them. */
const DEFINITIONS = [
  {
    key: 'new_partner',
    steps: ['input_studio_companies:MANUAL', 'trigger_infrabot', 'clone_metabase_collection', 'create_metabase_group',
      'grant_metabase_db_access', 'create_teams_channel', 'create_slack_group', 'lms_setup'],
  },
  {
    key: 'new_partner_user',
    steps: ['select_organization:MANUAL', 'input_user_details:MANUAL', 'add_user_to_studio_companies', 'add_user_to_metabase_group',
      'add_user_to_teams_channel', 'add_user_to_slack_group', 'create_studio_user_company', 'send_studio_invite', 'share_documentation'],
  },
  {
    key: 'budget_submission',
    steps: ['validate_budget', 'lock_budget', 'finance_review:MANUAL', 'publish_to_powerbi', 'notify_business_unit'],
  },
  {
    key: 'offboard_partner_user',
    steps: ['confirm_offboarding:MANUAL', 'remove_from_studio_companies', 'remove_from_metabase_group', 'remove_from_teams_channel',
      'remove_from_slack_group', 'revoke_documentation', 'deactivate_in_plansync'],
  },
  {
    key: 'offboard_partner',
    steps: ['confirm_partner_offboarding:MANUAL', 'remove_everyone_from_studio', 'remove_everyone_from_metabase', 'remove_everyone_from_teams',
      'remove_everyone_from_slack', 'revoke_everyones_documentation', 'deactivate_everyone', 'archive_studio_companies', 'close_metabase',
      'archive_teams_channel', 'disable_slack_group', 'close_lms_tenant', 'deprovision_infrabot', 'mark_organization_offboarded'],
  },
].map((d) => ({ key: d.key, steps: d.steps.map((s) => ({ key: s.split(':')[0], kind: s.split(':')[1] ?? 'AUTO' })) }));

/** Steps whose simulated integration fails every attempt until someone retries them: one per workflow kind. */
const FAILING_STEPS = { new_partner: 'lms_setup', new_partner_user: 'share_documentation', budget_submission: 'notify_business_unit' };

// ---------------------------------------------------------------------------------------------------------
// The world

interface World {
  server: TestServer;
  tokens: Record<Actor, string | null>;
  /** Tokens of people who only make fixtures: the other units' leaders. */
  leaders: Record<string, string>;
  ids: Record<Target, string>;
  planId: string;
  acme: string;
  /** The organisation onboarded with new_partner in setup. */
  other: string;
  userIds: Record<string, string>;
  /** People to offboard when starting: of Acme, one per caller who may; and one of the other organisation. */
  leavers: Partial<Record<Actor, string>>;
  otherLeaver: string;
  /** An organisation nobody is being added to, for offboard_partner to name. */
  throwaway: string;
}

let w: World;
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;
const COMPANIES = { companies: [{ name: 'HQ', environment: 'prod' }] };

async function ok<T = any>(pending: Promise<GraphQLResponse<T>>): Promise<T> {
  const res = await pending;
  if (res.errors || !res.data) throw new Error(JSON.stringify(res.errors));
  return res.data;
}

const sql = <T = any>(text: string, params?: unknown[]) => w.server.sql<T>(text, params);

async function statusOf(id: string): Promise<string | undefined> {
  const [row] = await sql<{ status: string }>('SELECT status FROM workflow_execution WHERE id = $1', [id]);
  return row?.status;
}

async function until(id: string, status: string): Promise<void> {
  await eventually(async () => (await statusOf(id)) === status, `execution ${id} to be ${status}`, 30_000);
}

/** Waits until no execution is running: nothing stored changes by itself any more. */
async function settle(): Promise<void> {
  await eventually(
    async () => (await sql(`SELECT count(*)::int AS n FROM workflow_execution WHERE status = 'RUNNING'`))[0].n === 0,
    'every execution to settle',
    30_000,
  );
}

const id = (ref: Ref) => (ref === 'MISSING' ? MISSING_ID : ref === 'MALFORMED' ? 'not-a-uuid' : w.ids[ref]);

// Fixtures: executions in a known state. Each waits for the state it promises.

async function newPartner(): Promise<string> {
  const data = await ok(w.server.gql(Q.start, { key: 'new_partner', input: { organizationName: unique('Partner Org') } }, w.tokens.ADMIN));
  await until(data.startWorkflow.id, 'AWAITING_INPUT');
  return data.startWorkflow.id;
}

async function newPartnerFailed(): Promise<string> {
  const execution = await newPartner();
  await ok(w.server.gql(Q.input, { id: execution, step: 'input_studio_companies', input: COMPANIES }, w.tokens.ADMIN));
  await until(execution, 'FAILED');
  return execution;
}

/** A new_partner_user started by `token`, its organisation chosen when given, waiting for input. */
async function newPartnerUser(token: string, organizationId?: string): Promise<string> {
  const data = await ok(w.server.gql(Q.start, { key: 'new_partner_user', input: {} }, token));
  const execution = data.startWorkflow.id;
  if (organizationId) {
    await ok(w.server.gql(Q.input, { id: execution, step: 'select_organization', input: { organizationId } }, token));
  }
  await until(execution, 'AWAITING_INPUT');
  return execution;
}

async function newPartnerUserFailed(token: string, organizationId?: string, email = `${unique('person')}@partner.example`): Promise<string> {
  const execution = await newPartnerUser(token, organizationId);
  await ok(w.server.gql(Q.input, { id: execution, step: 'input_user_details', input: { email, displayName: 'Some Person' } }, token));
  await until(execution, 'FAILED');
  return execution;
}

/** A person of an organisation (created by the admin), for an offboarding to name; their id. */
async function leaver(organizationId: string): Promise<string> {
  const data = await ok(
    w.server.gql(
      `mutation($e: String!, $o: ID!) { createUser(input: { email: $e, displayName: "Leaving Soon", role: PARTNER_USER, organizationId: $o }) { user { id } } }`,
      { e: `${unique('leaver')}@partner.example`, o: organizationId },
      w.tokens.ADMIN,
    ),
  );
  return data.createUser.user.id;
}

/** An offboard_partner_user of a new person of the organisation, started by `token`, waiting for its confirmation. */
async function offboarding(token: string, organizationId: string): Promise<string> {
  const data = await ok(w.server.gql(Q.start, { key: 'offboard_partner_user', input: { userId: await leaver(organizationId) } }, token));
  await until(data.startWorkflow.id, 'AWAITING_INPUT');
  return data.startWorkflow.id;
}

/** An offboard_partner of a throwaway organisation (its new_partner failed after making it), waiting for its confirmation. */
async function partnerOffboarding(): Promise<string> {
  const [{ organization_id }] = await sql('SELECT organization_id FROM workflow_execution WHERE id = $1', [await newPartnerFailed()]);
  const data = await ok(w.server.gql(Q.start, { key: 'offboard_partner', input: { organizationId: organization_id } }, w.tokens.ADMIN));
  await until(data.startWorkflow.id, 'AWAITING_INPUT');
  return data.startWorkflow.id;
}

async function submission(unit: string): Promise<{ status: string; execution_id: string | null }> {
  const [row] = await sql(
    `SELECT s.status, s.execution_id FROM budget_submission s JOIN business_unit u ON u.id = s.business_unit_id WHERE u.code = $1 AND s.plan_id = $2`,
    [unit, w.planId],
  );
  return row;
}

/** Rejects a unit's open submission (as an admin) and waits for its workflow to stop. */
async function rejectOpen(unit: string): Promise<void> {
  const { status, execution_id } = await submission(unit);
  if (status !== 'SUBMITTED') return;
  await until(execution_id!, 'AWAITING_INPUT');
  await ok(w.server.gql(Q.input, { id: execution_id, step: 'finance_review', input: { decision: 'REJECT' } }, w.tokens.ADMIN));
  await until(execution_id!, 'FAILED');
}

/** A fresh budget_submission of the unit, submitted by its leader, waiting for finance_review. */
async function openSubmission(unit: string): Promise<string> {
  await rejectOpen(unit);
  const data = await ok(w.server.gql(Q.submitBudget, { plan: w.planId, unit }, w.leaders[unit]));
  await until(data.submitBudget.execution.id, 'AWAITING_INPUT');
  return data.submitBudget.execution.id;
}

async function failedSubmission(unit: string): Promise<string> {
  const execution = await openSubmission(unit);
  await ok(w.server.gql(Q.input, { id: execution, step: 'finance_review', input: { decision: 'REJECT', comment: 'no' } }, w.tokens.ANALYST));
  await until(execution, 'FAILED');
  return execution;
}

/** One status change of a unit's submission: submitted if it is open for edits, rejected if it is submitted. */
async function toggle(unit: string): Promise<void> {
  if ((await submission(unit)).status === 'SUBMITTED') await rejectOpen(unit);
  else await openSubmission(unit);
}

/** How to make another execution like each target, for the allowed cases: each acts on one of its own. */
const FRESH: Record<Target, () => Promise<string>> = {
  NP_WAIT: newPartner,
  NP_FAIL: newPartnerFailed,
  NP_DONE: () => Promise.reject(new Error('no fresh completed new_partner needed')),
  ACME_USER_WAIT: () => newPartnerUser(w.tokens.PARTNER!),
  ACME_USER_FAIL: () => newPartnerUserFailed(w.tokens.PARTNER!),
  ACME_USER_DONE: () => Promise.reject(new Error('no fresh completed new_partner_user needed')),
  ACME_USER_BY_ADMIN: () => newPartnerUser(w.tokens.ADMIN!, w.acme),
  OTHER_USER_WAIT: () => newPartnerUser(w.tokens.ADMIN!, w.other),
  OTHER_USER_FAIL: () => newPartnerUserFailed(w.tokens.ADMIN!, w.other),
  UNASSIGNED_USER_WAIT: () => newPartnerUser(w.tokens.ADMIN!),
  NORTH_BUDGET_WAIT: () => openSubmission('SALES_NORTH'),
  NORTH_BUDGET_FAIL: () => failedSubmission('SALES_NORTH'),
  MARKETING_BUDGET_WAIT: () => openSubmission('MARKETING'),
  MARKETING_BUDGET_FAIL: () => failedSubmission('MARKETING'),
  ACME_OFFBOARD_WAIT: () => offboarding(w.tokens.PARTNER!, w.acme),
  OTHER_OFFBOARD_WAIT: () => offboarding(w.tokens.ADMIN!, w.other),
  PARTNER_OFFBOARD_WAIT: partnerOffboarding,
};

async function openWorld(): Promise<void> {
  const server = await startTestServer({
    SIMULATED_STEP_MS: '5',
    SIMULATE_FAILURE_STEPS: Object.values(FAILING_STEPS).join(','),
    // The matrix is about who may do what, not about when retries come: without the 1 s, 2 s backoff every
    // failing fixture and every step input that runs into a failing step settles at once (the file took
    // 170 s, nearly all of it waiting). The default backoff is proven in stepRetries.test.ts.
    WORKFLOW_RETRY_DELAY_SECONDS: '0',
  });
  w = { server } as World;
  w.tokens = { ANON: null } as Record<Actor, string | null>;
  for (const actor of SIGNED_IN) if (actor !== 'PUSER') w.tokens[actor] = await server.login(ACTORS[actor]!);
  w.leaders = { SALES_NORTH: w.tokens.LEAD! };
  for (const [unit, slug] of [['MARKETING', 'marketing'], ['SALES_SOUTH', 'sales-south'], ['OPERATIONS', 'operations']]) {
    w.leaders[unit] = await server.login(`lead.${slug}@example.com`);
  }
  [{ id: w.planId }] = await sql('SELECT id FROM budget_plan');
  [{ id: w.acme }] = await sql(`SELECT id FROM organization WHERE name = 'Acme Partners'`);
  const ids = {} as Record<Target, string>;

  // The partner user: onboarded by the partner admin (its last step fails once and is retried), then given
  // the demo password (partner users have none), so that they can sign in.
  ids.ACME_USER_DONE = await newPartnerUserFailed(w.tokens.PARTNER!, undefined, ACTORS.PUSER);
  await ok(server.gql(Q.retry, { id: ids.ACME_USER_DONE, step: FAILING_STEPS.new_partner_user }, w.tokens.PARTNER));
  await until(ids.ACME_USER_DONE, 'COMPLETED');
  await sql(`UPDATE app_user SET password_hash = (SELECT password_hash FROM app_user WHERE email = $1) WHERE email = $2`, [ACTORS.ADMIN, ACTORS.PUSER]);
  w.tokens.PUSER = await server.login(ACTORS.PUSER);

  // Another organisation, onboarded by an admin.
  ids.NP_DONE = await newPartnerFailed();
  await ok(server.gql(Q.retry, { id: ids.NP_DONE, step: FAILING_STEPS.new_partner }, w.tokens.ADMIN));
  await until(ids.NP_DONE, 'COMPLETED');
  [{ organization_id: w.other }] = await sql('SELECT organization_id FROM workflow_execution WHERE id = $1', [ids.NP_DONE]);

  ids.NP_WAIT = await newPartner();
  ids.NP_FAIL = await newPartnerFailed();
  ids.ACME_USER_WAIT = await newPartnerUser(w.tokens.PARTNER!);
  ids.ACME_USER_FAIL = await newPartnerUserFailed(w.tokens.PARTNER!);
  ids.ACME_USER_BY_ADMIN = await newPartnerUser(w.tokens.ADMIN!, w.acme);
  ids.OTHER_USER_WAIT = await newPartnerUser(w.tokens.ADMIN!, w.other);
  ids.OTHER_USER_FAIL = await newPartnerUserFailed(w.tokens.ADMIN!, w.other);
  ids.UNASSIGNED_USER_WAIT = await newPartnerUser(w.tokens.ADMIN!);
  ids.NORTH_BUDGET_FAIL = await failedSubmission('SALES_NORTH');
  ids.NORTH_BUDGET_WAIT = await openSubmission('SALES_NORTH');
  ids.MARKETING_BUDGET_FAIL = await failedSubmission('MARKETING');
  ids.MARKETING_BUDGET_WAIT = await openSubmission('MARKETING');
  ids.ACME_OFFBOARD_WAIT = await offboarding(w.tokens.PARTNER!, w.acme);
  ids.OTHER_OFFBOARD_WAIT = await offboarding(w.tokens.ADMIN!, w.other);
  ids.PARTNER_OFFBOARD_WAIT = await partnerOffboarding();
  w.leavers = { ADMIN: await leaver(w.acme), PARTNER: await leaver(w.acme) };
  w.otherLeaver = await leaver(w.other);
  [{ organization_id: w.throwaway }] = await sql('SELECT organization_id FROM workflow_execution WHERE id = $1', [await newPartnerFailed()]);
  w.ids = ids;
  w.userIds = Object.fromEntries((await sql<{ id: string; email: string }>('SELECT id, email FROM app_user')).map((u) => [u.email, u.id]));
  await settle();
}

// ---------------------------------------------------------------------------------------------------------
// Checks

function codeOf(res: GraphQLResponse): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}

/** What a response says, minus where in the document it was said. */
function answer(res: GraphQLResponse) {
  return { status: res.status, data: res.data ?? null, errors: res.errors?.map((e) => ({ message: e.message, extensions: e.extensions })) };
}

function expectError(res: GraphQLResponse, code: string) {
  expect(res.errors, JSON.stringify(res.data)).toBeDefined();
  expect(codeOf(res), JSON.stringify(res.errors)).toBe(code);
  expect(res.data ?? null).toBeNull();
}

function expectNoErrors(res: GraphQLResponse) {
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
}

const sorted = <T>(values: Iterable<T>): T[] => [...values].sort();

/** Everything a refused workflow operation must leave as it was, as one comparable value. */
async function storedState() {
  const digest = (table: string) => `(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM ${table} t)`;
  const [row] = await sql(
    `SELECT ${digest('workflow_execution')} AS executions, ${digest('step_execution')} AS steps,
       (SELECT count(*) || ':' || coalesce(max(id), 0) FROM workflow_event) AS events,
       ${digest('organization')} AS organizations, ${digest('app_user')} AS users, ${digest('budget_submission')} AS submissions,
       ${digest('studio_company')} AS companies, ${digest('access_grant')} AS grants, ${digest('system_group')} AS groups`,
  );
  return row;
}

/** Everything stored about the executions other than `except`: an allowed operation must not touch them. */
async function otherExecutions(except: string) {
  const [row] = await sql(
    `SELECT (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM workflow_execution t WHERE t.id <> $1) AS executions,
            (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM step_execution t WHERE t.execution_id <> $1) AS steps,
            (SELECT count(*)::int FROM workflow_event WHERE execution_id <> $1) AS events`,
    [except],
  );
  return row;
}

/** One execution as stored, readable in a failure message. */
async function executionState(executionId: string) {
  const [row] = await sql(
    `SELECT x.status, x.organization_id, x.updated_at,
       (SELECT count(*)::int FROM workflow_event e WHERE e.execution_id = x.id) AS events,
       (SELECT json_agg(json_build_object('key', s.key, 'status', s.status, 'attempts', s.attempts, 'input', s.input,
          'output', s.output, 'error', s.error, 'retried', s.retried_by_admin) ORDER BY s.position)
        FROM step_execution s WHERE s.execution_id = x.id) AS steps
     FROM workflow_execution x WHERE x.id = $1`,
    [executionId],
  );
  return row;
}

/** The ids of the executions `actor` may see (and that match `extra`), newest first, from SQL. */
async function visibleExecutions(actor: Actor, extra = 'TRUE', params: unknown[] = []): Promise<string[]> {
  const rows = await sql<{ id: string }>(
    `SELECT x.id FROM workflow_execution x WHERE ${rule(actor, 'x')} AND ${extra} ORDER BY x.created_at DESC, x.id DESC`,
    [ACTORS[actor], ...params],
  );
  return rows.map((r) => r.id);
}

// ---------------------------------------------------------------------------------------------------------
// Subscriptions: the stock graphql-ws client

class Subscription {
  readonly events: any[] = [];
  errors: any[] | null = null;
  closeCode: number | null = null;
  private readonly client: Client;
  private readonly stop: () => void;

  constructor(token: string | null, query: string, variables: Record<string, unknown>) {
    this.client = createClient({
      url: w.server.url.replace(/^http/, 'ws') + '/graphql',
      webSocketImpl: WebSocket,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
    });
    this.stop = this.client.subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors) this.errors = [...result.errors];
          else if (result.data) this.events.push(Object.values(result.data)[0]);
        },
        error: (err) => {
          if (Array.isArray(err)) this.errors = err;
          else if (typeof (err as { code?: unknown })?.code === 'number') this.closeCode = (err as { code: number }).code;
          else this.errors = [err];
        },
        complete: () => undefined,
      },
    );
  }

  /**
   * The refusal's code: an error's, or UNAUTHENTICATED for a socket closed with CloseCode.Unauthorized; null
   * while accepted.
   */
  get refusal(): string | null {
    if (this.closeCode === CloseCode.Unauthorized) return UN;
    if (this.closeCode !== null) return `closed ${this.closeCode}`;
    if (this.errors) return this.errors[0]?.extensions?.code ?? `uncoded ${JSON.stringify(this.errors)}`;
    return null;
  }

  async refused(): Promise<string> {
    return (await eventually(() => this.refusal, 'the subscription to be refused'))!;
  }

  async close(): Promise<void> {
    this.stop();
    await this.client.dispose();
  }
}

const open: Subscription[] = [];
function subscribe(actor: Actor, query: string, variables: Record<string, unknown>): Subscription {
  const s = new Subscription(w.tokens[actor], query, variables);
  open.push(s);
  return s;
}

// =========================================================================================================

beforeAll(openWorld, 300_000);
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()));
  await w?.server.stop();
});

describe('the world the matrix runs in', () => {
  it('has every target in the state its name says', async () => {
    for (const target of TARGET_NAMES) expect(await statusOf(w.ids[target]), target).toBe(TARGET_STATUS[target]);
    const failed = await sql(`SELECT s.key FROM step_execution s JOIN workflow_execution x ON x.id = s.execution_id WHERE x.id = ANY($1) AND s.status = 'FAILED' ORDER BY s.key`, [
      [w.ids.NP_FAIL, w.ids.ACME_USER_FAIL, w.ids.OTHER_USER_FAIL, w.ids.NORTH_BUDGET_FAIL, w.ids.MARKETING_BUDGET_FAIL],
    ]);
    expect(failed.map((r) => r.key)).toEqual(['lms_setup', 'notify_business_unit', 'notify_business_unit', 'share_documentation', 'share_documentation']);
    const [user] = await sql(`SELECT u.role, o.name FROM app_user u JOIN organization o ON o.id = u.organization_id WHERE u.email = $1`, [ACTORS.PUSER]);
    expect(user).toEqual({ role: 'PARTNER_USER', name: 'Acme Partners' });
  });

  it('encodes the same rules in the SEES table and in SQL', async () => {
    for (const actor of SIGNED_IN) {
      const visible = new Set(await visibleExecutions(actor));
      for (const target of TARGET_NAMES) expect(visible.has(w.ids[target]), `${actor} sees ${target}`).toBe(sees(actor, target));
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Reads

describe('workflowDefinitions', () => {
  it.each(ACTOR_NAMES)('as %s', async (actor) => {
    const res = await w.server.gql(Q.definitions, {}, w.tokens[actor]);
    if (actor === 'ANON') return expectError(res, UN);
    expectNoErrors(res);
    expect(res.data.workflowDefinitions.map((d: any) => ({ key: d.key, steps: d.steps.map((s: any) => ({ key: s.key, kind: s.kind })) }))).toEqual(DEFINITIONS);
  });
});

const STATUSES = ['RUNNING', 'AWAITING_INPUT', 'FAILED', 'COMPLETED', 'CANCELLED'];
const LIST_FILTERS: { label: string; status?: string; key?: string; invalid?: boolean }[] = [
  { label: 'no filter' },
  ...STATUSES.map((status) => ({ label: `status ${status}`, status })),
  ...DEFINITIONS.map((d) => ({ label: `definitionKey ${d.key}`, key: d.key })),
  { label: 'status FAILED and definitionKey budget_submission', status: 'FAILED', key: 'budget_submission' },
  { label: 'an unknown status', status: 'DONE', invalid: true },
  { label: 'an unknown definitionKey', key: 'no_such_workflow', invalid: true },
];

describe('workflowExecutions: exactly the executions each caller may see', () => {
  beforeAll(settle);
  const cases = LIST_FILTERS.flatMap((filter) => ACTOR_NAMES.map((actor) => ({ ...filter, actor })));

  it.each(cases)('$label as $actor', async ({ actor, status, key, invalid }) => {
    // Small pages: a page boundary must not let anything through either.
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: GraphQLResponse = await w.server.gql(Q.list, { status, key, first: 3, after }, w.tokens[actor]);
      if (actor === 'ANON') return expectError(res, UN);
      if (invalid) return expectError(res, BAD);
      expectNoErrors(res);
      const page = res.data.workflowExecutions;
      for (const edge of page.edges) {
        if (status) expect(edge.node.status).toBe(status);
        if (key) expect(edge.node.definitionKey).toBe(key);
        ids.push(edge.node.id);
      }
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    const expected = await visibleExecutions(
      actor,
      '($2::text IS NULL OR x.status::text = $2) AND ($3::text IS NULL OR x.definition_key = $3)',
      [status ?? null, key ?? null],
    );
    expect(ids).toEqual(expected);
  });

  it('covers every filter for every caller, and the lists are not trivially empty', async () => {
    expect(cases).toHaveLength(LIST_FILTERS.length * ACTOR_NAMES.length);
    for (const actor of ['ADMIN', 'ANALYST', 'LEAD', 'PARTNER'] as const) expect((await visibleExecutions(actor)).length).toBeGreaterThan(1);
  });
});

describe('workflowExecution(id): the execution when visible, null when hidden, as when missing', () => {
  const cases = REFS.flatMap((ref) => ACTOR_NAMES.map((actor) => ({ ref, actor, visible: sees(actor, ref) })));

  it.each(cases)('$ref as $actor (visible: $visible)', async ({ ref, actor, visible }) => {
    const res = await w.server.gql(Q.one, { id: id(ref) }, w.tokens[actor]);
    if (actor === 'ANON') {
      // A nullable field: its error leaves it null in `data`, and nothing else.
      expect(codeOf(res), JSON.stringify(res.errors)).toBe(UN);
      return expect(res.data).toEqual({ workflowExecution: null });
    }
    expectNoErrors(res);
    if (!visible) return expect(res.data).toEqual({ workflowExecution: null });
    const execution = res.data.workflowExecution;
    const [row] = await sql(
      `SELECT x.definition_key, x.status, x.organization_id, o.name FROM workflow_execution x LEFT JOIN organization o ON o.id = x.organization_id WHERE x.id = $1`,
      [id(ref)],
    );
    expect(execution).toMatchObject({
      id: id(ref),
      definitionKey: row.definition_key,
      status: row.status,
      organization: row.organization_id ? { id: row.organization_id, name: row.name } : null,
      // "sees and drives": whoever sees an execution may drive it (its manual steps may still restrict input).
      canDrive: true,
    });
    const steps = await sql('SELECT key, status, attempts FROM step_execution WHERE execution_id = $1 ORDER BY position', [id(ref)]);
    expect(execution.steps.map((s: any) => ({ key: s.key, status: s.status, attempts: s.attempts }))).toEqual(steps);
  });
});

describe('budgetSubmissions: a submission shows its execution only to those who may see it', () => {
  it.each(ACTOR_NAMES)('as %s', async (actor) => {
    const res = await w.server.gql(Q.submissions, { plan: w.planId }, w.tokens[actor]);
    if (actor === 'ANON') return expectError(res, UN);
    if (actor === 'PARTNER' || actor === 'PUSER') {
      // No budget data at all for partners: an empty list, as securityMatrix.test.ts has it.
      expectNoErrors(res);
      return expect(res.data.budgetSubmissions).toEqual([]);
    }
    expectNoErrors(res);
    const visible = new Set(await visibleExecutions(actor));
    const withExecution = res.data.budgetSubmissions.filter((s: any) => ['SALES_NORTH', 'MARKETING'].includes(s.businessUnit.code));
    expect(withExecution.length).toBeGreaterThan(0);
    for (const s of withExecution) {
      const { execution_id } = await submission(s.businessUnit.code);
      expect(execution_id).not.toBeNull();
      expect(s.execution, `${actor}: ${s.businessUnit.code}`).toEqual(visible.has(execution_id!) ? { id: execution_id } : null);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// workflowEvents of one execution

describe('workflowEvents(executionId): the replay when visible, NOT_FOUND alike when hidden or missing', () => {
  beforeAll(settle);
  /** What a caller gets for a missing execution, per variant: the reference a hidden one is compared with. */
  const missing = new Map<string, string>();
  const refusalOf = async (actor: Actor, ref: Ref, after: string | null) => {
    const s = subscribe(actor, Q.events, { execution: id(ref), ...(after ? { after } : {}) });
    const code = await s.refused();
    await s.close();
    return { code, errors: JSON.stringify(s.errors), events: s.events };
  };

  // Live only, a visible execution has nothing to show while nothing happens in it: those cells are left to
  // the live cases below, which follow executions as they run.
  const cases = [START, null]
    .flatMap((after) =>
      REFS.flatMap((ref) => ACTOR_NAMES.map((actor) => ({ ref, actor, after, variant: after ? 'after: start' : 'live only', visible: sees(actor, ref) }))),
    )
    .filter((c) => c.after !== null || !c.visible);

  it.each(cases)('$ref as $actor, $variant (visible: $visible)', async ({ ref, actor, after, variant, visible }) => {
    if (actor === 'ANON') return expect((await refusalOf(actor, ref, after)).code).toBe(UN);
    if (!visible) {
      const got = await refusalOf(actor, ref, after);
      expect(got.code).toBe(NF);
      expect(got.events).toEqual([]);
      const key = `${actor}/${variant}`;
      if (!missing.has(key)) missing.set(key, (await refusalOf(actor, 'MISSING', after)).errors);
      expect(got.errors).toBe(missing.get(key));
      return;
    }
    const expected = await sql<{ id: string }>(
      `SELECT e.id::text FROM workflow_event e WHERE e.execution_id = $2 AND ${rule(actor, 'e')} ORDER BY e.id`,
      [ACTORS[actor], id(ref)],
    );
    expect(expected.length).toBeGreaterThan(0);
    const s = subscribe(actor, Q.events, { execution: id(ref), after });
    await eventually(() => s.events.length >= expected.length || s.refusal, 'the replay');
    expect(s.refusal).toBeNull();
    expect(s.events.map((e) => eventId(e.cursor).toString())).toEqual(expected.map((e) => e.id));
    expect(new Set(s.events.map((e) => e.executionId))).toEqual(new Set([id(ref)]));
    await s.close();
  });

  it.each(ACTOR_NAMES)('a cursor that is not one as %s: BAD_USER_INPUT', async (actor) => {
    const s = subscribe(actor, Q.events, { after: encodeCursor('workflow_execution', '0') });
    expect(await s.refused()).toBe(actor === 'ANON' ? UN : BAD);
    await s.close();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Starting workflows

/** The start cases: who may start what. budget_submission starts from submitBudget only, for everyone. */
// prettier-ignore
const START_MATRIX: Record<string, { key: string; input: (actor: Actor) => unknown; outcomes: Outcome[]; organization?: () => string }> = {
  //                                                                                              ADMIN ANALYST LEAD VIEWER PARTNER PUSER ANON
  'new_partner':                   { key: 'new_partner',       input: () => ({ organizationName: unique('Started Org') }), outcomes: [OK, FB, FB, FB, FB, FB, UN] },
  'new_partner of an existing org':{ key: 'new_partner',       input: () => ({ organizationName: 'Acme Partners' }),       outcomes: [BAD, FB, FB, FB, FB, FB, UN] },
  'new_partner_user':              { key: 'new_partner_user',  input: () => ({}),                                          outcomes: [OK, FB, FB, FB, OK, FB, UN] },
  'new_partner_user naming an organisation': {
                                     key: 'new_partner_user',  input: () => ({ organizationId: w.other }),                 outcomes: [BAD, FB, FB, FB, BAD, FB, UN] },
  'offboard_partner_user of an Acme person': {
                                     key: 'offboard_partner_user', input: (a) => ({ userId: w.leavers[a] ?? w.leavers.ADMIN }), outcomes: [OK, FB, FB, FB, OK, FB, UN],
                                     organization: () => w.acme },
  "offboard_partner_user of another organisation's person": {
                                     key: 'offboard_partner_user', input: () => ({ userId: w.otherLeaver }),              outcomes: [OK, FB, FB, FB, FB, FB, UN],
                                     organization: () => w.other },
  'offboard_partner_user naming nobody': {
                                     key: 'offboard_partner_user', input: () => ({ userId: MISSING_ID }),                 outcomes: [BAD, FB, FB, FB, FB, FB, UN] },
  'offboard_partner':              { key: 'offboard_partner',  input: () => ({ organizationId: w.throwaway }),             outcomes: [OK, FB, FB, FB, FB, FB, UN],
                                     organization: () => w.throwaway },
  'budget_submission':             { key: 'budget_submission', input: () => ({ planId: w.planId, businessUnitCode: 'SALES_NORTH' }), outcomes: [BAD, BAD, BAD, BAD, BAD, BAD, UN] },
  'an unknown workflow':           { key: 'no_such_workflow',  input: () => ({}),                                          outcomes: [BAD, BAD, BAD, BAD, BAD, BAD, UN] },
};

describe('startWorkflow', () => {
  const cases = Object.entries(START_MATRIX).flatMap(([label, row]) =>
    ACTOR_NAMES.map((actor) => ({ label, actor, row, outcome: row.outcomes[ACTOR_NAMES.indexOf(actor)] })),
  );

  it.each(cases)('$label as $actor: $outcome', async ({ actor, row, outcome }) => {
    await settle();
    const before = await storedState();
    const res = await w.server.gql(Q.start, { key: row.key, input: row.input(actor) }, w.tokens[actor]);
    if (outcome !== OK) {
      expectError(res, outcome);
      expect(await storedState()).toEqual(before);
      return;
    }
    expectNoErrors(res);
    const execution = res.data.startWorkflow;
    const [stored] = await sql('SELECT definition_key, requested_by_id, organization_id FROM workflow_execution WHERE id = $1', [execution.id]);
    expect(stored.definition_key).toBe(row.key);
    expect(stored.requested_by_id).toBe(w.userIds[ACTORS[actor]!]);
    expect(execution).toMatchObject({ definitionKey: row.key, status: 'AWAITING_INPUT' });
    if (row.key === 'new_partner_user') {
      // A partner admin's is theirs at once; an admin's waits for its organisation.
      const mine = actor === 'PARTNER';
      expect(stored.organization_id).toBe(mine ? w.acme : null);
      expect(execution.organization).toEqual(mine ? { id: w.acme, name: 'Acme Partners' } : null);
      expect(execution.steps[0]).toMatchObject({ key: 'select_organization', status: mine ? 'SUCCEEDED' : 'AWAITING_INPUT', input: mine ? { organizationId: w.acme } : null });
      expect(execution.steps[1]).toMatchObject({ key: 'input_user_details', status: mine ? 'AWAITING_INPUT' : 'PENDING' });
    } else if (row.organization) {
      // An offboarding belongs to its organisation at once, and waits for its confirmation before anything else.
      expect(stored.organization_id).toBe(row.organization());
      expect(execution.steps[0]).toMatchObject({ key: row.key === 'offboard_partner' ? 'confirm_partner_offboarding' : 'confirm_offboarding', status: 'AWAITING_INPUT' });
      expect(execution.steps.slice(1).map((s: { status: string }) => s.status)).toEqual(execution.steps.slice(1).map(() => 'PENDING'));
    } else {
      expect(execution.steps[0]).toMatchObject({ key: 'input_studio_companies', status: 'AWAITING_INPUT' });
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Driving executions: submitStepInput and retryStep

interface MutationRow {
  target: Ref;
  step: string;
  /** submitStepInput's input; retryStep takes none. */
  input?: () => unknown;
  outcomes: Outcome[];
  /** For the OK cells: another execution in the same state, one per allowed caller (default FRESH[target]). */
  fresh?: (actor: Actor) => Promise<string>;
  /** For the OK cells of submitStepInput: what the input did, beyond the step itself. */
  effect?: (executionId: string, actor: Actor) => Promise<void>;
}

const person = () => ({ email: `${unique('new.person')}@partner.example`, displayName: 'New Person' });
const review = (decision: 'APPROVE' | 'REJECT') => () => ({ decision, comment: `${decision} by the matrix` });
const submissionIs = (status: string) => async (executionId: string) => {
  const [row] = await sql('SELECT status FROM budget_submission WHERE execution_id = $1', [executionId]);
  expect(row).toEqual({ status });
};

// prettier-ignore
const STEP_INPUT_MATRIX: Record<string, MutationRow> = {
  //                                                                                                                        ADMIN ANALYST LEAD    VIEWER  PARTNER PUSER   ANON
  'input_studio_companies of a new_partner':             { target: 'NP_WAIT', step: 'input_studio_companies', input: () => COMPANIES,
                                                           outcomes: [OK,     HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN] },
  'input_studio_companies, invalid':                     { target: 'NP_WAIT', step: 'input_studio_companies', input: () => ({ companies: [{ name: 'X', environment: 'staging' }] }),
                                                           outcomes: [BAD,    HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN] },
  'select_organization (Acme) of an unassigned new_partner_user': {
                                                           target: 'UNASSIGNED_USER_WAIT', step: 'select_organization', input: () => ({ organizationId: w.acme }),
                                                           outcomes: [OK,     HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN],
                                                           effect: async (x) => expect((await sql('SELECT organization_id FROM workflow_execution WHERE id = $1', [x]))[0].organization_id).toBe(w.acme) },
  'select_organization (other org) of an Acme new_partner_user': {
                                                           target: 'ACME_USER_WAIT', step: 'select_organization', input: () => ({ organizationId: w.other }),
                                                           outcomes: [CF,     HIDDEN, HIDDEN, HIDDEN, CF,     HIDDEN, UN] },
  'select_organization (other org) of an admin-started Acme new_partner_user': {
                                                           target: 'ACME_USER_BY_ADMIN', step: 'select_organization', input: () => ({ organizationId: w.other }),
                                                           outcomes: [CF,     HIDDEN, HIDDEN, HIDDEN, CF,     HIDDEN, UN] },
  'input_user_details of an Acme new_partner_user':      { target: 'ACME_USER_WAIT', step: 'input_user_details', input: person,
                                                           outcomes: [OK,     HIDDEN, HIDDEN, HIDDEN, OK,     HIDDEN, UN] },
  'input_user_details of an admin-started Acme new_partner_user': {
                                                           target: 'ACME_USER_BY_ADMIN', step: 'input_user_details', input: person,
                                                           outcomes: [OK,     HIDDEN, HIDDEN, HIDDEN, OK,     HIDDEN, UN] },
  "input_user_details of another organisation's new_partner_user": {
                                                           target: 'OTHER_USER_WAIT', step: 'input_user_details', input: person,
                                                           outcomes: [OK,     HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN] },
  'input_user_details before the organisation is chosen': { target: 'UNASSIGNED_USER_WAIT', step: 'input_user_details', input: person,
                                                           outcomes: [CF,     HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN] },
  'input_user_details of a failed Acme new_partner_user': { target: 'ACME_USER_FAIL', step: 'input_user_details', input: person,
                                                           outcomes: [CF,     HIDDEN, HIDDEN, HIDDEN, CF,     HIDDEN, UN] },
  'finance_review (REJECT) of SALES_NORTH':              { target: 'NORTH_BUDGET_WAIT', step: 'finance_review', input: review('REJECT'),
                                                           outcomes: [OK,     OK,     FB,     HIDDEN, HIDDEN, HIDDEN, UN], effect: submissionIs('REJECTED') },
  // Approving freezes a unit for good, so each allowed caller approves a unit of its own (both see every unit).
  'finance_review (APPROVE) of SALES_NORTH':             { target: 'NORTH_BUDGET_WAIT', step: 'finance_review', input: review('APPROVE'),
                                                           outcomes: [OK,     OK,     FB,     HIDDEN, HIDDEN, HIDDEN, UN], effect: submissionIs('APPROVED'),
                                                           fresh: (actor) => openSubmission(actor === 'ADMIN' ? 'OPERATIONS' : 'SALES_SOUTH') },
  'finance_review (REJECT) of MARKETING':                { target: 'MARKETING_BUDGET_WAIT', step: 'finance_review', input: review('REJECT'),
                                                           outcomes: [OK,     OK,     HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN], effect: submissionIs('REJECTED') },
  'finance_review, invalid decision':                    { target: 'NORTH_BUDGET_WAIT', step: 'finance_review', input: () => ({ decision: 'MAYBE' }),
                                                           outcomes: [BAD,    BAD,    FB,     HIDDEN, HIDDEN, HIDDEN, UN] },
  'finance_review of a failed SALES_NORTH (decided)':    { target: 'NORTH_BUDGET_FAIL', step: 'finance_review', input: review('APPROVE'),
                                                           outcomes: [CF,     CF,     FB,     HIDDEN, HIDDEN, HIDDEN, UN] },
  'validate_budget (automatic) of SALES_NORTH':          { target: 'NORTH_BUDGET_WAIT', step: 'validate_budget', input: () => ({}),
                                                           outcomes: [BAD,    BAD,    BAD,    HIDDEN, HIDDEN, HIDDEN, UN] },
  'finance_review of an Acme new_partner_user':          { target: 'ACME_USER_WAIT', step: 'finance_review', input: review('APPROVE'),
                                                           outcomes: [NF,     HIDDEN, HIDDEN, HIDDEN, NF,     HIDDEN, UN] },
  'a step that does not exist':                          { target: 'NP_WAIT', step: 'no_such_step', input: () => ({}),
                                                           outcomes: [NF,     HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN] },
  'confirm_offboarding of an Acme offboarding':          { target: 'ACME_OFFBOARD_WAIT', step: 'confirm_offboarding', input: () => ({ confirm: true }),
                                                           outcomes: [OK,     HIDDEN, HIDDEN, HIDDEN, OK,     HIDDEN, UN] },
  'confirm_offboarding, not confirmed':                  { target: 'ACME_OFFBOARD_WAIT', step: 'confirm_offboarding', input: () => ({ confirm: false }),
                                                           outcomes: [BAD,    HIDDEN, HIDDEN, HIDDEN, BAD,    HIDDEN, UN] },
  "confirm_offboarding of another organisation's offboarding": {
                                                           target: 'OTHER_OFFBOARD_WAIT', step: 'confirm_offboarding', input: () => ({ confirm: true }),
                                                           outcomes: [OK,     HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN] },
  'confirm_partner_offboarding':                         { target: 'PARTNER_OFFBOARD_WAIT', step: 'confirm_partner_offboarding', input: () => ({ confirm: true }),
                                                           outcomes: [OK,     HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN] },
  'finance_review of a missing execution':               { target: 'MISSING', step: 'finance_review', input: review('APPROVE'),
                                                           outcomes: [NF,     NF,     NF,     NF,     NF,     NF,     UN] },
  'finance_review of a malformed id':                    { target: 'MALFORMED', step: 'finance_review', input: review('APPROVE'),
                                                           outcomes: [HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, UN] },
};

/**
 * A retryStep row. Retrying is driving, and whoever sees an execution drives it (CONTRACT.md, the SEES table):
 * so every caller who sees the target gets `answer`, every other signed-in caller HIDDEN (NOT_FOUND for all
 * on a missing execution), and an anonymous one UNAUTHENTICATED. (submitStepInput's rows list every caller:
 * there, who may give a step's input is not always who drives the execution.)
 */
function retry(target: Ref, step: string, answer: Outcome): MutationRow {
  const outcomes = ACTOR_NAMES.map((actor) => (actor === 'ANON' ? UN : target === 'MISSING' ? NF : sees(actor, target) ? answer : HIDDEN));
  return { target, step, outcomes };
}

// prettier-ignore
const RETRY_MATRIX: Record<string, MutationRow> = {
  'lms_setup of a failed new_partner':                                     retry('NP_FAIL', 'lms_setup', OK),
  'share_documentation of a failed Acme new_partner_user':                 retry('ACME_USER_FAIL', 'share_documentation', OK),
  "share_documentation of another organisation's failed new_partner_user": retry('OTHER_USER_FAIL', 'share_documentation', OK),
  'notify_business_unit of a failed SALES_NORTH submission':               retry('NORTH_BUDGET_FAIL', 'notify_business_unit', OK),
  'notify_business_unit of a failed MARKETING submission':                 retry('MARKETING_BUDGET_FAIL', 'notify_business_unit', OK),
  'a waiting manual step (input_studio_companies)':                        retry('NP_WAIT', 'input_studio_companies', CF),
  'a pending step (lms_setup) of a waiting new_partner':                   retry('NP_WAIT', 'lms_setup', CF),
  'a waiting finance_review':                                              retry('NORTH_BUDGET_WAIT', 'finance_review', CF),
  'a succeeded step of a failed Acme new_partner_user':                    retry('ACME_USER_FAIL', 'add_user_to_studio_companies', CF),
  'a step of a completed new_partner_user':                                retry('ACME_USER_DONE', 'share_documentation', CF),
  'a waiting offboarding confirmation':                                    retry('ACME_OFFBOARD_WAIT', 'confirm_offboarding', CF),
  'a pending step of a waiting offboard_partner':                          retry('PARTNER_OFFBOARD_WAIT', 'close_metabase', CF),
  'a step that does not exist':                                            retry('NORTH_BUDGET_FAIL', 'no_such_step', NF),
  'a missing execution':                                                   retry('MISSING', 'notify_business_unit', NF),
  'a malformed id':                                                        retry('MALFORMED', 'notify_business_unit', HIDDEN),
};

const OPERATIONS = { submitStepInput: STEP_INPUT_MATRIX, retryStep: RETRY_MATRIX };
type OperationName = keyof typeof OPERATIONS;

function call(operation: OperationName, row: MutationRow, actor: Actor, executionId: string, input: unknown): Promise<GraphQLResponse> {
  return operation === 'submitStepInput'
    ? w.server.gql(Q.input, { id: executionId, step: row.step, input }, w.tokens[actor])
    : w.server.gql(Q.retry, { id: executionId, step: row.step }, w.tokens[actor]);
}

const mutationCases = (Object.keys(OPERATIONS) as OperationName[]).flatMap((operation) =>
  Object.entries(OPERATIONS[operation]).flatMap(([label, row]) =>
    ACTOR_NAMES.map((actor) => ({ operation, label, row, actor, outcome: row.outcomes[ACTOR_NAMES.indexOf(actor)] })),
  ),
);

describe('the driving tables agree with the visibility rules', () => {
  it('gives HIDDEN exactly where the caller may not see the target, and covers every caller', () => {
    for (const { operation, label, row, actor, outcome } of mutationCases) {
      expect(row.outcomes, `${operation} ${label}`).toHaveLength(ACTOR_NAMES.length);
      const where = `${operation} ${label} as ${actor}`;
      if (actor === 'ANON') expect(outcome, where).toBe(UN);
      else if (row.target === 'MISSING') expect(outcome, where).toBe(NF);
      else expect(outcome === HIDDEN, where).toBe(!sees(actor, row.target));
    }
    // Every manual step of every workflow is attacked.
    const attacked = new Set(Object.values(STEP_INPUT_MATRIX).map((r) => r.step));
    for (const d of DEFINITIONS) for (const s of d.steps) if (s.kind === 'MANUAL') expect(attacked).toContain(s.key);
  });
});

describe('submitStepInput and retryStep, refused: the answer, and nothing changed', () => {
  const refused = mutationCases.filter((c) => c.outcome !== OK);
  /** A missing execution's answer to the same call: what a hidden one must be, word for word. */
  const missingAnswer = new Map<string, ReturnType<typeof answer>>();

  it.each(refused)('$operation: $label as $actor: $outcome', async ({ operation, label, row, actor, outcome }) => {
    await settle();
    const input = row.input?.();
    const before = await storedState();
    const target = row.target === 'MISSING' || row.target === 'MALFORMED' ? null : w.ids[row.target];
    const targetBefore = target && (await executionState(target));
    const res = await call(operation, row, actor, id(row.target), input);
    expectError(res, outcome === HIDDEN ? NF : outcome);
    if (target) expect(await executionState(target)).toEqual(targetBefore);
    expect(await storedState()).toEqual(before);
    if (outcome === HIDDEN) {
      const key = `${operation}/${label}/${actor}`;
      if (!missingAnswer.has(key)) missingAnswer.set(key, answer(await call(operation, row, actor, MISSING_ID, input)));
      expect(answer(res)).toEqual(missingAnswer.get(key));
      expect(answer(res).errors).toEqual([{ message: 'Workflow execution was not found', extensions: { code: NF } }]);
    }
  });
});

describe('submitStepInput and retryStep, allowed: each caller on an execution of its own', () => {
  const allowed = mutationCases.filter((c) => c.outcome === OK);

  it('has allowed cases for every caller the contract lets drive something', () => {
    expect(new Set(allowed.map((c) => c.actor))).toEqual(new Set(['ADMIN', 'ANALYST', 'LEAD', 'PARTNER']));
  });

  it.each(allowed)('$operation: $label as $actor', async ({ operation, row, actor }) => {
    const target = await (row.fresh ?? FRESH[row.target as Target])(actor);
    await settle();
    const input = row.input?.();
    const elsewhere = await otherExecutions(target);
    const res = await call(operation, row, actor, target, input);
    expectNoErrors(res);
    const result = operation === 'submitStepInput' ? res.data.submitStepInput : res.data.retryStep;
    expect(result.id).toBe(target);
    const [step] = await sql('SELECT status, attempts, input, output, retried_by_admin FROM step_execution WHERE execution_id = $1 AND key = $2', [target, row.step]);
    if (operation === 'submitStepInput') {
      expect(step).toMatchObject({ status: 'SUCCEEDED', attempts: 1, input, retried_by_admin: false });
      expect(step.output.providedBy).toBe(ACTORS[actor]);
      const [{ n }] = await sql(`SELECT count(*)::int AS n FROM workflow_event WHERE execution_id = $1 AND step_key = $2 AND status = 'SUCCEEDED'`, [target, row.step]);
      expect(n).toBe(1);
      await row.effect?.(target, actor);
    } else {
      // The retried step runs again (its simulated integration now succeeds) and the execution completes.
      expect(step.retried_by_admin).toBe(true);
      await until(target, 'COMPLETED');
      const [done] = await sql('SELECT status, attempts, error FROM step_execution WHERE execution_id = $1 AND key = $2', [target, row.step]);
      expect(done).toEqual({ status: 'SUCCEEDED', attempts: 4, error: null });
    }
    expect(await otherExecutions(target)).toEqual(elsewhere);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Live events and replays: no leaks, proven by order

describe('workflowEvents live: each caller gets the events of what they may see, and nothing else', () => {
  it('delivers to every caller exactly the events they may see', async () => {
    await settle();
    const subs = Object.fromEntries(ACTOR_NAMES.map((actor) => [actor, subscribe(actor, Q.events, {})])) as Record<Actor, Subscription>;
    expect(await subs.VIEWER.refused()).toBe(FB);
    expect(await subs.PUSER.refused()).toBe(FB);
    expect(await subs.ANON.refused()).toBe(UN);
    const followers = ['ADMIN', 'ANALYST', 'LEAD', 'PARTNER'] as const;

    // Subscriptions have no acknowledgement: make events each of them may see until all of them got one.
    await eventually(async () => {
      await newPartnerUser(w.tokens.PARTNER!);
      await toggle('SALES_NORTH');
      return followers.every((a) => subs[a].events.length > 0);
    }, 'every subscription to be live', 60_000);
    const [{ max: live }] = await sql(`SELECT max(id)::text AS max FROM workflow_event`);

    // Then, in order: events only an admin may see, a partner's, another unit's, and last the ones each may see.
    await newPartnerFailed();
    await newPartnerUserFailed(w.tokens.ADMIN!, w.other);
    const partnerRun = await newPartnerUser(w.tokens.PARTNER!);
    await toggle('MARKETING');
    await toggle('SALES_NORTH');
    const { execution_id: northRun } = await submission('SALES_NORTH');
    await settle();
    await newPartnerUser(w.tokens.PARTNER!);
    await settle();
    // Each follower's last visible event came after the ones they may not see (the partner's after the unit
    // changes, the unit people's after the partner's run and the admin's): by then a leak would have arrived.
    for (const actor of followers) {
      const expected = await sql<{ id: string }>(
        `SELECT e.id::text FROM workflow_event e WHERE e.id > $2 AND ${rule(actor, 'e')} ORDER BY e.id`,
        [ACTORS[actor], live],
      );
      const received = () => subs[actor].events.filter((e) => eventId(e.cursor) > BigInt(live));
      await eventually(() => received().length >= expected.length, `${actor}'s events`);
      expect(received().map((e) => eventId(e.cursor).toString()), actor).toEqual(expected.map((e) => e.id));
    }
    expect(subs.ADMIN.events.some((e) => e.executionId === partnerRun)).toBe(true);
    expect(subs.PARTNER.events.some((e) => e.executionId === partnerRun)).toBe(true);
    expect(subs.LEAD.events.some((e) => e.executionId === northRun && eventId(e.cursor) > BigInt(live))).toBe(true);
    await Promise.all(Object.values(subs).map((s) => s.close()));
  });
});

describe('submissionStatusChanged: the changes of the units each caller may read, and the execution only to those who may see it', () => {
  const NORTH = ['SALES_NORTH'];
  const MKT = ['MARKETING'];
  const BOTH = ['MARKETING', 'SALES_NORTH'];
  // prettier-ignore
  const SUBMISSION_MATRIX: Record<string, { unit?: string; outcomes: (string[] | string)[] }> = {
    //                                         ADMIN ANALYST LEAD   VIEWER PARTNER PUSER ANON
    'every unit':                 {              outcomes: [BOTH, BOTH,   NORTH, NORTH, FB,     FB,   UN] },
    'SALES_NORTH':                { unit: 'SALES_NORTH', outcomes: [NORTH, NORTH, NORTH, NORTH, FB, FB, UN] },
    'MARKETING':                  { unit: 'MARKETING',   outcomes: [MKT, MKT,     FB,    FB,    FB,     FB,   UN] },
    'a unit that does not exist': { unit: 'NO_SUCH_UNIT', outcomes: [NF, NF,      FB,    FB,    FB,     FB,   UN] },
  };
  const cases = Object.entries(SUBMISSION_MATRIX).flatMap(([label, row]) =>
    ACTOR_NAMES.map((actor) => ({ label, unit: row.unit, actor, outcome: row.outcomes[ACTOR_NAMES.indexOf(actor)] })),
  );

  it(`runs ${cases.length} subscriptions: every refusal, every delivery, and no leak`, async () => {
    await settle();
    const subs = cases.map((c) => ({ ...c, sub: subscribe(c.actor, Q.submissionChanged, { plan: w.planId, unit: c.unit }) }));
    for (const { label, actor, outcome, sub } of subs) {
      if (typeof outcome === 'string') expect(await sub.refused(), `${label} as ${actor}`).toBe(outcome);
    }
    // A unit the caller may not read answers like a unit that does not exist.
    for (const actor of ['LEAD', 'VIEWER', 'PARTNER', 'PUSER'] as const) {
      const of = (label: string) => subs.find((s) => s.label === label && s.actor === actor)!.sub.errors;
      expect(JSON.stringify(of('MARKETING')), actor).toBe(JSON.stringify(of('a unit that does not exist')));
    }

    const accepted = subs.filter((s) => typeof s.outcome !== 'string');
    const received = (s: (typeof accepted)[number], unit: string) => s.sub.events.filter((e) => e.businessUnit.code === unit).length;
    await eventually(async () => {
      await toggle('SALES_NORTH');
      await toggle('MARKETING');
      return accepted.every((s) => (s.outcome as string[]).every((unit) => received(s, unit) > 0));
    }, 'every subscription to be live', 60_000);

    // In order: a Sales North change, a Marketing one, a Sales North one. Once a Sales North-only subscriber
    // has the last, the Marketing one would have reached it; a Marketing-only one got the first before its own.
    const counts = accepted.map((s) => ({ north: received(s, 'SALES_NORTH'), marketing: received(s, 'MARKETING') }));
    await toggle('SALES_NORTH');
    await toggle('MARKETING');
    await toggle('SALES_NORTH');
    for (const [i, s] of accepted.entries()) {
      const units = s.outcome as string[];
      await eventually(
        () => (!units.includes('SALES_NORTH') || received(s, 'SALES_NORTH') >= counts[i].north + 2) && (!units.includes('MARKETING') || received(s, 'MARKETING') >= counts[i].marketing + 1),
        `${s.label} as ${s.actor} to get the last changes`,
      );
    }
    for (const s of accepted) {
      expect(s.sub.refusal).toBeNull();
      expect(sorted(new Set(s.sub.events.map((e) => e.businessUnit.code))), `${s.label} as ${s.actor}`).toEqual(s.outcome);
      const visible = new Set(await visibleExecutions(s.actor));
      for (const event of s.sub.events) {
        expect(event.execution, `${s.label} as ${s.actor}: the execution of ${event.businessUnit.code}`).toEqual(
          visible.has(event.execution?.id) ? expect.objectContaining({ definitionKey: 'budget_submission' }) : null,
        );
      }
      // Callers who see these executions get them; a viewer never does.
      expect(s.sub.events.some((e) => e.execution !== null)).toBe(s.actor !== 'VIEWER');
    }
  });
});

describe('workflowEvents(after: start): each caller replays exactly the events of what they may see', () => {
  it.each(ACTOR_NAMES)('as %s', async (actor) => {
    await settle();
    const [{ max }] = await sql(`SELECT max(id)::text AS max FROM workflow_event`);
    const sub = subscribe(actor, Q.events, { after: START });
    if (actor === 'ANON') return expect(await sub.refused()).toBe(UN);
    if (actor === 'VIEWER' || actor === 'PUSER') return expect(await sub.refused()).toBe(FB);

    const expected = await sql<{ id: string; execution_id: string }>(
      `SELECT e.id::text, e.execution_id FROM workflow_event e WHERE e.id <= $2 AND ${rule(actor, 'e')} ORDER BY e.id`,
      [ACTORS[actor], max],
    );
    await eventually(() => sub.events.length >= expected.length || sub.refusal, 'the replay', 30_000);
    // Then an event this caller may see: a replayed leak would come before it.
    if (actor === 'PARTNER') await newPartnerUser(w.tokens.PARTNER!);
    else await toggle('SALES_NORTH');
    await eventually(() => sub.events.some((e) => eventId(e.cursor) > BigInt(max)), 'a live event after the replay');
    expect(sub.refusal).toBeNull();

    const replayed = sub.events.filter((e) => eventId(e.cursor) <= BigInt(max));
    expect(replayed.map((e) => eventId(e.cursor).toString())).toEqual(expected.map((e) => e.id));
    // The executions: those the caller may see now, every one of them.
    const executions = await sql<{ id: string }>(
      `SELECT x.id FROM workflow_execution x WHERE ${rule(actor, 'x')} AND EXISTS (SELECT 1 FROM workflow_event e WHERE e.execution_id = x.id AND e.id <= $2)`,
      [ACTORS[actor], max],
    );
    expect(sorted(new Set(replayed.map((e) => e.executionId)))).toEqual(sorted(executions.map((x) => x.id)));
    expect(executions.length).toBeGreaterThan(0);
    for (const target of TARGET_NAMES) {
      expect(replayed.some((e) => e.executionId === w.ids[target]), `${actor} replays ${target}`).toBe(sees(actor, target));
    }
    await sub.close();
  });
});
