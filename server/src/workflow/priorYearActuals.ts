/**
 * Prior-year actuals loaded from a Power BI semantic model into a plan (`loadPriorYearActuals`, admins): the DAX
 * query of POWERBI_ACTUALS_DAX, its `{fiscalYear}` replaced by the plan's fiscal year minus 1, runs through
 * "Execute Queries" (adapters/powerBiQuery.ts); its rows, matched to the plan's lines by unit, category, region and
 * quarter, set priorYearActual through the one write path (BudgetLineWriter.writeSystemColumn): one transaction for
 * the whole load, an audit entry per changed cell (column priorYearActual, source API, the admin as the user),
 * versions + 1, `budgetLineChanged` for open grids, and a VALUES_IMPORTED activity entry (so the
 * `budget.values_imported` webhook) when anything changed.
 *
 * The result's columns are found by name, without any `Table[...]` prefix or brackets: BusinessUnitCode,
 * ProductCategory, Region, Quarter, Amount (case does not matter). Rows of one line are summed (a model at
 * month or account grain gives several). Every value is checked before anything is written: one bad amount
 * (not a finite number, negative, above 1e12: the amounts' rule) and nothing is loaded. A row that names no
 * line of the plan is counted as unmatched and reported, never written.
 *
 * A unit whose budget is SUBMITTED or APPROVED is skipped and named in the result: what was submitted stays
 * exactly what is reviewed (CONTRACT: no edit lands in a unit after its submission committed), reference data
 * included. A closed plan is refused, as on every write path. Lines the query says nothing of keep their value.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { GraphQLError } from 'graphql';
import { recordActivityOn } from '../activity/activityLog.js';
import { BudgetPlan, type PlanStatus } from '../budget/BudgetPlan.js';
import type { SubmissionStatus } from '../budget/BudgetSubmission.js';
import { PLAN_CLOSED, type BudgetLineWriter } from '../budget/budgetLineWriter.js';
import { MAX_AMOUNT } from '../budget/columns.js';
import { writePriorYearActuals, type PriorYearActualChange } from '../budget/lineStore.js';
import { planNotFound } from '../budget/unitLookup.js';
import type { PowerBiActualsConfig } from '../config.js';
import { withSqlClient, type SqlClient } from '../db/sql.js';
import { badUserInput, ErrorCode, forbidden } from '../errors.js';
import { isUuid } from '../ids.js';
import { canManagePlans, isPlanOpen } from '../policies/budgetPlan.js';
import { isFrozen } from '../policies/budgetLine.js';
import type { Viewer } from '../policies/viewer.js';
import type { QueryRow } from './adapters/powerBiQuery.js';
import { isTransient } from './adapters/types.js';

export const COLUMNS = ['BusinessUnitCode', 'ProductCategory', 'Region', 'Quarter', 'Amount'] as const;
type Column = (typeof COLUMNS)[number];
/** How many unmatched keys and invalid rows a result or an error names. */
export const MAX_EXAMPLES = 20;
const MAX_PROBLEMS_SHOWN = 5;

export const NOT_CONFIGURED =
  'Prior-year actuals from Power BI are not configured: set POWERBI_ACTUALS_DATASET_ID and POWERBI_ACTUALS_DAX (and the Entra app) on the server';

export interface PriorYearActualsLoadResult {
  planId: string;
  /** The year the actuals are for: the plan's fiscal year minus 1 (what `{fiscalYear}` became). */
  fiscalYear: number;
  dryRun: boolean;
  rowsRead: number;
  /** Lines whose priorYearActual changed (or would, in a dry run). */
  linesUpdated: number;
  /** Matched lines that already held the value. */
  unchanged: number;
  /** Keys (unit / category / region / quarter, after summing) that name no line of the plan. */
  unmatched: number;
  unmatchedExamples: string[];
  /** Units left as they are because their budget is submitted or approved (codes, sorted). */
  skippedUnits: string[];
}

/** The query's rows per line key, summed. */
interface Actual {
  unit: string;
  category: string;
  region: string;
  quarter: string;
  amount: number;
}

interface PlanLineRow {
  id: string;
  unit_code: string;
  unit_id: string;
  product_category: string;
  region: string;
  quarter: string;
  prior_year_actual: number | null;
  submission_status: SubmissionStatus;
}

/** The query to run for a plan: `{fiscalYear}` is the plan's year minus 1, an integer (nothing else is put in). */
export function queryFor(dax: string, fiscalYear: number): string {
  return dax.replaceAll('{fiscalYear}', String(Math.trunc(fiscalYear)));
}

/** `Table[Column]`, `[Column]` or `Column` -> `column` (lower case). */
function columnName(key: string): string {
  const bracketed = /\[([^\]]*)\]\s*$/.exec(key);
  return (bracketed ? bracketed[1] : key).trim().toLowerCase();
}

const keyOf = (unit: string, category: string, region: string, quarter: string) => [unit, category, region, quarter].map((p) => p.toLowerCase()).join('\u0000');

/**
 * The rows as actuals per line key, summed; throws BAD_USER_INPUT, naming the first problems, when a column is
 * missing or any value is not valid.
 */
export function actualsFrom(rows: readonly QueryRow[]): Map<string, Actual> {
  if (rows.length === 0) return new Map();
  const found = new Map<string, string>();
  for (const row of rows) for (const key of Object.keys(row)) if (!found.has(columnName(key))) found.set(columnName(key), key);
  const missing = COLUMNS.filter((c) => !found.has(c.toLowerCase()));
  if (missing.length > 0) {
    throw badUserInput(
      `The Power BI query's result has no column ${missing.join(', ')} (it has ${[...found.values()].join(', ')}): ` +
        `its columns must be named ${COLUMNS.join(', ')}`,
    );
  }
  const keys = Object.fromEntries(COLUMNS.map((c) => [c, found.get(c.toLowerCase())!])) as Record<Column, string>;
  const problems: string[] = [];
  const actuals = new Map<string, Actual>();
  rows.forEach((row, i) => {
    const text = (column: Exclude<Column, 'Amount'>): string | null => {
      const value = row[keys[column]];
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
        problems.push(`row ${i + 1}: ${column} must be a text, got ${JSON.stringify(value)?.slice(0, 60)}`);
        return null;
      }
      return value.trim();
    };
    const [unit, category, region, quarter] = [text('BusinessUnitCode'), text('ProductCategory'), text('Region'), text('Quarter')];
    const amount = row[keys.Amount];
    const amountProblem = amountProblemOf(amount);
    if (amountProblem) problems.push(`row ${i + 1}: Amount ${amountProblem}, got ${JSON.stringify(amount)?.slice(0, 60)}`);
    if (unit === null || category === null || region === null || quarter === null || amountProblem) return;
    const key = keyOf(unit, category, region, quarter);
    const actual = actuals.get(key);
    if (actual) actual.amount += amount as number;
    else actuals.set(key, { unit, category, region, quarter, amount: amount as number });
  });
  for (const a of actuals.values()) {
    if (a.amount > MAX_AMOUNT) problems.push(`${describe(a)}: the rows add up to ${a.amount}, above ${MAX_AMOUNT}`);
  }
  if (problems.length > 0) {
    const more = problems.length > MAX_PROBLEMS_SHOWN ? ` (and ${problems.length - MAX_PROBLEMS_SHOWN} more)` : '';
    throw badUserInput(
      `The Power BI query's result has ${problems.length} invalid value${problems.length === 1 ? '' : 's'}, so nothing was loaded: ` +
        `${problems.slice(0, MAX_PROBLEMS_SHOWN).join('; ')}${more}`,
    );
  }
  return actuals;
}

/** The amounts' rule (budget/columns.ts): a finite number, 0 to 1e12. Null is not an actual. */
function amountProblemOf(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
  if (value < 0) return 'must not be negative';
  if (value > MAX_AMOUNT) return `must be at most ${MAX_AMOUNT}`;
  return null;
}

const describe = (a: Pick<Actual, 'unit' | 'category' | 'region' | 'quarter'>) => `${a.unit} / ${a.category} / ${a.region} / ${a.quarter}`;

const PLAN_LINES = `
  SELECT l.id, u.code AS unit_code, u.id AS unit_id, l.product_category, l.region, l.quarter, l.prior_year_actual,
         COALESCE(s.status, 'DRAFT') AS submission_status
    FROM budget_line l
    JOIN business_unit u ON u.id = l.business_unit_id
    LEFT JOIN budget_submission s ON s.plan_id = l.plan_id AND s.business_unit_id = l.business_unit_id
   WHERE l.plan_id = $1
   ORDER BY l.id`;

/**
 * Under lock, in the load's transaction: the plan (FOR SHARE: a closing waits for the load, or the load for it),
 * the units' submissions (FOR SHARE: a submission committing waits, or is waited for) and the lines (FOR UPDATE,
 * in id order as the grid's projection locks them).
 */
async function readLocked(client: SqlClient, planId: string): Promise<{ planStatus: PlanStatus | null; lines: PlanLineRow[] }> {
  const plan = await client.query<{ status: PlanStatus }>('SELECT status FROM budget_plan WHERE id = $1 FOR SHARE', [planId]);
  await client.query('SELECT 1 FROM budget_submission WHERE plan_id = $1 FOR SHARE', [planId]);
  const { rows } = await client.query<PlanLineRow>(`${PLAN_LINES} FOR UPDATE OF l`, [planId]);
  return { planStatus: plan.rows[0]?.status ?? null, lines: rows };
}

interface Outcome {
  changes: (PriorYearActualChange & { unitCode: string })[];
  result: Omit<PriorYearActualsLoadResult, 'planId' | 'fiscalYear' | 'dryRun' | 'rowsRead'>;
}

/** What loading `actuals` into these lines does. */
function outcome(actuals: ReadonlyMap<string, Actual>, lines: readonly PlanLineRow[]): Outcome {
  const byKey = new Map<string, PlanLineRow>();
  for (const line of lines) byKey.set(keyOf(line.unit_code, line.product_category, line.region, line.quarter), line);
  const changes: Outcome['changes'] = [];
  const skipped = new Set<string>();
  const unmatchedExamples: string[] = [];
  let unmatched = 0;
  let unchanged = 0;
  for (const [key, actual] of actuals) {
    const line = byKey.get(key);
    if (!line) {
      unmatched += 1;
      if (unmatchedExamples.length < MAX_EXAMPLES) unmatchedExamples.push(`${describe(actual)}: no such line in this plan`);
      continue;
    }
    if (isFrozen(line.submission_status)) {
      skipped.add(line.unit_code);
      continue;
    }
    if (line.prior_year_actual === actual.amount) unchanged += 1;
    else changes.push({ lineId: line.id, was: line.prior_year_actual, value: actual.amount, unitCode: line.unit_code });
  }
  return { changes, result: { linesUpdated: changes.length, unchanged, unmatched, unmatchedExamples, skippedUnits: [...skipped].sort() } };
}

/** Runs the configured query; every way it can fail is a GraphQL error naming what Power BI said. */
export interface ActualsQuery {
  execute(dax: string): Promise<QueryRow[]>;
}

export function describeSource(config: PowerBiActualsConfig | undefined): { configured: boolean; datasetId: string | null; groupId: string | null; query: string | null } {
  return { configured: !!config, datasetId: config?.datasetId ?? null, groupId: config?.groupId ?? null, query: config?.query ?? null };
}

export function requireActualsLoader(viewer: Viewer): void {
  if (!canManagePlans(viewer)) throw forbidden('Only admins may load prior-year actuals');
}

export async function loadPriorYearActuals(
  em: EntityManager,
  writer: BudgetLineWriter,
  source: { config: PowerBiActualsConfig; query: ActualsQuery } | undefined,
  viewer: Viewer,
  planId: string,
  dryRun: boolean,
): Promise<PriorYearActualsLoadResult> {
  requireActualsLoader(viewer);
  const plan = isUuid(planId) ? await em.findOne(BudgetPlan, { id: planId }) : null;
  if (!plan) throw planNotFound();
  if (!isPlanOpen(plan.status)) throw forbidden(PLAN_CLOSED);
  if (!source) throw badUserInput(NOT_CONFIGURED);

  const fiscalYear = plan.fiscalYear - 1;
  let rows: QueryRow[];
  try {
    rows = await source.query.execute(queryFor(source.config.query, fiscalYear));
  } catch (err) {
    if (err instanceof GraphQLError) throw err;
    // Power BI's own words (microsoftApi.ts keeps tokens out of them): what an admin needs to fix an id, a
    // permission or the query. BAD_USER_INPUT: the request cannot be served as things are set up; `retryable`
    // says whether the same call may pass later (no answer, 429, 5xx, after ATTEMPTS tries).
    const message = (err instanceof Error ? err.message : String(err)).replace(/\.+$/, '');
    const transient = isTransient(err);
    throw new GraphQLError(`Loading prior-year actuals failed, nothing was changed: ${message}.${transient ? ' Try again later.' : ''}`, {
      extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: transient },
    });
  }
  const actuals = actualsFrom(rows);
  const base = { planId: plan.id, fiscalYear, dryRun, rowsRead: rows.length };

  if (dryRun) {
    const { rows: lines } = await withSqlClient(em, (client) => client.query<PlanLineRow>(PLAN_LINES, [plan.id]));
    return { ...base, ...outcome(actuals, lines).result };
  }

  // Every unit the rows name holds its turn (those with lines in the plan; the rest match nothing).
  const { rows: units } = await withSqlClient(em, (client) =>
    client.query<{ id: string; code: string }>('SELECT DISTINCT u.id, u.code FROM budget_line l JOIN business_unit u ON u.id = l.business_unit_id WHERE l.plan_id = $1', [plan.id]),
  );
  const named = new Set([...actuals.values()].map((a) => a.unit.toLowerCase()));
  const targets = units.filter((u) => named.has(u.code.toLowerCase())).map((u) => ({ planId: plan.id, unitId: u.id, unitCode: u.code }));
  const held = new Set(targets.map((t) => t.unitCode));

  return writer.writeSystemColumn(targets, async (client) => {
    const { planStatus, lines } = await readLocked(client, plan.id);
    if (planStatus === null) throw planNotFound();
    // Closed since the check above (setBudgetPlanStatus).
    if (!isPlanOpen(planStatus)) throw forbidden(PLAN_CLOSED);
    // A unit given lines since the turns were taken is left for the next load rather than written out of turn.
    const { changes, result } = outcome(
      actuals,
      lines.filter((l) => held.has(l.unit_code)),
    );
    const changed = await writePriorYearActuals(client, changes, viewer.userId, new Date());
    if (changed.length > 0) {
      await recordActivityOn(client, viewer, 'VALUES_IMPORTED', plan.name, {
        planId: plan.id,
        source: 'POWER_BI',
        column: 'priorYearActual',
        fiscalYear,
        cells: changed.length,
        unmatched: result.unmatched,
        skippedUnits: result.skippedUnits,
      });
    }
    return { result: { ...base, ...result }, changed };
  });
}
