/**
 * Row-level security from the attacker's side: every role of the contract x every operation x a target in
 * the caller's own unit, in another unit, or none, against the real server and database. The expected
 * outcome of each case is written down as a table (derived from CONTRACT.md), and each case checks not only
 * the error code but exactly which rows come back, and that a refused mutation changed nothing stored.
 *
 * A second part checks that no answer reveals whether a row the caller may not read exists.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type GraphQLResponse, type TestServer } from '../testing/harness.js';

// ---------------------------------------------------------------------------------------------------------
// Who asks

const ACTORS = {
  ADMIN: 'admin@example.com',
  ANALYST: 'analyst@example.com',
  LEAD: 'lead.sales-north@example.com', // BU_LEADER of SALES_NORTH
  PLANNER: 'planner.sales-north@example.com', // BU_LEADER of SALES_NORTH
  VIEWER: 'viewer.sales-north@example.com', // VIEWER of SALES_NORTH
  PARTNER: 'partner.admin@acme.example', // PARTNER_ADMIN of Acme Partners
  ANON: null, // no token at all
} as const;
type Actor = keyof typeof ACTORS;
const ACTOR_NAMES = Object.keys(ACTORS) as Actor[];

const OWN_UNIT = 'SALES_NORTH';
const OTHER_UNIT = 'MARKETING';
const ALL_UNITS = ['FINANCE', 'MARKETING', 'OPERATIONS', 'SALES_NORTH', 'SALES_SOUTH'];

// ---------------------------------------------------------------------------------------------------------
// What they get

type ErrorOutcome = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'CONFLICT';
/** Rows of exactly these units (a list query, or a query naming one unit or one line). */
type RowsOutcome = { units: readonly string[] };
/** People: everyone, the caller alone, or the people of the caller's organisation. */
type PeopleOutcome = { people: 'EVERYONE' | 'SELF' | 'ORGANIZATION' };
/** The mutation took effect. */
type DoneOutcome = { done: true };
/** Any non-empty list of the right shape (budget plans, sign-in events). */
type ListOutcome = { list: 'SOME' | 'EMPTY' };
type Outcome = ErrorOutcome | RowsOutcome | PeopleOutcome | DoneOutcome | ListOutcome;

const UNAUTH = 'UNAUTHENTICATED' as const;
const FORBID = 'FORBIDDEN' as const;
/** Allowed, but not in the unit's status: withdrawing or reopening a DRAFT (nothing is submitted in this world). */
const CONFLICT = 'CONFLICT' as const;
const ALL: RowsOutcome = { units: ALL_UNITS };
const OWN: RowsOutcome = { units: [OWN_UNIT] };
const OTHER: RowsOutcome = { units: [OTHER_UNIT] };
const NONE: RowsOutcome = { units: [] };
const EVERYONE: PeopleOutcome = { people: 'EVERYONE' };
const SELF: PeopleOutcome = { people: 'SELF' };
const ORG: PeopleOutcome = { people: 'ORGANIZATION' };
const DONE: DoneOutcome = { done: true };
const SOME: ListOutcome = { list: 'SOME' };
const EMPTY: ListOutcome = { list: 'EMPTY' };

/**
 * The matrix. Columns: ADMIN, ANALYST, LEAD, PLANNER, VIEWER, PARTNER, ANON. "own" is SALES_NORTH (the unit
 * of LEAD, PLANNER and VIEWER), "other" is MARKETING; for ADMIN, ANALYST and PARTNER they are just two units.
 * ADMIN: everything. ANALYST: reads every unit, edits nothing, may not submit. BU_LEADER: reads, edits and
 * submits their own unit only. VIEWER: reads their own unit only. PARTNER_ADMIN: no budget data at all (empty
 * lists, FORBIDDEN for a named unit or line) but the users of Acme Partners. No token: UNAUTHENTICATED.
 */
// prettier-ignore
const MATRIX = {
  //                            ADMIN     ANALYST   LEAD      PLANNER   VIEWER    PARTNER   ANON
  'me':                       [ SELF,     SELF,     SELF,     SELF,     SELF,     SELF,     UNAUTH ],
  'businessUnits':            [ ALL,      ALL,      OWN,      OWN,      OWN,      NONE,     UNAUTH ],
  'budgetPlans':              [ SOME,     SOME,     SOME,     SOME,     SOME,     EMPTY,    UNAUTH ],
  'budgetLines':              [ ALL,      ALL,      OWN,      OWN,      OWN,      NONE,     UNAUTH ],
  'budgetLines(own)':         [ OWN,      OWN,      OWN,      OWN,      OWN,      FORBID,   UNAUTH ],
  'budgetLines(other)':       [ OTHER,    OTHER,    FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  'updateBudgetLine(own)':    [ DONE,     FORBID,   DONE,     DONE,     FORBID,   FORBID,   UNAUTH ],
  'updateBudgetLine(other)':  [ DONE,     FORBID,   FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  'budgetSubmissions':        [ ALL,      ALL,      OWN,      OWN,      OWN,      NONE,     UNAUTH ],
  'submitBudget(own)':        [ DONE,     FORBID,   DONE,     DONE,     FORBID,   FORBID,   UNAUTH ],
  'submitBudget(other)':      [ DONE,     FORBID,   FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  // The review loop: versions, changes and readiness read with the unit; withdraw (the unit's writers) and reopen
  // (admins) are allowed to whom CONFLICT answers, every unit being a draft here.
  'submissionVersions(own)':  [ OWN,      OWN,      OWN,      OWN,      OWN,      FORBID,   UNAUTH ],
  'submissionVersions(other)':[ OTHER,    OTHER,    FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  'submissionChanges(own)':   [ 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', FORBID, UNAUTH ],
  'submissionChanges(other)': [ 'NOT_FOUND', 'NOT_FOUND', FORBID, FORBID,   FORBID,   FORBID,   UNAUTH ],
  'submissionReadiness(own)': [ OWN,      OWN,      OWN,      OWN,      OWN,      FORBID,   UNAUTH ],
  'submissionReadiness(other)':[ OTHER,   OTHER,    FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  'withdrawSubmission(own)':  [ CONFLICT, FORBID,   CONFLICT, CONFLICT, FORBID,   FORBID,   UNAUTH ],
  'withdrawSubmission(other)':[ CONFLICT, FORBID,   FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  'reopenSubmission(own)':    [ CONFLICT, FORBID,   FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  'auditLog':                 [ ALL,      ALL,      OWN,      OWN,      OWN,      NONE,     UNAUTH ],
  'auditLog(own line)':       [ OWN,      OWN,      OWN,      OWN,      OWN,      FORBID,   UNAUTH ],
  'auditLog(other line)':     [ OTHER,    OTHER,    FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  'users':                    [ EVERYONE, SELF,     SELF,     SELF,     SELF,     ORG,      UNAUTH ],
  'signInEvents':             [ SOME,     FORBID,   FORBID,   FORBID,   FORBID,   FORBID,   UNAUTH ],
  // Role and units of the people who made the audit entries the caller reads (an admin and the unit's leader):
  // DONE = all readable; FORBID = FORBIDDEN for everyone but the caller; NONE = the caller reads no entry.
  'auditLog(authors details)':[ DONE,     FORBID,   FORBID,   FORBID,   FORBID,   NONE,     UNAUTH ],
} satisfies Record<string, Outcome[]>;
type OperationName = keyof typeof MATRIX;

function expected(operation: OperationName, actor: Actor): Outcome {
  return MATRIX[operation][ACTOR_NAMES.indexOf(actor)];
}

// ---------------------------------------------------------------------------------------------------------
// The operations

const Q = {
  me: `{ me { id email role businessUnits { code } organization { name } } }`,
  businessUnits: `{ businessUnits { id code name } }`,
  budgetPlans: `{ budgetPlans { id name fiscalYear } }`,
  budgetLines: `query($plan: ID!, $unit: String) {
    budgetLines(planId: $plan, businessUnitCode: $unit) { id businessUnit { code } version budgetAmount comment }
  }`,
  updateBudgetLine: `mutation($id: ID!, $input: BudgetLineInput!) {
    updateBudgetLine(id: $id, input: $input) { id businessUnit { code } budgetAmount comment version updatedBy { email } }
  }`,
  budgetSubmissions: `query($plan: ID!) { budgetSubmissions(planId: $plan) { id businessUnit { code } status } }`,
  submitBudget: `mutation($plan: ID!, $unit: String!) {
    submitBudget(planId: $plan, businessUnitCode: $unit) { businessUnit { code } status submittedBy { email } }
  }`,
  auditLog: `query($line: ID, $after: String) {
    auditLog(first: 50, after: $after, lineId: $line) {
      edges { node { id column newValue line { id businessUnit { code } } user { email } } }
      pageInfo { hasNextPage endCursor }
    }
  }`,
  submissionVersions: `query($plan: ID!, $unit: String!) { submissionVersions(planId: $plan, businessUnitCode: $unit) { version total } }`,
  submissionChanges: `query($plan: ID!, $unit: String!) { submissionChanges(planId: $plan, businessUnitCode: $unit, version: 1) { column } }`,
  submissionReadiness: `query($plan: ID!, $unit: String!) { submissionReadiness(planId: $plan, businessUnitCode: $unit) { lineCount } }`,
  withdrawSubmission: `mutation($plan: ID!, $unit: String!) { withdrawSubmission(planId: $plan, businessUnitCode: $unit) { status } }`,
  reopenSubmission: `mutation($plan: ID!, $unit: String!) { reopenSubmission(planId: $plan, businessUnitCode: $unit, reason: "matrix") { status } }`,
  users: `{ users { id email role organization { name } } }`,
  signInEvents: `{ signInEvents(first: 300) { id email success method user { email } } }`,
  authorsDetails: `{ auditLog(first: 100) { edges { node { id user { email role businessUnits { code } } } } } }`,
};

/** What the tests know about one server's seeded database. */
interface World {
  server: TestServer;
  tokens: Record<Actor, string | null>;
  planId: string;
  unitIds: Record<string, string>;
  /** Line ids of each unit, in seed order. */
  lines: Record<string, string[]>;
  userIds: Record<string, string>;
}

async function openWorld(): Promise<World> {
  const server = await startTestServer();
  const tokens = {} as Record<Actor, string | null>;
  for (const actor of ACTOR_NAMES) {
    const email = ACTORS[actor];
    tokens[actor] = email ? await server.login(email) : null;
  }
  const [plan] = await server.sql<{ id: string }>('SELECT id FROM budget_plan');
  const units = await server.sql<{ id: string; code: string }>('SELECT id, code FROM business_unit');
  const unitIds = Object.fromEntries(units.map((u) => [u.code, u.id]));
  const lines: Record<string, string[]> = {};
  for (const row of await server.sql<{ id: string; code: string }>(
    `SELECT l.id, u.code FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id ORDER BY u.code, l.position`,
  )) {
    (lines[row.code] ??= []).push(row.id);
  }
  const userIds = Object.fromEntries(
    (await server.sql<{ id: string; email: string }>('SELECT id, email FROM app_user')).map((u) => [u.email, u.id]),
  );
  return { server, tokens, planId: plan.id, unitIds, lines, userIds };
}

/**
 * Everything a refused mutation must leave untouched, as one comparable value: every budget line (except
 * `exceptLine`, the one a successful edit may change), the audit log and the submissions.
 */
async function storedState(server: TestServer, exceptLine: string | null = null) {
  const [row] = await server.sql(
    `SELECT
      (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM budget_line t WHERE t.id IS DISTINCT FROM $1::uuid) AS lines,
      (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM cell_change t) AS changes,
      (SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM budget_submission t) AS submissions`,
    [exceptLine],
  );
  return row as { lines: string; changes: string; submissions: string };
}

/**
 * Every page of the audit log (the cost limit keeps pages small), as one response: the first error stops it.
 * Following the cursors is part of the test: a page boundary must not let another unit's entries through.
 */
async function wholeAuditLog(server: TestServer, token: string | null, line?: string): Promise<GraphQLResponse> {
  const edges: unknown[] = [];
  let after: string | null = null;
  for (;;) {
    const res: GraphQLResponse = await server.gql(Q.auditLog, { line, after }, token);
    if (res.errors || !res.data) return res;
    edges.push(...res.data.auditLog.edges);
    if (!res.data.auditLog.pageInfo.hasNextPage) return { ...res, data: { auditLog: { edges } } };
    after = res.data.auditLog.pageInfo.endCursor;
  }
}

function codeOf(res: GraphQLResponse): string | undefined {
  return res.errors?.[0]?.extensions?.code;
}

function sorted<T>(values: Iterable<T>): T[] {
  return [...values].sort();
}

/** The ids of the plan's lines in these units, straight from the database. */
async function lineIdsOf(world: World, units: readonly string[]): Promise<string[]> {
  if (units.length === 0) return [];
  const rows = await world.server.sql<{ id: string }>(
    'SELECT id FROM budget_line WHERE plan_id = $1 AND business_unit_id = ANY($2::uuid[])',
    [world.planId, units.map((u) => world.unitIds[u])],
  );
  return sorted(rows.map((r) => r.id));
}

/** The ids of the audit entries of these units (optionally of one line), straight from the database. */
async function changeIdsOf(world: World, units: readonly string[], lineId?: string): Promise<string[]> {
  if (units.length === 0) return [];
  const rows = await world.server.sql<{ id: string }>(
    `SELECT id::text FROM cell_change WHERE business_unit_id = ANY($1::uuid[]) AND ($2::uuid IS NULL OR line_id = $2::uuid)`,
    [units.map((u) => world.unitIds[u]), lineId ?? null],
  );
  return sorted(rows.map((r) => r.id));
}

/** Asserts that a response is the given error, with no data leaking beside it. */
function expectError(res: GraphQLResponse, code: ErrorOutcome) {
  expect(res.errors, JSON.stringify(res.data)).toBeDefined();
  expect(codeOf(res), JSON.stringify(res.errors)).toBe(code);
  expect(res.data ?? null).toBeNull();
}

function expectNoErrors(res: GraphQLResponse) {
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
}

/** Lines used by the audit-log cases: they receive entries before the matrix runs. */
const AUDITED_LINE = 0;

/** The line an updateBudgetLine case writes: a different one for every (actor, target), so cases stay independent. */
function lineForCase(world: World, actor: Actor, unit: string): string {
  return world.lines[unit][10 + ACTOR_NAMES.indexOf(actor)];
}

type Operation = (world: World, actor: Actor, outcome: Outcome) => Promise<void>;

/** A query whose answer is a list of unit-scoped rows: checks the exact ids against the database. */
function unitRowsQuery(
  run: (world: World, token: string | null) => Promise<GraphQLResponse>,
  rowsOf: (data: any) => { id: string; unit: string }[],
  expectedIds: (world: World, units: readonly string[]) => Promise<string[]>,
): Operation {
  return async (world, actor, outcome) => {
    const res = await run(world, world.tokens[actor]);
    if (typeof outcome === 'string') return expectError(res, outcome);
    expectNoErrors(res);
    const { units } = outcome as RowsOutcome;
    const rows = rowsOf(res.data);
    expect(sorted(new Set(rows.map((r) => r.unit)))).toEqual(sorted(units));
    expect(sorted(rows.map((r) => r.id))).toEqual(await expectedIds(world, units));
  };
}

/** A mutation: on success `verify` checks its effect; on refusal, nothing stored may have changed. */
function mutation(
  run: (world: World, actor: Actor) => Promise<GraphQLResponse>,
  verify: (world: World, actor: Actor, res: GraphQLResponse) => Promise<void>,
  /** The line a successful call writes, if any: everything else must stay as it was. */
  writes: (world: World, actor: Actor) => string | null = () => null,
): Operation {
  return async (world, actor, outcome) => {
    const before = await storedState(world.server);
    const beforeElsewhere = await storedState(world.server, writes(world, actor));
    const res = await run(world, actor);
    if (typeof outcome === 'string') {
      expectError(res, outcome);
      expect(await storedState(world.server)).toEqual(before);
      return;
    }
    expect(outcome).toEqual(DONE);
    expectNoErrors(res);
    await verify(world, actor, res);
    const after = await storedState(world.server, writes(world, actor));
    expect(after.lines, 'no other line changed').toBe(beforeElsewhere.lines);
    if (writes(world, actor) !== null) expect(after.submissions).toBe(beforeElsewhere.submissions);
    else expect(after.changes, 'no audit entry').toBe(beforeElsewhere.changes);
  };
}

/** A query naming one unit: an error as the matrix says, else `check` reads the answer (its unit's). */
function unitQuery(query: string, unit: string, check: (world: World, data: any) => void): Operation {
  return async (world, actor, outcome) => {
    const res = await world.server.gql(query, { plan: world.planId, unit }, world.tokens[actor]);
    if (typeof outcome === 'string') return expectError(res, outcome);
    expectNoErrors(res);
    expect(outcome).toEqual({ units: [unit] });
    check(world, res.data);
  };
}

/** A mutation every actor is refused in this world (with its own reason); nothing stored changes. */
function refusedOnly(query: string, unit: string): Operation {
  return mutation(
    (world, actor) => world.server.gql(query, { plan: world.planId, unit }, world.tokens[actor]),
    async () => {
      throw new Error('not expected to succeed here');
    },
  );
}

function updateLine(unit: string): Operation {
  const amount = (actor: Actor) => 1000 + ACTOR_NAMES.indexOf(actor);
  return mutation(
    (world, actor) =>
      world.server.gql(
        Q.updateBudgetLine,
        { id: lineForCase(world, actor, unit), input: { budgetAmount: amount(actor), comment: `by ${actor}` } },
        world.tokens[actor],
      ),
    async (world, actor, res) => {
      const email = ACTORS[actor]!;
      const id = lineForCase(world, actor, unit);
      expect(res.data.updateBudgetLine).toEqual({
        id,
        businessUnit: { code: unit },
        budgetAmount: amount(actor),
        comment: `by ${actor}`,
        version: 2,
        updatedBy: { email },
      });
      const [row] = await world.server.sql('SELECT budget_amount, comment, version, updated_by_id FROM budget_line WHERE id = $1', [id]);
      expect(row).toEqual({ budget_amount: amount(actor), comment: `by ${actor}`, version: 2, updated_by_id: world.userIds[email] });
      const audit = await world.server.sql(
        'SELECT column_name, user_id, business_unit_id, source FROM cell_change WHERE line_id = $1 ORDER BY column_name',
        [id],
      );
      const entry = { user_id: world.userIds[email], business_unit_id: world.unitIds[unit], source: 'API' };
      expect(audit).toEqual([
        { column_name: 'budgetAmount', ...entry },
        { column_name: 'comment', ...entry },
      ]);
    },
    (world, actor) => lineForCase(world, actor, unit),
  );
}

function submit(unit: string): Operation {
  return mutation(
    (world, actor) => world.server.gql(Q.submitBudget, { plan: world.planId, unit }, world.tokens[actor]),
    async (world, actor, res) => {
      const email = ACTORS[actor]!;
      expect(res.data.submitBudget).toEqual({ businessUnit: { code: unit }, status: 'SUBMITTED', submittedBy: { email } });
      const rows = await world.server.sql(
        `SELECT u.code, s.status, s.submitted_by_id FROM budget_submission s JOIN business_unit u ON u.id = s.business_unit_id
         WHERE s.status <> 'DRAFT'`,
      );
      // Each actor has a server of their own: every submission that left DRAFT is one of theirs.
      expect(rows).toContainEqual({ code: unit, status: 'SUBMITTED', submitted_by_id: world.userIds[email] });
      for (const row of rows) expect(row).toMatchObject({ status: 'SUBMITTED', submitted_by_id: world.userIds[email] });
      // The unit is frozen now, for the submitter too: the edit is refused and changes nothing.
      const frozenBefore = await storedState(world.server);
      const edit = await world.server.gql(
        Q.updateBudgetLine,
        { id: world.lines[unit][5], input: { budgetAmount: 1 } },
        world.tokens[actor],
      );
      expectError(edit, 'FORBIDDEN');
      expect(await storedState(world.server)).toEqual(frozenBefore);
    },
  );
}

const OPERATIONS: Record<OperationName, Operation> = {
  me: async (world, actor, outcome) => {
    const res = await world.server.gql(Q.me, {}, world.tokens[actor]);
    if (typeof outcome === 'string') return expectError(res, outcome);
    expectNoErrors(res);
    const email = ACTORS[actor]!;
    expect(res.data.me).toMatchObject({ id: world.userIds[email], email });
    const [row] = await world.server.sql('SELECT role FROM app_user WHERE email = $1', [email]);
    expect(res.data.me.role).toBe(row.role);
    expect(res.data.me.organization).toEqual(actor === 'PARTNER' ? { name: 'Acme Partners' } : null);
  },

  businessUnits: unitRowsQuery(
    (world, token) => world.server.gql(Q.businessUnits, {}, token),
    (data) => data.businessUnits.map((u: any) => ({ id: u.id, unit: u.code })),
    async (world, units) => sorted(units.map((u) => world.unitIds[u])),
  ),

  budgetPlans: async (world, actor, outcome) => {
    const res = await world.server.gql(Q.budgetPlans, {}, world.tokens[actor]);
    if (typeof outcome === 'string') return expectError(res, outcome);
    expectNoErrors(res);
    expect(res.data.budgetPlans).toEqual(
      (outcome as ListOutcome).list === 'SOME' ? [{ id: world.planId, name: 'FY2027 Budget', fiscalYear: 2027 }] : [],
    );
  },

  budgetLines: unitRowsQuery(
    (world, token) => world.server.gql(Q.budgetLines, { plan: world.planId }, token),
    (data) => data.budgetLines.map((l: any) => ({ id: l.id, unit: l.businessUnit.code })),
    lineIdsOf,
  ),
  'budgetLines(own)': unitRowsQuery(
    (world, token) => world.server.gql(Q.budgetLines, { plan: world.planId, unit: OWN_UNIT }, token),
    (data) => data.budgetLines.map((l: any) => ({ id: l.id, unit: l.businessUnit.code })),
    lineIdsOf,
  ),
  'budgetLines(other)': unitRowsQuery(
    (world, token) => world.server.gql(Q.budgetLines, { plan: world.planId, unit: OTHER_UNIT }, token),
    (data) => data.budgetLines.map((l: any) => ({ id: l.id, unit: l.businessUnit.code })),
    lineIdsOf,
  ),

  'updateBudgetLine(own)': updateLine(OWN_UNIT),
  'updateBudgetLine(other)': updateLine(OTHER_UNIT),

  budgetSubmissions: unitRowsQuery(
    (world, token) => world.server.gql(Q.budgetSubmissions, { plan: world.planId }, token),
    (data) => data.budgetSubmissions.map((s: any) => ({ id: s.id, unit: s.businessUnit.code })),
    async (world, units) => {
      if (units.length === 0) return [];
      const rows = await world.server.sql<{ id: string }>(
        'SELECT id FROM budget_submission WHERE plan_id = $1 AND business_unit_id = ANY($2::uuid[])',
        [world.planId, units.map((u) => world.unitIds[u])],
      );
      return sorted(rows.map((r) => r.id));
    },
  ),

  'submitBudget(own)': submit(OWN_UNIT),
  'submitBudget(other)': submit(OTHER_UNIT),

  'submissionVersions(own)': unitQuery(Q.submissionVersions, OWN_UNIT, (world, data) => expect(data.submissionVersions).toEqual([])),
  'submissionVersions(other)': unitQuery(Q.submissionVersions, OTHER_UNIT, (world, data) => expect(data.submissionVersions).toEqual([])),
  'submissionChanges(own)': unitQuery(Q.submissionChanges, OWN_UNIT, () => undefined),
  'submissionChanges(other)': unitQuery(Q.submissionChanges, OTHER_UNIT, () => undefined),
  'submissionReadiness(own)': unitQuery(Q.submissionReadiness, OWN_UNIT, (world, data) => expect(data.submissionReadiness.lineCount).toBe(world.lines[OWN_UNIT].length)),
  'submissionReadiness(other)': unitQuery(Q.submissionReadiness, OTHER_UNIT, (world, data) => expect(data.submissionReadiness.lineCount).toBe(world.lines[OTHER_UNIT].length)),
  'withdrawSubmission(own)': refusedOnly(Q.withdrawSubmission, OWN_UNIT),
  'withdrawSubmission(other)': refusedOnly(Q.withdrawSubmission, OTHER_UNIT),
  'reopenSubmission(own)': refusedOnly(Q.reopenSubmission, OWN_UNIT),

  auditLog: unitRowsQuery(
    (world, token) => wholeAuditLog(world.server, token),
    (data) => data.auditLog.edges.map((e: any) => ({ id: e.node.id, unit: e.node.line.businessUnit.code })),
    (world, units) => changeIdsOf(world, units),
  ),
  'auditLog(own line)': unitRowsQuery(
    (world, token) => wholeAuditLog(world.server, token, world.lines[OWN_UNIT][AUDITED_LINE]),
    (data) => data.auditLog.edges.map((e: any) => ({ id: e.node.id, unit: e.node.line.businessUnit.code })),
    (world, units) => changeIdsOf(world, units, world.lines[OWN_UNIT][AUDITED_LINE]),
  ),
  'auditLog(other line)': unitRowsQuery(
    (world, token) => wholeAuditLog(world.server, token, world.lines[OTHER_UNIT][AUDITED_LINE]),
    (data) => data.auditLog.edges.map((e: any) => ({ id: e.node.id, unit: e.node.line.businessUnit.code })),
    (world, units) => changeIdsOf(world, units, world.lines[OTHER_UNIT][AUDITED_LINE]),
  ),

  users: async (world, actor, outcome) => {
    const res = await world.server.gql(Q.users, {}, world.tokens[actor]);
    if (typeof outcome === 'string') return expectError(res, outcome);
    expectNoErrors(res);
    const email = ACTORS[actor]!;
    const { people } = outcome as PeopleOutcome;
    const rows = await world.server.sql<{ email: string }>(
      people === 'EVERYONE'
        ? 'SELECT email FROM app_user'
        : people === 'SELF'
          ? 'SELECT email FROM app_user WHERE email = $1'
          : `SELECT email FROM app_user WHERE organization_id = (SELECT organization_id FROM app_user WHERE email = $1)`,
      people === 'EVERYONE' ? [] : [email],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(sorted(res.data.users.map((u: any) => u.email))).toEqual(sorted(rows.map((r) => r.email)));
    if (people === 'ORGANIZATION') {
      for (const user of res.data.users) expect(user.organization).toEqual({ name: 'Acme Partners' });
    }
  },

  'auditLog(authors details)': async (world, actor, outcome) => {
    const res = await world.server.gql(Q.authorsDetails, {}, world.tokens[actor]);
    if (outcome === UNAUTH) return expectError(res, outcome);
    const edges: { node: { id: string; user: { email: string; role: string } | null } }[] = res.data.auditLog.edges;
    if (typeof outcome === 'object' && 'units' in outcome) {
      expectNoErrors(res);
      expect(edges).toEqual([]);
      return;
    }
    const people = await world.server.sql<{ email: string; role: string }>('SELECT email, role FROM app_user');
    const roleOf = new Map(people.map((p) => [p.email, p.role]));
    const [{ n }] = await world.server.sql<{ n: number }>(
      `SELECT count(*)::int AS n FROM cell_change c JOIN app_user u ON u.id = c.user_id WHERE u.email <> $1`,
      [ACTORS[actor]],
    );
    expect(n).toBeGreaterThan(0);
    if (outcome === DONE) {
      expectNoErrors(res);
      for (const { node } of edges) expect(node.user!.role).toBe(roleOf.get(node.user!.email));
      return;
    }
    // FORBIDDEN on every entry by someone else, nothing of their role or units in the answer; the caller's own
    // entries show theirs.
    expect(res.errors!.length).toBeGreaterThan(0);
    for (const error of res.errors!) {
      expect(error.extensions?.code).toBe('FORBIDDEN');
      expect(['role', 'businessUnits']).toContain(error.path?.at(-1));
    }
    const others = edges.filter((e) => e.node.user === null);
    expect(others.length).toBeGreaterThan(0);
    for (const { node } of edges) if (node.user) expect(node.user.email).toBe(ACTORS[actor]);
    for (const role of new Set(people.map((p) => p.role))) {
      const leaked = edges.some((e) => e.node.user && e.node.user.email !== ACTORS[actor] && e.node.user.role === role);
      expect(leaked).toBe(false);
    }
  },

  signInEvents: async (world, actor, outcome) => {
    const res = await world.server.gql(Q.signInEvents, {}, world.tokens[actor]);
    if (typeof outcome === 'string') return expectError(res, outcome);
    expectNoErrors(res);
    const [{ n }] = await world.server.sql('SELECT count(*)::int AS n FROM sign_in_event');
    expect(n).toBeGreaterThan(0);
    expect(n).toBeLessThan(300);
    expect(res.data.signInEvents).toHaveLength(n);
    expect(res.data.signInEvents).toContainEqual(
      expect.objectContaining({ email: ACTORS[actor], success: true, method: 'PASSWORD', user: { email: ACTORS[actor] } }),
    );
  },
};

// ---------------------------------------------------------------------------------------------------------
// The matrix, minus submitBudget (which freezes a unit: see below)

const SUBMIT_OPERATIONS: OperationName[] = ['submitBudget(own)', 'submitBudget(other)'];
const cases = (Object.keys(MATRIX) as OperationName[])
  .filter((operation) => !SUBMIT_OPERATIONS.includes(operation))
  .flatMap((operation) => ACTOR_NAMES.map((actor) => ({ operation, actor, outcome: expected(operation, actor) })));

describe('row-level security matrix', () => {
  let world: World;

  beforeAll(async () => {
    world = await openWorld();
    // Audit entries in every unit, by an admin and by the unit's own leader, before anyone reads the log.
    // Interleaved across units and more than one page of the log, so pages mix units.
    for (let round = 1; round <= 12; round++) {
      for (const unit of ALL_UNITS) {
        const id = world.lines[unit][AUDITED_LINE];
        const res = await world.server.gql(Q.updateBudgetLine, { id, input: { budgetAmount: round, comment: `seeded ${unit} ${round}` } }, world.tokens.ADMIN);
        expectNoErrors(res);
      }
    }
    const leaderEdit = await world.server.gql(
      Q.updateBudgetLine,
      { id: world.lines[OWN_UNIT][AUDITED_LINE], input: { forecastSales: 42 } },
      world.tokens.LEAD,
    );
    expectNoErrors(leaderEdit);
    const [{ units, entries }] = await world.server.sql(
      'SELECT count(DISTINCT business_unit_id)::int AS units, count(*)::int AS entries FROM cell_change',
    );
    expect(units).toBe(ALL_UNITS.length);
    expect(entries).toBeGreaterThan(50 * 2);
  });
  afterAll(() => world?.server.stop());

  it('covers every operation for every actor', () => {
    for (const row of Object.values(MATRIX)) expect(row).toHaveLength(ACTOR_NAMES.length);
    expect(cases).toHaveLength((Object.keys(MATRIX).length - SUBMIT_OPERATIONS.length) * ACTOR_NAMES.length);
  });

  it.each(cases)('$operation as $actor', async ({ operation, actor, outcome }) => {
    await OPERATIONS[operation](world, actor, outcome);
  });

  it('leaves no audit entry of a refused edit and none outside the edited units', async () => {
    // Every audit entry belongs to a line that was written by someone allowed to: its unit matches its line.
    const [{ n }] = await world.server.sql(
      `SELECT count(*)::int AS n FROM cell_change c JOIN budget_line l ON l.id = c.line_id WHERE l.business_unit_id <> c.business_unit_id`,
    );
    expect(n).toBe(0);
    const writers = await world.server.sql<{ email: string }>(
      `SELECT DISTINCT u.email FROM cell_change c JOIN app_user u ON u.id = c.user_id ORDER BY u.email`,
    );
    expect(writers.map((w) => w.email)).toEqual(sorted([ACTORS.ADMIN, ACTORS.LEAD, ACTORS.PLANNER]));
  });
});

// submitBudget freezes a unit, so each actor gets a fresh server: the other unit first, then their own.
describe.each(ACTOR_NAMES)('row-level security matrix: submitBudget as %s', (actor) => {
  let world: World;
  beforeAll(async () => {
    world = await openWorld();
  });
  afterAll(() => world?.server.stop());

  it.each(['submitBudget(other)', 'submitBudget(own)'] as const)('%s', async (operation) => {
    await OPERATIONS[operation](world, actor, expected(operation, actor));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Existence never leaks

/** What a response says, minus where in the document it was said. */
function answer(res: GraphQLResponse) {
  return {
    status: res.status,
    data: res.data ?? null,
    errors: res.errors?.map((e) => ({ message: e.message, extensions: e.extensions })),
  };
}

describe('no answer reveals whether a hidden row exists', () => {
  let world: World;
  beforeAll(async () => {
    world = await openWorld();
  });
  afterAll(() => world?.server.stop());

  /** Callers who may not read MARKETING. */
  const OUTSIDERS = ['LEAD', 'PLANNER', 'VIEWER', 'PARTNER'] as const;
  const hiddenLineIds = (world: World) => ({
    'a line of another unit': world.lines[OTHER_UNIT][3],
    'a random UUID': randomUUID(),
    'a non-UUID string': 'not-a-uuid',
    'a UUID with the hidden line id upper-cased': world.lines[OTHER_UNIT][3].toUpperCase(),
    'an overlong string': 'x'.repeat(5000),
  });

  it.each(OUTSIDERS)('updateBudgetLine answers %s alike for a hidden line, a missing one and a malformed id', async (actor) => {
    const before = await storedState(world.server);
    const answers = new Map<string, unknown>();
    for (const [label, id] of Object.entries(hiddenLineIds(world))) {
      const res = await world.server.gql(Q.updateBudgetLine, { id, input: { budgetAmount: 7 } }, world.tokens[actor]);
      expectError(res, 'FORBIDDEN');
      answers.set(label, answer(res));
    }
    expect(new Set([...answers.values()].map((a) => JSON.stringify(a))).size, JSON.stringify([...answers])).toBe(1);
    expect(await storedState(world.server)).toEqual(before);
  });

  it.each(OUTSIDERS)('auditLog(lineId) answers %s alike for a hidden line, a missing one and a malformed id', async (actor) => {
    // The hidden line has history: an admin edited it.
    const hidden = world.lines[OTHER_UNIT][3];
    expectNoErrors(await world.server.gql(Q.updateBudgetLine, { id: hidden, input: { comment: `edited for ${actor}` } }, world.tokens.ADMIN));
    const answers = new Map<string, unknown>();
    for (const [label, id] of Object.entries(hiddenLineIds(world))) {
      const res = await world.server.gql(Q.auditLog, { line: id }, world.tokens[actor]);
      expectError(res, 'FORBIDDEN');
      answers.set(label, answer(res));
    }
    expect(new Set([...answers.values()].map((a) => JSON.stringify(a))).size, JSON.stringify([...answers])).toBe(1);
  });

  it.each(['ADMIN', 'ANALYST'] as const)('%s, who reads every unit, is told NOT_FOUND alike for a missing line and a malformed id', async (actor) => {
    for (const query of [
      (id: string) => world.server.gql(Q.updateBudgetLine, { id, input: { budgetAmount: 7 } }, world.tokens[actor]),
      (id: string) => world.server.gql(Q.auditLog, { line: id }, world.tokens[actor]),
    ]) {
      const missing = answer(await query(randomUUID()));
      const malformed = answer(await query('not-a-uuid'));
      expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect(malformed).toEqual(missing);
    }
  });

  const UNIT_CODES = {
    'a unit the caller may not read': OTHER_UNIT,
    'a unit that does not exist': 'NO_SUCH_UNIT',
    'a lower-cased real code': OTHER_UNIT.toLowerCase(),
    'an overlong code': 'X'.repeat(5000),
  };

  it.each(OUTSIDERS)('budgetLines(businessUnitCode) answers %s alike for a hidden unit and a missing one', async (actor) => {
    const answers = new Map<string, unknown>();
    for (const [label, unit] of Object.entries(UNIT_CODES)) {
      const res = await world.server.gql(Q.budgetLines, { plan: world.planId, unit }, world.tokens[actor]);
      expectError(res, 'FORBIDDEN');
      answers.set(label, answer(res));
    }
    expect(new Set([...answers.values()].map((a) => JSON.stringify(a))).size, JSON.stringify([...answers])).toBe(1);
  });

  it.each(OUTSIDERS)('submitBudget answers %s alike for a hidden unit and a missing one, and changes nothing', async (actor) => {
    const before = await storedState(world.server);
    const answers = new Map<string, unknown>();
    for (const [label, unit] of Object.entries(UNIT_CODES)) {
      const res = await world.server.gql(Q.submitBudget, { plan: world.planId, unit }, world.tokens[actor]);
      expectError(res, 'FORBIDDEN');
      answers.set(label, answer(res));
    }
    expect(new Set([...answers.values()].map((a) => JSON.stringify(a))).size, JSON.stringify([...answers])).toBe(1);
    expect(await storedState(world.server)).toEqual(before);
  });
});
