/**
 * Adding lines to a plan and removing them (admins only, policies/budgetPlan.ts): `addBudgetLines` and
 * `removeBudgetLines`. Each call is one transaction with its activity entries (LINES_ADDED, LINES_REMOVED), and
 * either all of it happens or none: any bad line refuses the whole call.
 *
 * The rules, and why:
 * - A closed plan: FORBIDDEN, like every other change to its lines (setBudgetPlanStatus, budgetLineWriter.ts).
 * - A unit whose submission is SUBMITTED or APPROVED: CONFLICT. What is reviewed, published and diffed is
 *   exactly what was submitted, and the grid freeze keeps every cell of such a unit as submitted; adding or
 *   removing its lines would change the submitted budget under the reviewer. It is the unit's state that stands
 *   in the way, not the admin's rights (an admin may restructure that unit once the submission is rejected,
 *   withdrawn or reopened), hence CONFLICT rather than FORBIDDEN. The submissions are locked for the
 *   transaction, so a submission cannot commit in between.
 * - A line's quarter is Q1 to Q4. Its category and region are the plan layout's (planLayout.ts), or any others a
 *   finance team budgets by ("Cloud services", "India"): a text of 1 to 80 characters, trimmed, without control
 *   characters. A line of the layout's category and region takes its place in the grid's order (its position
 *   follows from them); a category and region of its own go after every line the plan has, its quarters in
 *   order, and later quarters of that category and region join them (the plan's lines are locked while they are
 *   placed, so that two admins adding at once cannot interleave their groups).
 * - priorYearActual follows the amounts' rule (finite, 0 to 1e12), the one the grid and updateBudgetLine apply.
 * - A line that exists already, the same line twice in one call, an unknown unit, more than 5,000 lines:
 *   BAD_USER_INPUT, nothing added.
 * - Ids to remove that name no line (unknown, removed already, or not ids at all) do not count: the answer is
 *   how many lines were removed, and removing is idempotent. Ids may span units and plans; each plan gets its
 *   own LINES_REMOVED entry.
 *
 * A removed line leaves `budget_line` for good and is copied into `removed_budget_line` (RemovedBudgetLine.ts)
 * under the same id, so that every read path forgets it with nothing to filter, while its audit entries keep
 * answering `line { ... }` (RelationResolvers.ts).
 *
 * Once committed, one BUDGET_LINES_RESTRUCTURED event per unit (events.ts) goes to every instance: open grid
 * documents take the new lines' cells and drop the removed ones' (collab/GridServer.ts), and open grids learn of
 * the rows through `budgetLinesStructureChanged`.
 */
import { LockMode, UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/postgresql';
import { recordActivity } from '../activity/activityLog.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { badUserInput, conflict, forbidden } from '../errors.js';
import { isUuid } from '../ids.js';
import { authorize } from '../policies/authorize.js';
import { isFrozen } from '../policies/budgetLine.js';
import { canManagePlans, isPlanOpen } from '../policies/budgetPlan.js';
import type { Viewer } from '../policies/viewer.js';
import { publish, type EventBus } from '../realtime/eventBus.js';
import { PLAN_CLOSED } from './budgetLineWriter.js';
import { BudgetPlan } from './BudgetPlan.js';
import type { SubmissionStatus } from './BudgetSubmission.js';
import { cellValueProblem } from './columns.js';
import type { BudgetTopics } from './events.js';
import { snapshotFromRow, type BudgetLineSnapshot, type LineSnapshotRow } from './lineSnapshot.js';
import { linePosition, PRODUCT_CATEGORIES, QUARTERS, REGIONS } from './planLayout.js';
import { planNotFound } from './unitLookup.js';

/** Lines one call may add, or ids it may name for removal (the contract's cap, as updateBudgetLines'). */
export const MAX_LINES_PER_CALL = 5000;

export interface NewLine {
  businessUnitCode: string;
  productCategory: string;
  region: string;
  quarter: string;
  priorYearActual?: number | null;
}

function requirePlanManager(viewer: Viewer): void {
  if (!canManagePlans(viewer)) throw forbidden('Only admins may add or remove budget lines');
}

/** Runs SQL on the transaction's own connection (without its context it would take another pooled one). */
function rows<T>(tx: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  return tx.getConnection().execute<T[]>(sql, params, 'all', tx.getTransactionContext());
}

const vocabulary = (list: readonly string[]) => new Map(list.map((value, index) => [value, index]));
const CATEGORY_INDEX = vocabulary(PRODUCT_CATEGORIES);
const REGION_INDEX = vocabulary(REGIONS);
const QUARTER_INDEX = vocabulary(QUARTERS);
/** Longest category or region name: a grid column and a spreadsheet header, not a description. */
export const MAX_DIMENSION_LENGTH = 80;
/** Where the layout's lines end: lines of a category and region of their own are placed from here on. */
const LAYOUT_END = linePosition(PRODUCT_CATEGORIES.length, 0, 0);

/** Why a category or region name cannot be one (or null). */
function dimensionProblem(value: string, what: string): string | null {
  if (value.length === 0) return `the ${what} must not be empty`;
  if (value.length > MAX_DIMENSION_LENGTH) return `the ${what} must be at most ${MAX_DIMENSION_LENGTH} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) return `the ${what} must not contain control characters`;
  // As in comments (budget/columns.ts): XML does not allow them, and every export writes them as U+FFFD, so a
  // line named with one could not be found again by the name its own export shows.
  if (/[\uFFFE\uFFFF]/.test(value)) return `the ${what} must not contain the noncharacters U+FFFE or U+FFFF`;
  return null;
}

const describe = (l: NewLine) => `${l.businessUnitCode} ${l.productCategory}, ${l.region}, ${l.quarter}`;
const keyOf = (unitId: string, category: string, region: string, quarter: string) => JSON.stringify([unitId, category, region, quarter]);

/** Why a new line cannot be added whatever the plan holds (or null), `at` naming it in the message. */
function lineProblem(line: NewLine, at: string): string | null {
  const problem0 = dimensionProblem(line.productCategory, 'product category') ?? dimensionProblem(line.region, 'region');
  if (problem0) return `${at}: ${problem0}`;
  if (!QUARTER_INDEX.has(line.quarter)) return `${at}: the quarter must be one of ${QUARTERS.join(', ')}`;
  const prior = line.priorYearActual ?? null;
  const problem = prior === null ? null : cellValueProblem('budgetAmount', prior);
  return problem && `${at}: ${problem.replace('budgetAmount', 'priorYearActual')}`;
}

/** Counts per unit code, sorted, for activity details. */
function countByUnit(codes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const code of [...codes].sort()) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

/** The columns of a line snapshot, selected from `l` (a line row) joined with its unit `u` and editor `p`. */
const SNAPSHOT_COLUMNS = `l.id, l.plan_id, l.business_unit_id AS unit_id, u.code AS unit_code, u.name AS unit_name, l.product_category,
  l.region, l.quarter, l.position, l.prior_year_actual, l.budget_amount, l.forecast_sales, l.comment, l.version, l.updated_at,
  p.id AS user_id, p.email AS user_email, p.display_name AS user_name, p.role AS user_role`;

/**
 * Adds lines to a plan, all or none (see the header for the rules); returns them in the order given. Their
 * values start empty but for priorYearActual; each unit concerned gets a DRAFT submission in the plan if it
 * had none (a unit created while the plan was closed), so that it can be submitted.
 */
export async function addLines(
  em: EntityManager,
  events: EventBus<BudgetTopics>,
  viewer: Viewer,
  planId: string,
  lines: readonly NewLine[],
): Promise<BudgetLineSnapshot[]> {
  requirePlanManager(viewer);
  if (!isUuid(planId)) throw planNotFound();
  if (lines.length > MAX_LINES_PER_CALL) throw badUserInput(`At most ${MAX_LINES_PER_CALL} lines may be added at once`, 'lines');
  // Stored as shown: " Cloud" and "Cloud" are one category.
  lines = lines.map((l) => ({ ...l, productCategory: l.productCategory.trim(), region: l.region.trim(), quarter: l.quarter.trim() }));
  lines.forEach((line, i) => {
    const problem = lineProblem(line, `Line ${i + 1} (${describe(line)})`);
    if (problem) throw badUserInput(problem, 'lines');
  });
  const codes = [...new Set(lines.map((l) => l.businessUnitCode))];
  const units = new Map((codes.length > 0 ? await em.find(BusinessUnit, { code: { $in: codes } }) : []).map((u) => [u.code, u]));
  const seen = new Set<string>();
  lines.forEach((line, i) => {
    const unit = units.get(line.businessUnitCode);
    if (!unit) throw badUserInput(`Line ${i + 1}: there is no business unit ${line.businessUnitCode}`, 'lines');
    // Without case, as the import matches a row to its line ("laptops" is the same line as "Laptops").
    const key = keyOf(unit.id, line.productCategory.toLowerCase(), line.region.toLowerCase(), line.quarter);
    if (seen.has(key)) throw badUserInput(`Line ${i + 1} (${describe(line)}) is given twice`, 'lines');
    seen.add(key);
  });

  const exists = (what: string) => badUserInput(`${what} already exists in this plan`, 'lines');
  let added: BudgetLineSnapshot[];
  try {
    added = await em.transactional(async (tx) => {
      // Shared: a plan closed meanwhile waits for us, and we for it (setBudgetPlanStatus locks it for update).
      const plan = await tx.findOne(BudgetPlan, { id: planId }, { lockMode: LockMode.PESSIMISTIC_READ });
      authorize(viewer, 'manage', 'BudgetPlan', plan);
      if (!isPlanOpen(plan.status)) throw forbidden(PLAN_CLOSED);
      if (lines.length === 0) return [];
      const unitIds = [...new Set([...units.values()].map((u) => u.id))];
      await requireUnitsEditable(tx, planId, unitIds, units, true);

      const positionOf = await linePlacer(tx, planId, lines);
      const payload = lines.map((l) => {
        const unit = units.get(l.businessUnitCode)!;
        return {
          business_unit_id: unit.id,
          product_category: l.productCategory,
          region: l.region,
          quarter: l.quarter,
          position: positionOf(l),
          prior_year_actual: l.priorYearActual ?? null,
        };
      });
      // A line that differs only in case is the same line: the import (spreadsheets/importLines.ts) matches rows to
      // lines by unit, category, region and quarter without case, and would find two; the consolidated view and the
      // grid's filters would show "laptops" beside "Laptops". A finance QA pass added "laptops, europe, Q1" next to
      // the layout's "Laptops, Europe, Q1".
      const taken = await rows<{ business_unit_id: string; product_category: string; region: string; quarter: string }>(
        tx,
        `select l."business_unit_id", l."product_category", l."region", l."quarter"
           from "budget_line" l
           join jsonb_to_recordset(cast(? as jsonb)) as n("business_unit_id" uuid, "product_category" text, "region" text, "quarter" text)
             on n."business_unit_id" = l."business_unit_id" and lower(n."product_category") = lower(l."product_category")
            and lower(n."region") = lower(l."region") and n."quarter" = l."quarter"
          where l."plan_id" = ? limit 1`,
        [JSON.stringify(payload), planId],
      );
      if (taken.length > 0) {
        const t = taken[0];
        const code = [...units.values()].find((u) => u.id === t.business_unit_id)!.code;
        throw exists(`${code} ${t.product_category}, ${t.region}, ${t.quarter}`);
      }
      const inserted = await rows<LineSnapshotRow>(
        tx,
        `with l as (
           insert into "budget_line" ("id", "plan_id", "business_unit_id", "product_category", "region", "quarter", "position", "prior_year_actual")
           select gen_random_uuid(), ?, n."business_unit_id", n."product_category", n."region", n."quarter", n."position", n."prior_year_actual"
             from jsonb_to_recordset(cast(? as jsonb))
               as n("business_unit_id" uuid, "product_category" text, "region" text, "quarter" text, "position" int, "prior_year_actual" float8)
           returning *
         )
         select ${SNAPSHOT_COLUMNS} from l join "business_unit" u on u."id" = l."business_unit_id" left join "app_user" p on p."id" = l."updated_by_id"`,
        [planId, JSON.stringify(payload)],
      );
      recordActivity(tx, viewer, 'LINES_ADDED', plan.name, {
        planId,
        count: inserted.length,
        units: countByUnit(lines.map((l) => l.businessUnitCode)),
      });
      // In the order given (an INSERT's RETURNING promises none).
      const byKey = new Map(inserted.map((r) => [keyOf(r.unit_id, r.product_category, r.region, r.quarter), snapshotFromRow(r)]));
      return payload.map((p) => byKey.get(keyOf(p.business_unit_id, p.product_category, p.region, p.quarter))!);
    });
  } catch (err) {
    // Two admins adding the same line at once: the second meets the unique constraint.
    if (err instanceof UniqueConstraintViolationException) throw exists('One of these lines');
    throw err;
  }
  const byUnit = new Map<string, BudgetLineSnapshot[]>();
  for (const line of added) byUnit.set(line.businessUnit.id, [...(byUnit.get(line.businessUnit.id) ?? []), line]);
  for (const [unitId, unitLines] of byUnit) {
    const { code, name } = unitLines[0].businessUnit;
    publish(events, 'BUDGET_LINES_RESTRUCTURED', { planId, unitId, unit: { id: unitId, code, name }, added: unitLines, removedLineIds: [] });
  }
  return added;
}

/**
 * Where each new line goes in its unit's grid order. A line of the layout's category and region: where the layout
 * puts it. Another category and region: beside its other quarters when the plan has some of them (in any unit:
 * every unit lists it at the same place), else after every line of the plan, a group of four positions per
 * category and region, in the order given. Those are placed under a lock on the plan's lines (until the
 * transaction ends), so that two calls cannot both take the same place.
 */
async function linePlacer(tx: EntityManager, planId: string, lines: readonly NewLine[]): Promise<(line: NewLine) => number> {
  const layoutPosition = (l: NewLine) =>
    CATEGORY_INDEX.has(l.productCategory) && REGION_INDEX.has(l.region)
      ? linePosition(CATEGORY_INDEX.get(l.productCategory)!, REGION_INDEX.get(l.region)!, QUARTER_INDEX.get(l.quarter)!)
      : null;
  const groupOf = (l: NewLine) => JSON.stringify([l.productCategory, l.region]);
  const bases = new Map<string, number>();
  if (lines.some((l) => layoutPosition(l) === null)) {
    await rows(tx, 'select pg_advisory_xact_lock(hashtext(?))', [`plan-lines:${planId}`]);
    const found = await rows<{ product_category: string; region: string; base: number }>(
      tx,
      `select "product_category", "region", min("position" - "position" % 4)::int as "base" from (
         select "product_category", "region", "position" from "budget_line" where "plan_id" = ?
         union all
         select "product_category", "region", "position" from "removed_budget_line" where "plan_id" = ?
       ) lines where "position" >= ? group by "product_category", "region"`,
      [planId, planId, LAYOUT_END],
    );
    for (const g of found) bases.set(JSON.stringify([g.product_category, g.region]), g.base);
    const [{ end }] = await rows<{ end: number }>(
      tx,
      `select greatest(?, coalesce(max("position"), 0) - coalesce(max("position"), 0) % 4 + 4)::int as "end" from (
         select "position" from "budget_line" where "plan_id" = ? union all select "position" from "removed_budget_line" where "plan_id" = ?
       ) lines`,
      [LAYOUT_END, planId, planId],
    );
    let next = end;
    for (const l of lines) {
      if (layoutPosition(l) !== null || bases.has(groupOf(l))) continue;
      bases.set(groupOf(l), next);
      next += QUARTERS.length;
    }
  }
  return (l) => layoutPosition(l) ?? bases.get(groupOf(l))! + QUARTER_INDEX.get(l.quarter)!;
}

/**
 * Locks the submissions of these units in the plan (for the rest of the transaction: no submission commits
 * meanwhile) and refuses with CONFLICT when one is SUBMITTED or APPROVED. With `createMissing`, a unit without a
 * submission in the plan gets a DRAFT one first.
 */
async function requireUnitsEditable(
  tx: EntityManager,
  planId: string,
  unitIds: string[],
  units: ReadonlyMap<string, { id: string; code: string }>,
  createMissing: boolean,
): Promise<void> {
  if (createMissing) {
    await rows(
      tx,
      `insert into "budget_submission" ("id", "plan_id", "business_unit_id", "status")
       select gen_random_uuid(), ?, u::uuid, 'DRAFT' from jsonb_array_elements_text(cast(? as jsonb)) as u
       on conflict ("plan_id", "business_unit_id") do nothing returning "id"`,
      [planId, JSON.stringify(unitIds)],
    );
  }
  const submissions = await rows<{ business_unit_id: string; status: SubmissionStatus }>(
    tx,
    `select "business_unit_id", "status" from "budget_submission"
      where "plan_id" = ? and "business_unit_id" in (select u::uuid from jsonb_array_elements_text(cast(? as jsonb)) as u)
      order by "business_unit_id" for update`,
    [planId, JSON.stringify(unitIds)],
  );
  const frozen = submissions.find((s) => isFrozen(s.status));
  if (frozen) {
    const code = [...units.values()].find((u) => u.id === frozen.business_unit_id)?.code ?? 'this unit';
    throw conflict(
      `The ${code} budget is ${frozen.status.toLowerCase()}: its lines cannot change until its submission is rejected, withdrawn or reopened`,
    );
  }
}

/**
 * Removes lines, all or none (see the header); returns how many were removed. Ids naming no line do not
 * count. Each removed line is kept, as it was, in removed_budget_line, and its audit history stays readable.
 */
export async function removeLines(em: EntityManager, events: EventBus<BudgetTopics>, viewer: Viewer, ids: readonly string[]): Promise<number> {
  requirePlanManager(viewer);
  if (ids.length > MAX_LINES_PER_CALL) throw badUserInput(`At most ${MAX_LINES_PER_CALL} lines may be removed at once`, 'ids');
  const wanted = [...new Set(ids.filter(isUuid).map((id) => id.toLowerCase()))];
  if (wanted.length === 0) return 0;

  const removed = await em.transactional(async (tx) => {
    // In id order, as the grid's projection locks lines, so that the two never deadlock.
    const found = await rows<{ id: string; plan_id: string; business_unit_id: string; code: string; name: string }>(
      tx,
      `select l."id", l."plan_id", l."business_unit_id", u."code", u."name"
         from "budget_line" l join "business_unit" u on u."id" = l."business_unit_id"
        where l."id" in (select i::uuid from jsonb_array_elements_text(cast(? as jsonb)) as i)
        order by l."id" for update of l`,
      [JSON.stringify(wanted)],
    );
    if (found.length === 0) return [];
    const planIds = [...new Set(found.map((l) => l.plan_id))].sort();
    const plans = await tx.find(BudgetPlan, { id: { $in: planIds } }, { lockMode: LockMode.PESSIMISTIC_READ, orderBy: { id: 'asc' } });
    if (plans.some((p) => !isPlanOpen(p.status))) throw forbidden(PLAN_CLOSED);
    for (const plan of plans) {
      const mine = found.filter((l) => l.plan_id === plan.id);
      const units = new Map(mine.map((l) => [l.code, { id: l.business_unit_id, code: l.code }]));
      await requireUnitsEditable(tx, plan.id, [...new Set(mine.map((l) => l.business_unit_id))], units, false);
    }
    await rows(
      tx,
      `with gone as (
         delete from "budget_line" where "id" in (select i::uuid from jsonb_array_elements_text(cast(? as jsonb)) as i) returning *
       )
       insert into "removed_budget_line" ("id", "plan_id", "business_unit_id", "product_category", "region", "quarter", "position",
              "prior_year_actual", "budget_amount", "forecast_sales", "comment", "version", "updated_at", "updated_by_id", "removed_at", "removed_by_id")
       select g."id", g."plan_id", g."business_unit_id", g."product_category", g."region", g."quarter", g."position", g."prior_year_actual",
              g."budget_amount", g."forecast_sales", g."comment", g."version", g."updated_at", g."updated_by_id", now(), ?
         from gone g
       returning "id"`,
      [JSON.stringify(found.map((l) => l.id)), viewer.userId],
    );
    for (const plan of plans) {
      const mine = found.filter((l) => l.plan_id === plan.id);
      recordActivity(tx, viewer, 'LINES_REMOVED', plan.name, { planId: plan.id, count: mine.length, units: countByUnit(mine.map((l) => l.code)) });
    }
    return found;
  });

  const byUnit = new Map<string, typeof removed>();
  for (const line of removed) {
    const key = `${line.plan_id}/${line.business_unit_id}`;
    byUnit.set(key, [...(byUnit.get(key) ?? []), line]);
  }
  for (const unitLines of byUnit.values()) {
    const { plan_id: planId, business_unit_id: unitId, code, name } = unitLines[0];
    publish(events, 'BUDGET_LINES_RESTRUCTURED', { planId, unitId, unit: { id: unitId, code, name }, added: [], removedLineIds: unitLines.map((l) => l.id) });
  }
  return removed.length;
}
