/**
 * The abilities the server tells the client (`me { can }`, `WorkflowDefinition.canStart` and
 * `canReadExecutions`, `WorkflowStep.canGiveInput`), for every role of the demo data, checked three ways
 * against the real server and database: against a table written from CONTRACT.md, against the policy
 * functions (asked with a viewer built from the stored rows), and against the operations themselves, so that
 * an ability is true exactly where the operation it stands for succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../config.js';
import { demoUsers, DEMO_UNITS } from '../seed.js';
import { eventually } from '../testing/gridClients.js';
import { startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';
import { WORKFLOWS } from '../workflow/definitions.js';
import { abilitiesOf, canReadExecutionsOf, canStartDefinition, type Abilities } from './abilities.js';
import type { Viewer } from './viewer.js';

/** A person of the demo seed by role (and unit), so that the actors are exactly the contract's demo data. */
function demoPerson(role: Role, unitCode?: string): string {
  const person = demoUsers().find((u) => u.role === role && (!unitCode || u.unitCodes.includes(unitCode)));
  if (!person) throw new Error(`The demo seed has no ${role}${unitCode ? ` of ${unitCode}` : ''}`);
  return person.email;
}

const ACTORS = {
  ADMIN: demoPerson('ADMIN'),
  ANALYST: demoPerson('ANALYST'),
  LEAD: demoPerson('BU_LEADER', 'SALES_NORTH'),
  VIEWER: demoPerson('VIEWER', 'SALES_NORTH'),
  PARTNER: demoPerson('PARTNER_ADMIN'),
  PUSER: 'pat.user@acme.example', // a PARTNER_USER of Acme Partners, onboarded by the partner admin below
  UNITLESS: demoPerson('VIEWER', 'SALES_SOUTH'), // a VIEWER whose unit an admin takes away below
} as const;
type Actor = keyof typeof ACTORS;
const ACTOR_NAMES = Object.keys(ACTORS) as Actor[];
const UNITS = DEMO_UNITS.map((unit) => unit.code);
const ABILITY_NAMES = ['readBudgets', 'readAuditLog', 'reviewSubmissions', 'readWorkflows', 'listUsers', 'manageUsers', 'readActivityLog', 'managePlans'] as const;

const Y = true;
const N = false;
/** What each one may do, from the contract's roles (columns in ABILITY_NAMES order). */
// prettier-ignore
const CAN: Record<Actor, boolean[]> = {
  //          readBudgets readAuditLog reviewSubmissions readWorkflows listUsers manageUsers readActivityLog managePlans
  ADMIN:    [ Y,          Y,           Y,                Y,            Y,        Y,          Y,              Y ],
  ANALYST:  [ Y,          Y,           Y,                Y,            N,        N,          N,              N ],
  LEAD:     [ Y,          Y,           N,                Y,            N,        N,          N,              N ],
  VIEWER:   [ Y,          Y,           N,                N,            N,        N,          N,              N ],
  PARTNER:  [ N,          N,           N,                Y,            Y,        N,          N,              N ],
  PUSER:    [ N,          N,           N,                N,            N,        N,          N,              N ],
  UNITLESS: [ N,          N,           N,                N,            N,        N,          N,              N ],
};
/** Per workflow: who may start it, and who sees its executions. */
// prettier-ignore
const WORKFLOW_CAN: Record<string, { canStart: Actor[]; canReadExecutions: Actor[] }> = {
  new_partner:       { canStart: ['ADMIN'],            canReadExecutions: ['ADMIN'] },
  new_partner_user:  { canStart: ['ADMIN', 'PARTNER'], canReadExecutions: ['ADMIN', 'PARTNER'] },
  budget_submission: { canStart: [],                   canReadExecutions: ['ADMIN', 'ANALYST', 'LEAD'] },
  offboard_partner_user: { canStart: ['ADMIN', 'PARTNER'], canReadExecutions: ['ADMIN', 'PARTNER'] },
  offboard_partner:  { canStart: ['ADMIN'],            canReadExecutions: ['ADMIN'] },
};

const Q = {
  asked: `{
    me { id can { ${ABILITY_NAMES.join(' ')} } }
    workflowDefinitions { key canStart canReadExecutions }
  }`,
  setAccess: `mutation($id: ID!) { setUserAccess(userId: $id, role: VIEWER, businessUnitCodes: []) { id } }`,
  start: `mutation($key: String!, $input: JSON) { startWorkflow(definitionKey: $key, input: $input) { id status } }`,
  execution: `query($id: ID!) { workflowExecution(id: $id) { id status steps { key status canGiveInput } } }`,
  input: `mutation($id: ID!, $step: String!, $input: JSON!) { submitStepInput(executionId: $id, stepKey: $step, input: $input) { id } }`,
  submit: `mutation($plan: ID!, $unit: String!) { submitBudget(planId: $plan, businessUnitCode: $unit) { execution { id } } }`,
  lines: `query($plan: ID!) { budgetLines(planId: $plan) { id } }`,
  edit: `mutation($id: ID!) { updateBudgetLine(id: $id, input: { comment: "seen" }) { id } }`,
  audit: `{ auditLog(first: 10) { edges { node { id } } } }`,
  executions: `query($key: String) { workflowExecutions(definitionKey: $key, first: 10) { edges { node { id } } } }`,
  users: `{ users { id } }`,
  signIns: `{ signInEvents(first: 1) { id } }`,
  createPartnerUser: `mutation($e: String!, $o: ID!) { createUser(input: { email: $e, displayName: "Leaving Soon", role: PARTNER_USER, organizationId: $o }) { user { id } } }`,
  cancel: `mutation($id: ID!) { cancelExecution(executionId: $id) { id } }`,
};

let server: TestServer;
const tokens = {} as Record<Actor, string>;
let planId: string;
let acme: string;
let leavers = 0;
/** A new person of Acme Partners (created by the admin), for an offboarding to name; their id. */
async function acmeLeaver(): Promise<string> {
  const data = await ok(server.gql(Q.createPartnerUser, { e: `leaver-${++leavers}@acme.example`, o: acme }, tokens.ADMIN));
  return data.createUser.user.id;
}
/** What each actor was told, read before any of the operations below changed anything. */
const told = {} as Record<Actor, { id: string; can: Abilities; definitions: { key: string; canStart: boolean; canReadExecutions: boolean }[] }>;
/** budget_submission executions waiting for finance_review, by unit. */
const reviews: Record<string, string> = {};

async function ok(response: Promise<GraphQLResponse>) {
  const res = await response;
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data;
}
const sql = <T = any>(text: string, params?: unknown[]) => server.sql<T>(text, params);

async function until(executionId: string, status: string, token = tokens.ADMIN): Promise<any> {
  return eventually(async () => {
    const data = await ok(server.gql(Q.execution, { id: executionId }, token));
    return data.workflowExecution?.status === status && data.workflowExecution;
  }, `execution ${executionId} to be ${status}`);
}

/** The policies' own view of a person: the Viewer built from their stored row, as the server builds it. */
async function viewerOf(actor: Actor): Promise<Viewer> {
  const [user] = await sql(`SELECT id, email, role, organization_id FROM app_user WHERE email = $1`, [ACTORS[actor]]);
  const units = await sql(`SELECT business_unit_id FROM user_business_unit WHERE user_id = $1`, [user.id]);
  return {
    userId: user.id,
    email: user.email,
    role: user.role,
    unitIds: new Set(units.map((u) => u.business_unit_id as string)),
    organizationId: user.organization_id,
    expiresAt: Math.floor(Date.now() / 1000) + 3600,
  };
}

beforeAll(async () => {
  server = await startTestServer({ SIMULATED_STEP_MS: '5' });
  for (const actor of ACTOR_NAMES) if (actor !== 'PUSER') tokens[actor] = await server.login(ACTORS[actor]);
  [{ id: planId }] = await sql('SELECT id FROM budget_plan');
  const [unitless] = await sql('SELECT id FROM app_user WHERE email = $1', [ACTORS.UNITLESS]);
  await ok(server.gql(Q.setAccess, { id: unitless.id }, tokens.ADMIN));

  // The partner user: onboarded by the partner admin, then given the demo password (partner users have none).
  const onboarding = (await ok(server.gql(Q.start, { key: 'new_partner_user', input: {} }, tokens.PARTNER))).startWorkflow.id;
  const waiting = await until(onboarding, 'AWAITING_INPUT', tokens.PARTNER);
  expect(waiting.steps.find((s: { key: string }) => s.key === 'input_user_details').canGiveInput).toBe(true);
  const details = { email: ACTORS.PUSER, displayName: 'Pat User' };
  await ok(server.gql(Q.input, { id: onboarding, step: 'input_user_details', input: details }, tokens.PARTNER));
  await until(onboarding, 'COMPLETED', tokens.PARTNER);
  await sql(`UPDATE app_user SET password_hash = (SELECT password_hash FROM app_user WHERE email = $1) WHERE email = $2`, [ACTORS.ADMIN, ACTORS.PUSER]);
  tokens.PUSER = await server.login(ACTORS.PUSER);

  // Something of every kind to read: an audit entry in every unit, executions of every workflow.
  const lines = await sql(`SELECT DISTINCT ON (business_unit_id) id FROM budget_line ORDER BY business_unit_id, id`);
  for (const line of lines) await ok(server.gql(Q.edit, { id: line.id }, tokens.ADMIN));
  await ok(server.gql(Q.start, { key: 'new_partner', input: { organizationName: 'Abilities Org' } }, tokens.ADMIN));
  [{ id: acme }] = await sql(`SELECT id FROM organization WHERE name = 'Acme Partners'`);
  // Offboardings wait for their confirmation: nothing is removed. Acme's is cancelled, so it can be started again.
  await ok(server.gql(Q.start, { key: 'offboard_partner_user', input: { userId: await acmeLeaver() } }, tokens.PARTNER));
  const acmeOffboarding = (await ok(server.gql(Q.start, { key: 'offboard_partner', input: { organizationId: acme } }, tokens.ADMIN))).startWorkflow.id;
  await until(acmeOffboarding, 'AWAITING_INPUT');
  await ok(server.gql(Q.cancel, { id: acmeOffboarding }, tokens.ADMIN));
  for (const unit of UNITS) {
    reviews[unit] = (await ok(server.gql(Q.submit, { plan: planId, unit }, tokens.ADMIN))).submitBudget.execution.id;
    await until(reviews[unit], 'AWAITING_INPUT');
  }

  for (const actor of ACTOR_NAMES) {
    const data = await ok(server.gql(Q.asked, {}, tokens[actor]));
    told[actor] = { id: data.me.id, can: data.me.can, definitions: data.workflowDefinitions };
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

describe('what the server tells each person they may do', () => {
  it.each(ACTOR_NAMES)('%s: me.can is the contract table', (actor) => {
    expect(told[actor].can).toEqual(Object.fromEntries(ABILITY_NAMES.map((name, i) => [name, CAN[actor][i]])));
  });

  it.each(ACTOR_NAMES)('%s: canStart and canReadExecutions are the contract table', (actor) => {
    for (const definition of told[actor].definitions) {
      expect(definition, definition.key).toEqual({
        key: definition.key,
        canStart: WORKFLOW_CAN[definition.key].canStart.includes(actor),
        canReadExecutions: WORKFLOW_CAN[definition.key].canReadExecutions.includes(actor),
      });
    }
  });

  it.each(ACTOR_NAMES)('%s: every answer is what the policies give for the stored person', async (actor) => {
    const viewer = await viewerOf(actor);
    const units = await sql<{ id: string }>('SELECT id FROM business_unit');
    expect(told[actor].can).toEqual(abilitiesOf(viewer, units.map((u) => u.id)));
    expect(told[actor].definitions).toEqual(
      WORKFLOWS.map((d) => ({ key: d.key, canStart: canStartDefinition(viewer, d), canReadExecutions: canReadExecutionsOf(viewer, d.key) })),
    );
  });
});

describe('each ability is true exactly where its operation succeeds', () => {
  it.each(ACTOR_NAMES)('%s: reading budgets, audit entries, workflows and people; managing people', async (actor) => {
    const { can } = told[actor];
    const lines = await ok(server.gql(Q.lines, { plan: planId }, tokens[actor]));
    expect(lines.budgetLines.length > 0, 'budgetLines').toBe(can.readBudgets);
    const audit = await ok(server.gql(Q.audit, {}, tokens[actor]));
    expect(audit.auditLog.edges.length > 0, 'auditLog').toBe(can.readAuditLog);
    const executions = await ok(server.gql(Q.executions, {}, tokens[actor]));
    expect(executions.workflowExecutions.edges.length > 0, 'workflowExecutions').toBe(can.readWorkflows);
    for (const definition of told[actor].definitions) {
      const ofKind = await ok(server.gql(Q.executions, { key: definition.key }, tokens[actor]));
      expect(ofKind.workflowExecutions.edges.length > 0, `workflowExecutions(${definition.key})`).toBe(definition.canReadExecutions);
    }
    const users = await ok(server.gql(Q.users, {}, tokens[actor]));
    expect(users.users.some((u: { id: string }) => u.id !== told[actor].id), 'users besides oneself').toBe(can.listUsers);
    const signIns = await server.gql(Q.signIns, {}, tokens[actor]);
    expect(!signIns.errors, 'signInEvents').toBe(can.manageUsers);
    if (signIns.errors) expect(signIns.errors[0].extensions?.code).toBe('FORBIDDEN');
    // A plan status set to what it is changes nothing, and is refused to whoever may not manage plans.
    const plans = await ok(server.gql(`{ budgetPlans { id status } }`, {}, tokens.ADMIN));
    const same = await server.gql(`mutation($id: ID!, $s: PlanStatus!) { setBudgetPlanStatus(planId: $id, status: $s) { id } }`, { id: plans.budgetPlans[0].id, s: plans.budgetPlans[0].status }, tokens[actor]);
    expect(!same.errors, `setBudgetPlanStatus: ${JSON.stringify(same.errors)}`).toBe(can.managePlans);
    const activity = await server.gql(`{ activityLog(first: 1) { edges { cursor } } }`, {}, tokens[actor]);
    expect(!activity.errors, 'activityLog').toBe(can.readActivityLog);
    if (activity.errors) expect(activity.errors[0].extensions?.code).toBe('FORBIDDEN');
  });

  it.each(ACTOR_NAMES)('%s: canStart is true exactly where startWorkflow starts it', async (actor) => {
    for (const definition of told[actor].definitions) {
      const input =
        definition.key === 'new_partner'
          ? { organizationName: `Started by ${actor}` }
          : definition.key === 'offboard_partner_user'
            ? { userId: await acmeLeaver() }
            : definition.key === 'offboard_partner'
              ? { organizationId: acme }
              : {};
      const res = await server.gql(Q.start, { key: definition.key, input }, tokens[actor]);
      expect(!res.errors, `startWorkflow(${definition.key}): ${JSON.stringify(res.errors)}`).toBe(definition.canStart);
    }
  });

  it('reviewSubmissions and canGiveInput are true exactly where finance_review takes the input', async () => {
    // Those who may review each answer a submission of their own; the others try the one left waiting.
    const untouched = 'SALES_NORTH';
    const free = UNITS.filter((u) => u !== untouched);
    for (const actor of ACTOR_NAMES) {
      const target = told[actor].can.reviewSubmissions ? free.shift()! : untouched;
      const seen = (await ok(server.gql(Q.execution, { id: reviews[target] }, tokens[actor]))).workflowExecution;
      const canGiveInput = seen?.steps.find((s: { key: string }) => s.key === 'finance_review').canGiveInput ?? false;
      expect(canGiveInput, `${actor}: canGiveInput`).toBe(told[actor].can.reviewSubmissions);
      const res = await server.gql(Q.input, { id: reviews[target], step: 'finance_review', input: { decision: 'APPROVE' } }, tokens[actor]);
      expect(!res.errors, `${actor}: submitStepInput(finance_review): ${JSON.stringify(res.errors)}`).toBe(canGiveInput);
      if (canGiveInput) {
        const after = (await ok(server.gql(Q.execution, { id: reviews[target] }, tokens[actor]))).workflowExecution;
        expect(after.steps.find((s: { key: string }) => s.key === 'finance_review').canGiveInput, 'no longer waiting').toBe(false);
      }
    }
    expect((await until(reviews[untouched], 'AWAITING_INPUT')).id).toBe(reviews[untouched]);
  });

  it('can is the signed-in person’s own: FORBIDDEN on anyone else', async () => {
    const res = await server.gql(`{ users { id can { manageUsers } } }`, {}, tokens.ADMIN);
    // Non-null, so a refusal empties the whole answer (graphql-js reports the first one).
    expect(res.data).toBeNull();
    expect(res.errors!.length).toBeGreaterThan(0);
    for (const error of res.errors!) {
      expect(error.extensions?.code).toBe('FORBIDDEN');
      expect(error.path).toEqual(['users', expect.any(Number), 'can']);
    }
    const me = await ok(server.gql(`{ users { id } me { can { manageUsers } } }`, {}, tokens.ADMIN));
    expect(me.me.can.manageUsers).toBe(true);
    expect(me.users.findIndex((u: { id: string }) => u.id === told.ADMIN.id)).not.toBe(res.errors![0].path![1]);
  });
});
