/**
 * Administering plans and units (admins only, policies/budgetPlan.ts and businessUnit.ts): creating a plan,
 * empty or as a copy of another, renaming it, closing and reopening it, and creating a business unit. Each change is one
 * transaction with its activity-log entry (activity/activityLog.ts), so there is never a half-made plan nor a
 * change without its entry.
 *
 * A new plan's lines are written by one INSERT ... SELECT each (a plan has a unit count x 120 lines, or as many
 * as the plan it copies), not entity by entity. A plan's status change is published once it is committed
 * (PLAN_STATUS_CHANGED, events.ts): open grids of the plan turn read-only, or writable again, on every instance.
 *
 * Out of scope: adding and removing lines of an existing plan; who may edit a closed plan's lines (nobody:
 * policies/budgetLine.ts) and how open grids follow a status change (collab/GridServer.ts).
 */
import { LockMode, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activityLog.js';
import { exportableText } from '../db/storableText.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { badUserInput, forbidden, notFound } from '../errors.js';
import { isUuid } from '../ids.js';
import { authorize } from '../policies/authorize.js';
import { canManagePlans } from '../policies/budgetPlan.js';
import { canManageUnits } from '../policies/businessUnit.js';
import type { Viewer } from '../policies/viewer.js';
import { publish, type EventBus } from '../realtime/eventBus.js';
import { BudgetPlan, type PlanStatus } from './BudgetPlan.js';
import type { BudgetTopics } from './events.js';
import { unitGridLayout } from './planLayout.js';
import { MAX_UNIT_CODE_LENGTH, planNotFound } from './unitLookup.js';

/** What a copied plan takes over from the plan it copies, beyond its lines. */
export const CARRY_OVERS = ['NONE', 'BUDGET_AS_PRIOR_YEAR', 'VALUES'] as const;
export type CarryOver = (typeof CARRY_OVERS)[number];

export interface NewPlan {
  name: string;
  fiscalYear: number;
  /** Another plan whose lines (units, categories, regions, quarters, positions) the new one takes. */
  copyFromPlanId?: string | null;
  /**
   * NONE: values empty, priorYearActual null. BUDGET_AS_PRIOR_YEAR: the source's budgetAmount becomes
   * priorYearActual. VALUES: every value copied (priorYearActual, budgetAmount, forecastSales, comment).
   * Without copyFromPlanId it does not apply. Default NONE.
   */
  carryOver?: CarryOver | null;
  /** Units can be submitted only once every line has a budget amount (default false). */
  requireCompleteSubmission?: boolean | null;
}

/** A business unit's code: an upper-case letter, then 1 to 31 upper-case letters, digits or underscores. */
export const UNIT_CODE = /^[A-Z][A-Z0-9_]{1,31}$/;
const MAX_NAME_LENGTH = 200;

function requirePlanManager(viewer: Viewer): void {
  if (!canManagePlans(viewer)) throw forbidden('Only admins may manage budget plans');
}

function cleanName(name: string, what: string): string {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_NAME_LENGTH) throw badUserInput(`${what} must be 1 to ${MAX_NAME_LENGTH} characters`, 'name');
  // A name is shown in every picker and written into every export: what no export can write (a control character,
  // U+FFFE, U+FFFF, an unpaired surrogate, NUL) would read differently in each, as comments would (budget/columns.ts).
  if (exportableText(trimmed) !== trimmed) throw badUserInput(`${what} must not contain control characters or the noncharacters U+FFFE and U+FFFF`, 'name');
  return trimmed;
}

/** Runs SQL on the transaction's own connection (without its context it would take another pooled one). */
async function run(tx: EntityManager, sql: string, params: unknown[]): Promise<number> {
  const result = await tx.getConnection().execute<{ affectedRows: number }>(sql, params, 'run', tx.getTransactionContext());
  return result.affectedRows;
}

/**
 * Creates a plan: every business unit x the grid's layout (planLayout.ts) with empty values, or the lines of
 * `copyFromPlanId` with what `carryOver` says; every unit's submission DRAFT. A taken name: BAD_USER_INPUT.
 */
export async function createPlan(em: EntityManager, viewer: Viewer, input: NewPlan): Promise<BudgetPlan> {
  requirePlanManager(viewer);
  const name = cleanName(input.name, 'A plan name');
  if (!Number.isInteger(input.fiscalYear) || input.fiscalYear < 1900 || input.fiscalYear > 9999) {
    throw badUserInput('The fiscal year must be a year between 1900 and 9999', 'fiscalYear');
  }
  const carryOver: CarryOver = input.carryOver ?? 'NONE';
  let source: BudgetPlan | null = null;
  if (input.copyFromPlanId != null) {
    source = isUuid(input.copyFromPlanId) ? await em.findOne(BudgetPlan, { id: input.copyFromPlanId }) : null;
    authorize(viewer, 'read', 'BudgetPlan', source);
  }
  const taken = () => badUserInput(`A plan named "${name}" already exists`, 'name');
  try {
    const planId = await em.transactional(async (tx) => {
      // Compared without case: "fy2028 budget" next to "FY2028 Budget" is the same name to the people picking a plan
      // from a list (the plan pickers, the consolidated view, Excel's OData feed), and a plan cannot be deleted, so a
      // second one made by mistake stays in every list.
      const [{ n }] = await tx.getConnection().execute<{ n: number }[]>('select count(*)::int as n from "budget_plan" where lower("name") = lower(?)', [name]);
      if (n > 0) throw taken();
      const plan = tx.create(BudgetPlan, { name, fiscalYear: input.fiscalYear, requireCompleteSubmission: input.requireCompleteSubmission ?? false });
      await tx.flush();
      const lines = source ? await copyLines(tx, plan.id, source.id, carryOver) : await layOutLines(tx, plan.id);
      await run(tx, `insert into "budget_submission" ("id", "plan_id", "business_unit_id", "status") select gen_random_uuid(), ?, "id", 'DRAFT' from "business_unit"`, [plan.id]);
      recordActivity(tx, viewer, 'PLAN_CREATED', name, {
        planId: plan.id,
        fiscalYear: plan.fiscalYear,
        copyFromPlanId: source?.id ?? null,
        carryOver: source ? carryOver : null,
        lines,
        ...(input.requireCompleteSubmission ? { requireCompleteSubmission: true } : {}),
      });
      return plan.id;
    });
    return await em.findOneOrFail(BudgetPlan, { id: planId }, { refresh: true });
  } catch (err) {
    // Two admins creating the same name at once: the second meets the unique constraint.
    if (err instanceof UniqueConstraintViolationException) throw taken();
    throw err;
  }
}

/** Every unit's lines as the seed lays them out, values empty. */
function layOutLines(tx: EntityManager, planId: string): Promise<number> {
  return run(
    tx,
    `insert into "budget_line" ("id", "plan_id", "business_unit_id", "product_category", "region", "quarter", "position")
     select gen_random_uuid(), ?, u."id", l."product_category", l."region", l."quarter", l."position"
       from "business_unit" u
       cross join jsonb_to_recordset(cast(? as jsonb)) as l("product_category" text, "region" text, "quarter" text, "position" int)`,
    [
      planId,
      JSON.stringify(unitGridLayout().map((l) => ({ product_category: l.productCategory, region: l.region, quarter: l.quarter, position: l.position }))),
    ],
  );
}

/** The source plan's lines, with the values `carryOver` keeps; versions start again at 1, nobody has edited them. */
function copyLines(tx: EntityManager, planId: string, sourceId: string, carryOver: CarryOver): Promise<number> {
  const priorYear = { NONE: 'null', BUDGET_AS_PRIOR_YEAR: 's."budget_amount"', VALUES: 's."prior_year_actual"' }[carryOver];
  const values = carryOver === 'VALUES';
  return run(
    tx,
    `insert into "budget_line" ("id", "plan_id", "business_unit_id", "product_category", "region", "quarter", "position",
                                "prior_year_actual", "budget_amount", "forecast_sales", "comment")
     select gen_random_uuid(), ?, s."business_unit_id", s."product_category", s."region", s."quarter", s."position",
            ${priorYear}, ${values ? 's."budget_amount"' : 'null'}, ${values ? 's."forecast_sales"' : 'null'}, ${values ? 's."comment"' : "''"}
       from "budget_line" s where s."plan_id" = ?`,
    [planId, sourceId],
  );
}

/**
 * Renames a plan (a typo, or "Draft FY2028" once it is the budget), with its activity entry; names stay unique
 * without regard to case, as createPlan has them, but a plan may change the case of its own name. The same name
 * changes nothing and logs nothing. Lines, submissions, audit entries and tokens refer to the plan by id: only
 * what shows its name changes (pickers, exports, the OData feed); notifications already sent keep the name
 * they were written with.
 */
export async function renamePlan(em: EntityManager, viewer: Viewer, planId: string, wantedName: string): Promise<BudgetPlan> {
  requirePlanManager(viewer);
  if (!isUuid(planId)) throw planNotFound();
  const name = cleanName(wantedName, 'A plan name');
  const taken = () => badUserInput(`A plan named "${name}" already exists`, 'name');
  try {
    await em.transactional(async (tx) => {
      const plan = await tx.findOne(BudgetPlan, { id: planId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      authorize(viewer, 'manage', 'BudgetPlan', plan);
      if (plan.name === name) return;
      const [{ n }] = await tx
        .getConnection()
        .execute<{ n: number }[]>('select count(*)::int as n from "budget_plan" where lower("name") = lower(?) and "id" <> ?', [name, planId], 'all', tx.getTransactionContext());
      if (n > 0) throw taken();
      recordActivity(tx, viewer, 'PLAN_RENAMED', name, { planId, previousName: plan.name, name });
      plan.name = name;
    });
  } catch (err) {
    // Two admins giving two plans the same name at once: the second meets the unique constraint.
    if (err instanceof UniqueConstraintViolationException) throw taken();
    throw err;
  }
  return em.findOneOrFail(BudgetPlan, { id: planId }, { refresh: true });
}

/**
 * Closes or reopens a plan. Committed with its activity entry, then published, so that open grids of the plan
 * follow (read-only while it is closed). Setting the status it already has changes nothing and logs nothing.
 */
export async function setPlanStatus(
  em: EntityManager,
  events: EventBus<BudgetTopics>,
  viewer: Viewer,
  planId: string,
  status: PlanStatus,
): Promise<BudgetPlan> {
  requirePlanManager(viewer);
  if (!isUuid(planId)) throw planNotFound();
  const changed = await em.transactional(async (tx) => {
    const plan = await tx.findOne(BudgetPlan, { id: planId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    authorize(viewer, 'manage', 'BudgetPlan', plan);
    if (plan.status === status) return false;
    recordActivity(tx, viewer, 'PLAN_STATUS_CHANGED', plan.name, { planId, from: plan.status, to: status });
    plan.status = status;
    return true;
  });
  if (changed) publish(events, 'PLAN_STATUS_CHANGED', { planId, status });
  return em.findOneOrFail(BudgetPlan, { id: planId }, { refresh: true });
}

/**
 * Sets whether the plan's units can be submitted only once every line has a budget amount (admins), with its
 * activity entry: it changes what the units' leaders may do. Setting what it already is logs nothing.
 */
export async function setRequireCompleteSubmission(em: EntityManager, viewer: Viewer, planId: string, required: boolean): Promise<BudgetPlan> {
  requirePlanManager(viewer);
  if (!isUuid(planId)) throw planNotFound();
  await em.transactional(async (tx) => {
    const plan = await tx.findOne(BudgetPlan, { id: planId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    authorize(viewer, 'manage', 'BudgetPlan', plan);
    if (plan.requireCompleteSubmission === required) return;
    recordActivity(tx, viewer, 'PLAN_SUBMISSION_RULE_CHANGED', plan.name, { planId, requireCompleteSubmission: required });
    plan.requireCompleteSubmission = required;
  });
  return em.findOneOrFail(BudgetPlan, { id: planId }, { refresh: true });
}

/** Creates a business unit, with a DRAFT submission in every open plan. A taken code: BAD_USER_INPUT. */
export async function createUnit(em: EntityManager, viewer: Viewer, code: string, unitName: string): Promise<BusinessUnit> {
  if (!canManageUnits(viewer)) throw forbidden('Only admins may create business units');
  if (!UNIT_CODE.test(code)) {
    throw badUserInput('A unit code is an upper-case letter followed by 1 to 31 upper-case letters, digits or underscores', 'code');
  }
  const name = cleanName(unitName, 'A unit name');
  const taken = () => badUserInput(`A business unit with the code ${code} already exists`, 'code');
  try {
    const unitId = await em.transactional(async (tx) => {
      if ((await tx.count(BusinessUnit, { code })) > 0) throw taken();
      const unit = tx.create(BusinessUnit, { code, name });
      await tx.flush();
      const plans = await run(
        tx,
        `insert into "budget_submission" ("id", "plan_id", "business_unit_id", "status") select gen_random_uuid(), "id", ?, 'DRAFT' from "budget_plan" where "status" = 'OPEN'`,
        [unit.id],
      );
      recordActivity(tx, viewer, 'UNIT_CREATED', code, { unitId: unit.id, name, openPlans: plans });
      return unit.id;
    });
    return await em.findOneOrFail(BusinessUnit, { id: unitId }, { refresh: true });
  } catch (err) {
    if (err instanceof UniqueConstraintViolationException) throw taken();
    throw err;
  }
}

/**
 * Renames a business unit (admins): a name mistyped when it was created, or a reorganisation. The code stays: it
 * is what grids, exports, the OData feed, access tokens' scopes and scripts name the unit by. Every view reads
 * the name from the unit, so grids, exports and the feed show the new one from the next read on.
 */
export async function renameUnit(em: EntityManager, viewer: Viewer, code: string, wantedName: string): Promise<BusinessUnit> {
  if (!canManageUnits(viewer)) throw forbidden('Only admins may rename business units');
  const name = cleanName(wantedName, 'A unit name');
  const unitId = await em.transactional(async (tx) => {
    const unit = code.length <= MAX_UNIT_CODE_LENGTH ? await tx.findOne(BusinessUnit, { code }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
    if (!unit) throw notFound('Business unit');
    if (unit.name === name) return unit.id;
    recordActivity(tx, viewer, 'UNIT_RENAMED', code, { unitId: unit.id, previousName: unit.name, name });
    unit.name = name;
    return unit.id;
  });
  return em.findOneOrFail(BusinessUnit, { id: unitId }, { refresh: true });
}
