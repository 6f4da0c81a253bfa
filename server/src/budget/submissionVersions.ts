/**
 * The frozen versions of a unit's submission (table `submission_version`, migration ReviewLoop): each submit
 * writes one, in the submit's own transaction while the unit is frozen (workflow/engine.ts `submitBudget`, under
 * `freezeWhile`), so a version holds exactly what was submitted: every line's editable cells (and its prior-year
 * actual, for the publish) as one jsonb array, with the total of budgetAmount. The finance review's outcome is
 * copied onto the version it reviewed; a withdrawal (or a cancelled review) marks it WITHDRAWN.
 *
 * What reads them: `submissionVersions` and `submissionChanges` (ReviewResolver.ts, diffed here in
 * `diffStoredVersions`), and the Power BI publish (workflow/steps.ts), which publishes the reviewed version's values,
 * never the live lines.
 *
 * Rows are written and read with SQL (no entity): the lines are one jsonb value, compared and read in the database.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { auditText, EDITABLE_COLUMNS, type EditableColumn } from './columns.js';

export const SUBMISSION_VERSION_TABLES = ['submission_version'];

export const SUBMISSION_VERSION_STATUSES = ['SUBMITTED', 'APPROVED', 'REJECTED', 'WITHDRAWN'] as const;
export type SubmissionVersionStatus = (typeof SUBMISSION_VERSION_STATUSES)[number];

/** One line as it was submitted. */
export interface FrozenLine {
  id: string;
  productCategory: string;
  region: string;
  quarter: string;
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  priorYearActual: number | null;
}

export interface VersionRecord {
  version: number;
  status: SubmissionVersionStatus;
  executionId: string | null;
  submittedAt: Date;
  submittedById: string | null;
  reviewedAt: Date | null;
  reviewedById: string | null;
  reviewComment: string | null;
  total: number;
  lineCount: number;
}

interface VersionRow {
  version: number;
  status: SubmissionVersionStatus;
  execution_id: string | null;
  submitted_at: Date;
  submitted_by_id: string | null;
  reviewed_at: Date | null;
  reviewed_by_id: string | null;
  review_comment: string | null;
  total: number;
  line_count: number;
}

const RECORD_COLUMNS = `"version", "status", "execution_id", "submitted_at", "submitted_by_id", "reviewed_at", "reviewed_by_id", "review_comment", "total", "line_count"`;

function recordOf(row: VersionRow): VersionRecord {
  return {
    version: row.version,
    status: row.status,
    executionId: row.execution_id,
    submittedAt: new Date(row.submitted_at),
    submittedById: row.submitted_by_id,
    reviewedAt: row.reviewed_at ? new Date(row.reviewed_at) : null,
    reviewedById: row.reviewed_by_id,
    reviewComment: row.review_comment,
    total: Number(row.total),
    lineCount: row.line_count,
  };
}

/**
 * Freezes the unit's lines as version `version` of the submission, in `tx`'s transaction (the submit's).
 * One INSERT … SELECT: the lines never leave the database.
 */
export async function freezeVersion(
  tx: EntityManager,
  v: { submissionId: string; version: number; executionId: string; submittedAt: Date; submittedById: string; planId: string; unitId: string },
): Promise<void> {
  await tx.execute(
    `insert into "submission_version" ("id", "submission_id", "version", "status", "execution_id", "submitted_at", "submitted_by_id", "total", "line_count", "lines")
     select gen_random_uuid(), ?, ?, 'SUBMITTED', ?, ?, ?, coalesce(sum(l."budget_amount"), 0), count(*),
            coalesce(jsonb_agg(jsonb_build_object('id', l."id", 'productCategory', l."product_category", 'region', l."region", 'quarter', l."quarter",
              'budgetAmount', l."budget_amount", 'forecastSales', l."forecast_sales", 'comment', l."comment", 'priorYearActual', l."prior_year_actual")
              order by l."position", l."id"), '[]'::jsonb)
       from "budget_line" l where l."plan_id" = ? and l."business_unit_id" = ?`,
    [v.submissionId, v.version, v.executionId, v.submittedAt, v.submittedById, v.planId, v.unitId],
  );
}

/** The finance review's outcome, on the version its execution reviews. */
export async function recordReview(
  tx: EntityManager,
  executionId: string,
  review: { status: 'APPROVED' | 'REJECTED'; reviewedById: string; reviewedAt: Date; comment: string | null },
): Promise<void> {
  await tx.execute(
    `update "submission_version" set "status" = ?, "reviewed_by_id" = ?, "reviewed_at" = ?, "review_comment" = ? where "execution_id" = ?`,
    [review.status, review.reviewedById, review.reviewedAt, review.comment, executionId],
  );
}

/** The version an execution reviewed is withdrawn (its review cancelled before a decision). */
export async function markWithdrawn(tx: EntityManager, executionId: string): Promise<void> {
  await tx.execute(`update "submission_version" set "status" = 'WITHDRAWN' where "execution_id" = ? and "status" = 'SUBMITTED'`, [executionId]);
}

/** A submission's versions, oldest first, without their lines. */
export async function listVersions(em: EntityManager, submissionId: string): Promise<VersionRecord[]> {
  const rows = await em.execute<VersionRow[]>(`select ${RECORD_COLUMNS} from "submission_version" where "submission_id" = ? order by "version"`, [submissionId]);
  return rows.map(recordOf);
}

/** The version number an execution reviews, or null. */
export async function versionOfExecution(em: EntityManager, executionId: string): Promise<number | null> {
  const [row] = await em.execute<{ version: number }[]>(`select "version" from "submission_version" where "execution_id" = ? order by "version" desc limit 1`, [executionId]);
  return row ? row.version : null;
}

/** The lines an execution submitted (its version), or null when it froze none (a review started before versions). */
export async function linesOfExecution(em: EntityManager, executionId: string): Promise<FrozenLine[] | null> {
  const [row] = await em.execute<{ lines: FrozenLine[] }[]>(`select "lines" from "submission_version" where "execution_id" = ? order by "version" desc limit 1`, [executionId]);
  return row ? row.lines : null;
}

export interface CellDiffRecord {
  line: Pick<FrozenLine, 'id' | 'productCategory' | 'region' | 'quarter'>;
  column: EditableColumn;
  before: string | null;
  after: string | null;
}

/** A cell as a diff shows it: amounts as their decimal text (as the audit log writes them), an empty comment as none. */
function cellText(line: FrozenLine | undefined, column: EditableColumn): string | null {
  if (!line) return null;
  const value = line[column];
  return value === '' ? null : auditText(value);
}

/** The cells of one line that differ between two versions (`was`/`now` undefined: the line is not in that one). */
function lineDiffs(was: FrozenLine | undefined, now: FrozenLine | undefined): CellDiffRecord[] {
  const line = (now ?? was)!;
  const diffs: CellDiffRecord[] = [];
  for (const column of EDITABLE_COLUMNS) {
    const a = cellText(was, column);
    const b = cellText(now, column);
    if (a !== b) diffs.push({ line: { id: line.id, productCategory: line.productCategory, region: line.region, quarter: line.quarter }, column, before: a, after: b });
  }
  return diffs;
}

/**
 * The cells whose submitted values differ between `version` and `against` (0: nothing, so every non-empty cell
 * of `version` is a change): a line in only one of them is a change of each of its non-empty cells. In
 * `version`'s line order, then the lines only `against` had, in its order; columns in their grid order. The
 * lines are compared in the database, so only those that differ at all leave it (at 10,000 lines a version is
 * about 0.5 MB of jsonb, and a resubmission usually changes few). Null when either version does not exist.
 */
export async function diffStoredVersions(em: EntityManager, submissionId: string, version: number, against: number): Promise<CellDiffRecord[] | null> {
  const [found] = await em.execute<{ n: string }[]>(
    `select count(*) as "n" from "submission_version" where "submission_id" = ? and "version" in (?, ?)`,
    [submissionId, version, against],
  );
  if (Number(found.n) !== (against === 0 || against === version ? 1 : 2)) return null;
  const rows = await em.execute<{ was: FrozenLine | null; now: FrozenLine | null }[]>(
    `with "n" as (select e."v", e."ord" from "submission_version" s, jsonb_array_elements(s."lines") with ordinality as e("v", "ord")
                   where s."submission_id" = ? and s."version" = ?),
          "o" as (select e."v", e."ord" from "submission_version" s, jsonb_array_elements(s."lines") with ordinality as e("v", "ord")
                   where s."submission_id" = ? and s."version" = ?)
     select "o"."v" as "was", "n"."v" as "now"
       from "n" full join "o" on "n"."v"->>'id' = "o"."v"->>'id'
      where "n"."v" is distinct from "o"."v"
      order by "n"."ord" nulls last, "o"."ord"`,
    [submissionId, version, submissionId, against],
  );
  return rows.flatMap((r) => lineDiffs(r.was ?? undefined, r.now ?? undefined));
}

/** How many of a unit's lines lack a budget amount, of how many (plans that require completeness refuse a submit then). */
export async function missingBudgets(em: EntityManager, planId: string, unitId: string): Promise<{ missing: number; total: number }> {
  const [row] = await em.execute<{ missing: string; total: string }[]>(
    `select count(*) filter (where "budget_amount" is null) as "missing", count(*) as "total" from "budget_line" where "plan_id" = ? and "business_unit_id" = ?`,
    [planId, unitId],
  );
  return { missing: Number(row.missing), total: Number(row.total) };
}
