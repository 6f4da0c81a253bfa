/**
 * The one door to row-level security: `authorize(viewer, action, kind, row)` asserts the viewer may do
 * `action` on a loaded row, and `can(...)` asks the same question without throwing. Every resolver, field
 * resolver, subscription and export asks through here, or through a list scope (the `readable*` functions
 * of the policy files, all of one shape: scope.ts); a grid join and its re-checks ask `gridRights` (grid.ts),
 * built on the same rules. The rules themselves are the pure functions of the policy files beside this one,
 * one per kind of row (after Outline's `server/policies/cancan.ts`).
 *
 * A row the viewer may not read is answered exactly like a missing one (`authorize` with a null row;
 * `hiddenRow` for an id that cannot name a row; `readableOrNull` for fields that answer null), so that no
 * answer reveals whether a row exists: per kind, either NOT_FOUND for both, or (unit-scoped rows, as the
 * contract asks) NOT_FOUND to who reads every unit and FORBIDDEN to everyone else. A row the viewer may read
 * but not act on is FORBIDDEN, with the reason.
 *
 * Out of scope: loading rows (callers load, then authorize), and list queries, which are scoped in their
 * WHERE clause by the policy files' scopes, not filtered after fetching.
 */
import type { GraphQLError } from 'graphql';
import type { Role } from '../config.js';
import { forbidden, notFound } from '../errors.js';
import { canEditLine, canReadLine, type LineScope } from './budgetLine.js';
import type { PlanStatus } from '../budget/BudgetPlan.js';
import { canManagePlans, canReadPlans } from './budgetPlan.js';
import { canEditSubmission, canReadSubmission, canReview, mayReopen, maySubmitUnit, mayWithdrawUnit, type SubmissionScope } from './budgetSubmission.js';
import { canReadUnit, canWriteUnit, readableUnits } from './businessUnit.js';
import { canReadCellChange } from './cellChange.js';
import { noteConsulted } from './consulted.js';
import { canManageOrganization, canReadOrganization, canReadOrganizationDetails } from './organization.js';
import { canManageUsers, canReadUser, canReadUserDetails, type UserScope } from './user.js';
import type { Viewer } from './viewer.js';
import {
  canDriveExecution,
  canProvideStepInput,
  canReadExecution,
  canStartWorkflowFor,
  type ExecutionScope,
} from './workflowExecution.js';

type Rule<Row> = (viewer: Viewer, row: Row) => boolean;

/** How a row that is missing, or that the viewer may not read, is answered. */
type HiddenAnswer = (viewer: Viewer, noun: string, verb: string) => GraphQLError;

interface Policy<Row, Action extends string> {
  /** The row kind as messages name it ("Budget line"). */
  noun: string;
  hidden: HiddenAnswer;
  read: Rule<Row>;
  /** Each action beyond reading, with the verb its refusal uses ("change"). */
  actions: Record<Action, { rule: Rule<Row>; verb: string }>;
}

/** Missing and hidden alike: NOT_FOUND. */
const notFoundForAll: HiddenAnswer = (_viewer, noun) => notFound(noun);

/**
 * Unit-scoped rows (units, lines, submissions, audit entries): someone who reads every unit learns nothing
 * from "not found"; anyone else is told FORBIDDEN for both, as the contract asks for other units' rows.
 */
const unitScoped: HiddenAnswer = (viewer, noun, verb) =>
  readableUnits(viewer).kind === 'all' ? notFound(noun) : forbidden(`You may not ${verb} this ${noun.toLowerCase()}`);

/** Fails loudly when a rule needs a field the caller did not load (Outline's `invariant`). */
function loaded<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`Policy: ${what}; load it before asking`);
  return value;
}

function policy<Row>() {
  return <Action extends string>(p: Policy<Row, Action>) => p;
}

/** A manual step of an execution, and the roles its definition lets give the input (none: any driver). */
export interface StepScope {
  execution: ExecutionScope;
  inputRoles?: readonly Role[];
}

/** Starting a workflow of a definition, for an organisation (the one it names, when it names one). */
export interface StartScope {
  definitionKey: string;
  organizationId?: string | null;
}

const policies = {
  BusinessUnit: policy<{ id: string }>()({
    noun: 'Business unit',
    hidden: unitScoped,
    read: (viewer, unit) => canReadUnit(viewer, unit.id),
    actions: { write: { rule: (viewer, unit) => canWriteUnit(viewer, unit.id), verb: 'change' } },
  }),
  BudgetPlan: policy<{ id: string }>()({
    noun: 'Budget plan',
    hidden: notFoundForAll,
    read: (viewer) => canReadPlans(viewer),
    actions: { manage: { rule: (viewer) => canManagePlans(viewer), verb: 'manage' } },
  }),
  BudgetLine: policy<LineScope & { submissionStatus?: SubmissionScope['status']; planStatus?: PlanStatus }>()({
    noun: 'Budget line',
    hidden: unitScoped,
    read: canReadLine,
    actions: {
      update: {
        rule: (viewer, line) =>
          canEditLine(
            viewer,
            line,
            loaded(line.submissionStatus, "a line's update needs its unit's submission status"),
            loaded(line.planStatus, "a line's update needs its plan's status"),
          ),
        verb: 'change',
      },
    },
  }),
  BudgetSubmission: policy<SubmissionScope>()({
    noun: 'Budget submission',
    hidden: unitScoped,
    read: canReadSubmission,
    actions: {
      edit: { rule: canEditSubmission, verb: 'change' },
      /** The role's side only: whether the status allows it now is the caller's CONFLICT to tell. */
      submit: { rule: maySubmitUnit, verb: 'submit' },
      review: { rule: canReview, verb: 'review' },
      /** The role's side only, as for submit: whether the status allows it now is the caller's CONFLICT. */
      withdraw: { rule: mayWithdrawUnit, verb: 'withdraw' },
      reopen: { rule: mayReopen, verb: 'reopen' },
    },
  }),
  CellChange: policy<{ unitId: string }>()({
    noun: 'Audit entry',
    hidden: unitScoped,
    read: canReadCellChange,
    actions: {},
  }),
  WorkflowExecution: policy<ExecutionScope>()({
    noun: 'Workflow execution',
    hidden: notFoundForAll,
    read: canReadExecution,
    actions: { drive: { rule: canDriveExecution, verb: 'drive' } },
  }),
  WorkflowStep: policy<StepScope>()({
    noun: 'Workflow execution',
    hidden: notFoundForAll,
    read: (viewer, step) => canReadExecution(viewer, step.execution),
    actions: {
      retry: { rule: (viewer, step) => canDriveExecution(viewer, step.execution), verb: 'retry steps of' },
      provideInput: { rule: (viewer, step) => canProvideStepInput(viewer, step.execution, step.inputRoles), verb: 'provide input to' },
    },
  }),
  WorkflowDefinition: policy<StartScope>()({
    noun: 'Workflow definition',
    hidden: notFoundForAll,
    read: () => true,
    actions: { start: { rule: canStartWorkflowFor, verb: 'start' } },
  }),
  User: policy<UserScope>()({
    noun: 'User',
    hidden: notFoundForAll,
    read: canReadUser,
    actions: { readDetails: { rule: canReadUserDetails, verb: 'read the details of' }, manage: { rule: canManageUsers, verb: 'manage' } },
  }),
  Organization: policy<{ id: string }>()({
    noun: 'Organization',
    hidden: notFoundForAll,
    read: canReadOrganization,
    actions: { readDetails: { rule: canReadOrganizationDetails, verb: 'read the details of' }, manage: { rule: canManageOrganization, verb: 'manage' } },
  }),
};

type Policies = typeof policies;
export type Kind = keyof Policies;
export type RowOf<K extends Kind> = Policies[K] extends Policy<infer Row, string> ? Row : never;
export type ActionOf<K extends Kind> = 'read' | (keyof Policies[K]['actions'] & string);

function ruleOf<K extends Kind>(kind: K, action: ActionOf<K>): { rule: Rule<RowOf<K>>; verb: string } {
  const p = policies[kind] as unknown as Policy<RowOf<K>, string>;
  if (action === 'read') return { rule: p.read, verb: 'read' };
  const found = p.actions[action];
  if (!found) throw new Error(`No rule for ${action} on ${kind}`);
  return found;
}

/** May the viewer do `action` on this row? (Reading is part of every action: a hidden row allows nothing.) */
export function can<K extends Kind>(viewer: Viewer, action: ActionOf<K>, kind: K, row: RowOf<K>): boolean {
  noteConsulted();
  const p = policies[kind] as unknown as Policy<RowOf<K>, string>;
  if (!p.read(viewer, row)) return false;
  return action === 'read' || ruleOf(kind, action).rule(viewer, row);
}

/**
 * Asserts the viewer may do `action` on `row`, a row the caller loaded (null or undefined: there is none, or
 * the id could not name one). Throws the kind's hidden-row answer when the row is missing or unreadable, and
 * FORBIDDEN (with `refusal`, or "You may not <verb> this <noun>") when it is readable but the action is not
 * allowed.
 */
export function authorize<K extends Kind, R extends RowOf<K>>(
  viewer: Viewer,
  action: ActionOf<K>,
  kind: K,
  row: R | null | undefined,
  refusal?: (row: R) => string,
): asserts row is R {
  noteConsulted();
  const p = policies[kind] as unknown as Policy<RowOf<K>, string>;
  const { rule, verb } = ruleOf(kind, action);
  if (row === null || row === undefined || !p.read(viewer, row)) throw p.hidden(viewer, p.noun, verb);
  if (action !== 'read' && !rule(viewer, row)) {
    throw forbidden(refusal ? refusal(row) : `You may not ${verb} this ${p.noun.toLowerCase()}`);
  }
}

/** The answer to a row that is missing or hidden, for callers that find out before loading (a malformed id). */
export function hiddenRow<K extends Kind>(viewer: Viewer, action: ActionOf<K>, kind: K): GraphQLError {
  noteConsulted();
  const p = policies[kind] as unknown as Policy<RowOf<K>, string>;
  return p.hidden(viewer, p.noun, ruleOf(kind, action).verb);
}

/**
 * The loaded entity when the viewer may read it, else null: for fields that answer null, not an error, to a
 * row that is missing or hidden (alike). `rowOf` gives what the kind's policy looks at.
 */
export function readableOrNull<K extends Kind, E>(viewer: Viewer, kind: K, entity: E | null | undefined, rowOf: (entity: E) => RowOf<K>): E | null {
  noteConsulted();
  return entity !== null && entity !== undefined && can(viewer, 'read', kind, rowOf(entity)) ? entity : null;
}
