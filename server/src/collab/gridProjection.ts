/**
 * The projection of grid documents into `budget_line` rows and `cell_change` audit entries.
 *
 * Every accepted cell change (observed on the document, so reverted changes never appear) is queued with
 * the person it came from; the queue of a document is written every `intervalMs` in one transaction:
 * each line's row gets its new values, `version` + 1, `updatedBy`/`updatedAt`, and one audit entry per
 * column that really changed (the rules of BudgetLineWriter.writeChanges). After commit, `budgetLineChanged`
 * is published once per changed line, with its full snapshot. Writes of one document never overlap.
 *
 * A batch is plain SQL (sql.ts): lock the lines, one UPDATE of every changed line and one INSERT of every
 * audit entry, in one statement; no entity is hydrated, tracked or populated. API edits come through here
 * too (GridServer.applyEdit), so this is the only writer of those columns.
 *
 * Several instances: each projects the changes it accepted, never the ones relayed from another instance, so
 * every change is written once. One case needs more: two instances change the same cell at about the same
 * time. Both project their own value; Yjs settles on one of them everywhere, but the row keeps whichever
 * projection committed last, and an instance cannot know whether its write committed before or after the
 * other's. So each instance keeps, per cell it has written, the value it wrote last; when a relayed change
 * moves the cell away from that value, it writes the settled value too (attributed to whoever made it).
 * Then every instance's last write of a cell is the settled value, and so is the row, whatever the commit
 * order. When the other instance's write is in already, this one changes nothing: no version, no audit
 * entry, no event. Cells this instance never wrote cost nothing.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type * as Y from 'yjs';
import type { CellChanges } from '../budget/budgetLineWriter.js';
import type { ChangeSource } from '../budget/CellChange.js';
import { auditText, EDITABLE_COLUMNS, type CellValue, type EditableColumn } from '../budget/columns.js';
import type { BudgetLineSnapshot } from '../budget/lineSnapshot.js';
import type { Logger } from '../log.js';
import type { EventBus } from '../realtime/eventBus.js';
import { parseCellKey, projectedValue } from './cellRules.js';
import { isRelayOrigin, type EditOrigin, type GridDocument, type RelayOrigin } from './GridDocument.js';
import { inSqlTransaction, type SqlClient } from './sql.js';

interface QueuedChange {
  lineId: string;
  changes: CellChanges;
  /** null: a settled value whose author the relay did not say (found in the audit log when it can be). */
  origin: EditOrigin | null;
}

interface DocProjection {
  queue: QueuedChange[];
  timer?: NodeJS.Timeout;
  /** The write in progress (one at a time per document). */
  writing?: Promise<void>;
  unobserve: () => void;
  /** Per cell this instance has written, the value it wrote last (invariant: its value in the document). */
  written: Map<string, CellValue>;
}

function isEditOrigin(origin: unknown): origin is EditOrigin {
  return typeof origin === 'object' && origin !== null && 'userId' in origin && 'source' in origin;
}

export class GridProjection {
  private readonly docs = new Map<string, DocProjection>();
  /** Seconds from a change being queued to its row being committed, for the metrics. */
  onProjected?: (count: number) => void;

  constructor(
    private readonly em: EntityManager,
    private readonly events: EventBus,
    private readonly log: Logger,
    private readonly intervalMs = 100,
  ) {}

  attach(doc: GridDocument): void {
    const observer = (event: Y.YMapEvent<unknown>, tr: Y.Transaction) => {
      const projection = this.docs.get(doc.name)!;
      if (isRelayOrigin(tr.origin)) return this.settle(doc, projection, event.keysChanged, tr.origin);
      if (!isEditOrigin(tr.origin)) return; // loading and seeding change no row
      const byLine = new Map<string, CellChanges>();
      for (const key of event.keysChanged) {
        const cell = parseCellKey(key, doc.lineIds);
        if (!cell) continue;
        const value = projectedValue(cell.column, doc.cells.has(key) ? doc.cells.get(key) : undefined);
        const changes = byLine.get(cell.lineId) ?? {};
        changes[cell.column] = value;
        byLine.set(cell.lineId, changes);
        projection.written.set(key, value);
      }
      if (byLine.size === 0) return;
      for (const [lineId, changes] of byLine) projection.queue.push({ lineId, changes, origin: tr.origin });
      this.schedule(doc.name, projection);
    };
    doc.cells.observe(observer);
    this.docs.set(doc.name, { queue: [], unobserve: () => doc.cells.unobserve(observer), written: new Map() });
  }

  /** A relayed change moved cells this instance has written: write the settled values too. */
  private settle(doc: GridDocument, projection: DocProjection, keys: Set<string>, origin: RelayOrigin): void {
    const byLine = new Map<string, CellChanges>();
    for (const key of keys) {
      if (!projection.written.has(key)) continue;
      const cell = parseCellKey(key, doc.lineIds);
      if (!cell) continue;
      const value = projectedValue(cell.column, doc.cells.has(key) ? doc.cells.get(key) : undefined);
      if (value === projection.written.get(key)) continue; // what we wrote last still stands
      projection.written.set(key, value);
      const changes = byLine.get(cell.lineId) ?? {};
      changes[cell.column] = value;
      byLine.set(cell.lineId, changes);
    }
    if (byLine.size === 0) return;
    for (const [lineId, changes] of byLine) projection.queue.push({ lineId, changes, origin: origin.by });
    this.schedule(doc.name, projection);
  }

  private schedule(docName: string, projection: DocProjection): void {
    projection.timer ??= setTimeout(() => void this.flush(docName), this.intervalMs);
  }

  /** Writes everything queued for the document; resolves when it is committed (and retried until it is). */
  async flush(docName: string): Promise<void> {
    const projection = this.docs.get(docName);
    if (!projection) return;
    while (projection.writing || projection.queue.length > 0) {
      if (projection.writing) {
        await projection.writing.catch(() => undefined);
        continue;
      }
      clearTimeout(projection.timer);
      projection.timer = undefined;
      const batch = projection.queue;
      projection.queue = [];
      projection.writing = this.write(batch).then(
        () => {
          projection.writing = undefined;
        },
        async (err) => {
          projection.writing = undefined;
          projection.queue = [...batch, ...projection.queue];
          this.log.error({ err, docName }, 'projecting grid changes failed; retrying');
          await new Promise((r) => setTimeout(r, 500));
        },
      );
    }
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.docs.keys()].map((name) => this.flush(name)));
  }

  /** Stops projecting a document (after a final flush by the caller). */
  detach(docName: string): void {
    const projection = this.docs.get(docName);
    if (!projection) return;
    clearTimeout(projection.timer);
    projection.unobserve();
    this.docs.delete(docName);
  }

  /**
   * One batch in one transaction: lock the lines (in id order, so that concurrent writers, another document's
   * flush or another instance, can never deadlock with us), apply the changes in order as the API always has
   * (a column whose value really changes gets an audit entry, and the line `version` + 1, `updatedBy`,
   * `updatedAt` per change), then write every changed line with one UPDATE and every audit entry with one
   * INSERT, in one statement that also reads the editors the events carry. After commit, `budgetLineChanged`
   * once per changed line, with its full snapshot.
   */
  private async write(batch: QueuedChange[]): Promise<void> {
    const ids = [...new Set(batch.map((c) => c.lineId))].sort();
    const written = await inSqlTransaction(this.em, async (client) => {
      const { rows } = await client.query<LineRow>({ name: 'grid_projection_lock', text: LOCK_LINES, values: [ids] });
      const byId = new Map(rows.map((row) => [row.id, toLineState(row)]));
      const now = new Date();
      const audit: AuditRow[] = [];
      /** Changed lines, in the order of their first change. */
      const changed = new Map<string, LineState>();
      for (const change of batch) {
        const line = byId.get(change.lineId);
        if (!line) continue;
        const origin = change.origin ?? (await this.authorOf(client, line, change.changes));
        if (applyChange(line, change.changes, origin.userId, origin.source, now, audit)) changed.set(line.id, line);
      }
      if (changed.size === 0) return { lines: [], editors: new Map<string, EditorRow>() };
      const lines = [...changed.values()];
      const editorIds = [...new Set(lines.map((l) => l.updatedById).filter((id): id is string => id !== null))];
      const { rows: editors } = await client.query<EditorRow>({
        name: 'grid_projection_write',
        text: WRITE_LINES,
        values: [
          lines.map((l) => l.id),
          lines.map((l) => l.budgetAmount),
          lines.map((l) => l.forecastSales),
          lines.map((l) => l.comment),
          lines.map((l) => l.version),
          lines.map((l) => l.updatedAt.toISOString()),
          lines.map((l) => l.updatedById),
          audit.map((a) => a.lineId),
          audit.map((a) => a.unitId),
          audit.map((a) => a.column),
          audit.map((a) => a.oldValue),
          audit.map((a) => a.newValue),
          audit.map((a) => a.userId),
          audit.map((a) => a.source),
          now.toISOString(),
          editorIds,
        ],
      });
      return { lines, editors: new Map(editors.map((e) => [e.id, e])) };
    });
    this.onProjected?.(batch.length);
    for (const line of written.lines) {
      this.events.publish('BUDGET_LINE_CHANGED', { planId: line.planId, unitId: line.unitId, line: snapshotOf(line, written.editors) });
    }
  }

  /**
   * Who set a settled value, when the relay did not say (it came from storage or from another instance's
   * memory after Redis was away): the latest audit entry that wrote it, or nobody we know.
   */
  private async authorOf(client: SqlClient, line: LineState, changes: CellChanges): Promise<{ userId: string | null; source: 'GRID' }> {
    for (const [column, value] of Object.entries(changes) as [EditableColumn, CellValue][]) {
      if (line[column] === value) continue;
      const { rows } = await client.query<{ user_id: string | null }>({
        name: 'grid_projection_author',
        text: `SELECT user_id FROM cell_change WHERE line_id = $1 AND column_name = $2 AND new_value IS NOT DISTINCT FROM $3 ORDER BY id DESC LIMIT 1`,
        values: [line.id, column, auditText(value)],
      });
      if (rows[0]) return { userId: rows[0].user_id, source: 'GRID' };
    }
    return { userId: null, source: 'GRID' };
  }
}

/** The lines of a batch, locked, with what their events carry of their unit. */
const LOCK_LINES = `
  SELECT l.id, l.plan_id, l.business_unit_id, u.code AS unit_code, u.name AS unit_name, l.product_category, l.region,
         l.quarter, l.position, l.prior_year_actual, l.budget_amount, l.forecast_sales, l.comment, l.version
    FROM budget_line l
    JOIN business_unit u ON u.id = l.business_unit_id
   WHERE l.id = ANY($1::uuid[])
   ORDER BY l.id
     FOR UPDATE OF l`;

/**
 * Every changed line's new state ($1-$7, one array element per line) and every audit entry ($8-$15), then the
 * editors' names for the events ($16). Data-modifying WITH clauses run to completion whether read or not.
 */
const WRITE_LINES = `
  WITH changed AS (
    SELECT * FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::text[], $5::int[], $6::timestamptz[], $7::uuid[])
      AS v(id, budget_amount, forecast_sales, comment, version, updated_at, updated_by_id)
  ), updated AS (
    UPDATE budget_line l
       SET budget_amount = v.budget_amount, forecast_sales = v.forecast_sales, comment = v.comment,
           version = v.version, updated_at = v.updated_at, updated_by_id = v.updated_by_id
      FROM changed v
     WHERE l.id = v.id
  ), audited AS (
    INSERT INTO cell_change (line_id, business_unit_id, column_name, old_value, new_value, user_id, source, at)
    SELECT a.line_id, a.unit_id, a.column_name, a.old_value, a.new_value, a.user_id, a.source, $15::timestamptz
      FROM unnest($8::uuid[], $9::uuid[], $10::text[], $11::text[], $12::text[], $13::uuid[], $14::change_source[])
        AS a(line_id, unit_id, column_name, old_value, new_value, user_id, source)
  )
  SELECT id, email, display_name, role FROM app_user WHERE id = ANY($16::uuid[])`;

interface LineRow {
  id: string;
  plan_id: string;
  business_unit_id: string;
  unit_code: string;
  unit_name: string;
  product_category: string;
  region: string;
  quarter: string;
  position: number;
  prior_year_actual: number | null;
  budget_amount: number | null;
  forecast_sales: number | null;
  comment: string;
  version: number;
}

interface EditorRow {
  id: string;
  email: string;
  display_name: string;
  role: string;
}

/** A locked line as the batch changes it. */
interface LineState {
  id: string;
  planId: string;
  unitId: string;
  unitCode: string;
  unitName: string;
  productCategory: string;
  region: string;
  quarter: string;
  position: number;
  priorYearActual: number | null;
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  version: number;
  updatedAt: Date;
  updatedById: string | null;
}

interface AuditRow {
  lineId: string;
  unitId: string;
  column: EditableColumn;
  oldValue: string | null;
  newValue: string | null;
  userId: string | null;
  source: ChangeSource;
}

function toLineState(row: LineRow): LineState {
  return {
    id: row.id,
    planId: row.plan_id,
    unitId: row.business_unit_id,
    unitCode: row.unit_code,
    unitName: row.unit_name,
    productCategory: row.product_category,
    region: row.region,
    quarter: row.quarter,
    position: row.position,
    priorYearActual: row.prior_year_actual,
    budgetAmount: row.budget_amount,
    forecastSales: row.forecast_sales,
    comment: row.comment,
    version: row.version,
    // Only read once the line changed, and then set by the change.
    updatedAt: new Date(0),
    updatedById: null,
  };
}

/**
 * One queued change, applied to a line as the API's writer (BudgetLineWriter.writeChanges) does: one audit
 * entry per column whose value really changes, then `version` + 1, `updatedAt`, `updatedBy` when any did.
 * Returns whether anything changed.
 */
function applyChange(
  line: LineState,
  changes: CellChanges,
  userId: string | null,
  source: ChangeSource,
  now: Date,
  audit: AuditRow[],
): boolean {
  let changed = false;
  for (const column of EDITABLE_COLUMNS) {
    if (!(column in changes) || changes[column] === undefined) continue;
    const next = changes[column] as CellValue;
    const previous = line[column] as CellValue;
    if (previous === next) continue;
    audit.push({ lineId: line.id, unitId: line.unitId, column, oldValue: auditText(previous), newValue: auditText(next), userId, source });
    (line as unknown as Record<EditableColumn, CellValue>)[column] = next;
    changed = true;
  }
  if (changed) {
    line.version += 1;
    line.updatedAt = now;
    line.updatedById = userId;
  }
  return changed;
}

/** The line as `budgetLineChanged` carries it (budget/lineSnapshot.ts). */
function snapshotOf(line: LineState, editors: Map<string, EditorRow>): BudgetLineSnapshot {
  const editor = line.updatedById ? editors.get(line.updatedById) : undefined;
  return {
    id: line.id,
    planId: line.planId,
    businessUnit: { id: line.unitId, code: line.unitCode, name: line.unitName },
    productCategory: line.productCategory,
    region: line.region,
    quarter: line.quarter,
    position: line.position,
    priorYearActual: line.priorYearActual,
    budgetAmount: line.budgetAmount,
    forecastSales: line.forecastSales,
    comment: line.comment,
    version: line.version,
    updatedAt: line.updatedAt,
    updatedBy: editor ? { id: editor.id, email: editor.email, displayName: editor.display_name, role: editor.role } : null,
  };
}
