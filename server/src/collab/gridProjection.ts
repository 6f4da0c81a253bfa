/**
 * The projection of grid documents into `budget_line` rows and `cell_change` audit entries.
 *
 * Every accepted cell change (handed over by the document's pipeline once validated, so reverted changes never
 * appear) is queued with the person it came from; the queue of a document is written every `intervalMs` in one transaction:
 * each line's row gets its new values, `version` + 1, `updatedBy`/`updatedAt`, and one audit entry per
 * column that really changed. After commit, `budgetLineChanged`
 * is published once per changed line, with its full snapshot. Writes of one document never overlap.
 *
 * A batch is plain SQL (db/sql.ts): lock the lines, one UPDATE of every changed line and one INSERT of every
 * audit entry, in one statement; no entity is hydrated, tracked or populated. API edits come through here
 * too (GridServer.applyEdit), so this is the only writer of those columns.
 *
 * A batch that fails never holds up what follows it (writeRetries.ts): while the database is unreachable it
 * waits for it; a batch the database refuses is retried a few times, then written change by change, and a
 * change refused on its own is dropped (logged with its values, counted in the metrics, and its cells put back
 * in the document from the row, so that no replica keeps what storage refused), so one bad value cannot wedge a
 * unit's later edits, API or grid, nor a shutdown, which gives up after a bounded time.
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
import type { CellChanges } from '../budget/budgetLineWriter.js';
import type { ChangeSource } from '../budget/CellChange.js';
import { auditText, EDITABLE_COLUMNS, type CellValue, type EditableColumn } from '../budget/columns.js';
import type { BudgetLineSnapshot } from '../budget/lineSnapshot.js';
import type { Logger } from '../log.js';
import type { BudgetTopics } from '../budget/events.js';
import type { EventBus } from '../realtime/eventBus.js';
import { projectedValue } from './cellRules.js';
import type { DocumentChange, GridDocument, SettledCell } from './GridDocument.js';
import { routeOf, type Author } from './origins.js';
import { inSqlTransaction, withSqlClient, type SqlClient } from '../db/sql.js';
import {
  DEFAULT_WRITE_RETRY,
  PartialWriteError,
  sqlStateOf,
  writeWithRetries,
  type RetryingWrite,
  type WriteRetryOptions,
} from './writeRetries.js';

interface QueuedChange {
  lineId: string;
  changes: CellChanges;
  /** null: a settled value whose author the relay did not say (found in the audit log when it can be). */
  origin: Author | null;
}

interface DocProjection {
  doc: GridDocument;
  queue: QueuedChange[];
  timer?: NodeJS.Timeout;
  /** The write in progress (one at a time per document). */
  writing?: Promise<void>;
  /** Per cell this instance has written, the value it wrote last (invariant: its value in the document). */
  written: Map<string, CellValue>;
  /** Per line this document has written or read under lock, its state as committed then (see `write`). */
  lines: Map<string, KnownLine>;
}

export class GridProjection {
  private readonly docs = new Map<string, DocProjection>();
  /** Seconds from a change being queued to its row being committed, for the metrics. */
  onProjected?: (count: number) => void;
  /** Changes given up: refused by the database on their own, or still unwritten when a shutdown's time was up. */
  onDropped?: (count: number, reason: 'refused' | 'shutdown' | 'frozen') => void;
  /** A write that failed (and will be tried again, or split): the database unreachable, or refusing it. */
  onWriteFailed?: (reason: 'unavailable' | 'refused') => void;
  /** When a shutdown stops waiting for an unreachable database (set by `flushAll`). */
  private giveUpAt?: number;
  private readonly retry: WriteRetryOptions;

  constructor(
    private readonly em: EntityManager,
    private readonly events: EventBus<BudgetTopics>,
    private readonly log: Logger,
    private readonly intervalMs = 100,
    retry: Partial<WriteRetryOptions> = {},
  ) {
    this.retry = { ...DEFAULT_WRITE_RETRY, ...retry };
  }

  /** Starts projecting a document: the document's pipeline then hands every validated change to `project`. */
  attach(doc: GridDocument): void {
    this.docs.set(doc.name, { doc, queue: [], written: new Map(), lines: new Map() });
  }

  /**
   * A validated change of an attached document (GridDocument's pipeline; origins.ts decides which): this
   * instance's own changes are queued for the rows, credited to their author; a relayed one only where it
   * moves a cell this instance wrote (see the header).
   */
  project(doc: GridDocument, change: DocumentChange): void {
    const projection = this.docs.get(doc.name);
    if (!projection) return;
    const route = routeOf(change.origin);
    if (route.project === 'settle') return this.settle(doc, projection, change.cells, route.author);
    if (route.project !== 'own' || !route.author) return;
    const byLine = new Map<string, CellChanges>();
    for (const cell of change.cells) {
      const value = projectedValue(cell.column, cell.value);
      const changes = byLine.get(cell.lineId) ?? {};
      changes[cell.column] = value;
      byLine.set(cell.lineId, changes);
      projection.written.set(cell.key, value);
    }
    if (byLine.size === 0) return;
    for (const [lineId, changes] of byLine) projection.queue.push({ lineId, changes, origin: route.author });
    this.schedule(doc.name, projection);
  }

  /** A relayed change moved cells this instance has written: write the settled values too. */
  private settle(doc: GridDocument, projection: DocProjection, cells: SettledCell[], by: Author | null): void {
    const byLine = new Map<string, CellChanges>();
    for (const cell of cells) {
      if (!projection.written.has(cell.key)) continue;
      const value = projectedValue(cell.column, cell.value);
      if (value === projection.written.get(cell.key)) continue; // what we wrote last still stands
      projection.written.set(cell.key, value);
      const changes = byLine.get(cell.lineId) ?? {};
      changes[cell.column] = value;
      byLine.set(cell.lineId, changes);
    }
    if (byLine.size === 0) return;
    for (const [lineId, changes] of byLine) projection.queue.push({ lineId, changes, origin: by });
    this.schedule(doc.name, projection);
  }

  private schedule(docName: string, projection: DocProjection): void {
    projection.timer ??= setTimeout(() => void this.flush(docName), this.intervalMs);
  }

  /**
   * Writes everything queued for the document; resolves when it is committed, or dropped because the database
   * refused it (writeRetries.ts: a refused batch is retried a few times, then written change by change, and
   * only a change refused on its own is dropped). While the database is unreachable it waits for it.
   */
  async flush(docName: string): Promise<void> {
    const projection = this.docs.get(docName);
    if (!projection) return;
    while (projection.writing || projection.queue.length > 0) {
      if (projection.writing) {
        await projection.writing;
        continue;
      }
      clearTimeout(projection.timer);
      projection.timer = undefined;
      const batch = projection.queue;
      projection.queue = [];
      projection.writing = writeWithRetries(batch, this.retryingWrite(docName, projection), this.retry)
        .catch((err: unknown) => this.log.error({ err, docName }, 'projecting grid changes failed'))
        .finally(() => {
          projection.writing = undefined;
        });
    }
  }

  /**
   * The shutdown's flush of every document, in bounded time: once `shutdownMs` has passed, changes still
   * waiting for an unreachable database are given up (logged and counted), and a write still running at twice
   * that time (a database that never answers) is not waited for.
   */
  async flushAll(): Promise<void> {
    this.giveUpAt = Date.now() + this.retry.shutdownMs;
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 2 * this.retry.shutdownMs)));
    const done = await Promise.race([Promise.all([...this.docs.keys()].map((name) => this.flush(name))).then(() => true), timeUp]);
    clearTimeout(timer);
    if (done) return;
    const left = [...this.docs].map(([docName, p]) => ({ docName, queued: p.queue.length, writing: !!p.writing })).filter((d) => d.queued > 0 || d.writing);
    const queued = left.reduce((n, d) => n + d.queued, 0);
    this.log.error({ documents: left }, 'shutdown: grid changes still unwritten when its time was up; given up');
    if (queued > 0) this.onDropped?.(queued, 'shutdown');
  }

  /** How a batch of this document is written, retried and, when the database refuses a change, dropped. */
  private retryingWrite(docName: string, projection: DocProjection): RetryingWrite<QueuedChange> {
    return {
      write: (changes) => this.write(projection, changes),
      failed: (err, count, unavailable) => {
        this.onWriteFailed?.(unavailable ? 'unavailable' : 'refused');
        this.log.warn({ err, docName, changes: count }, unavailable ? 'projecting grid changes: database unavailable; waiting' : 'projecting grid changes refused; retrying');
      },
      drop: (change, err) => {
        this.log.error(
          { err, sqlState: sqlStateOf(err), docName, lineId: change.lineId, changes: loggable(change.changes), origin: change.origin },
          'a grid change the database refuses was dropped (its row and audit log do not have it)',
        );
        this.onDropped?.(1, 'refused');
        void this.restoreFromRow(docName, projection, change);
      },
      giveUpAt: () => this.giveUpAt,
      probe: () => withSqlClient(this.em, (client) => client.query('SELECT 1')),
      lost: (changes, err) => {
        this.log.error(
          { err, docName, changes: changes.map((c) => ({ lineId: c.lineId, changes: loggable(c.changes), origin: c.origin })) },
          'shutdown: grid changes given up, the database being unreachable',
        );
        this.onDropped?.(changes.length, 'shutdown');
      },
    };
  }

  /**
   * After a change is dropped, the document (and so every replica and the update log) still shows it while its
   * row does not. The row's values go back into the document for the cells that still show what was dropped
   * (a newer edit of such a cell stands), as an edit of the same person: projected like any, it changes no row.
   */
  private async restoreFromRow(docName: string, projection: DocProjection, change: QueuedChange): Promise<void> {
    if (!change.origin || this.giveUpAt !== undefined) return; // a settled value from elsewhere; or stopping
    try {
      const { rows } = await withSqlClient(this.em, (client) =>
        client.query<KnownLineRow>({ name: 'grid_projection_row', text: READ_LINE, values: [change.lineId] }),
      );
      if (!rows[0] || this.docs.get(docName) !== projection) return; // the line is gone, or the document unloaded
      const row = knownLine(rows[0]);
      const restore: CellChanges = {};
      for (const [column, dropped] of Object.entries(change.changes) as [EditableColumn, CellValue][]) {
        const shown = projectedValue(column, projection.doc.cellValue(change.lineId, column));
        if (shown === dropped && row[column] !== dropped) restore[column] = row[column];
      }
      if (Object.keys(restore).length > 0) projection.doc.applyEdits(change.lineId, restore, { kind: 'api', author: change.origin });
    } catch (err) {
      this.log.error({ err, docName, lineId: change.lineId }, "putting a refused change's cells back from its row failed");
    }
  }

  /** Stops projecting a document (after a final flush by the caller). */
  detach(docName: string): void {
    const projection = this.docs.get(docName);
    if (!projection) return;
    clearTimeout(projection.timer);
    this.docs.delete(docName);
  }

  /**
   * Writes one batch and publishes `budgetLineChanged` for every line it changed. Changes apply in order, as
   * the API's writer always did: a column whose value really changes gets an
   * audit entry, and the line `version` + 1, `updatedBy`, `updatedAt`.
   *
   * The lines this document wrote before are known: their values and version as committed. Their changes go
   * out as one statement without a transaction of ours (UPDATE every line where it is still as known, INSERT
   * the audit entries of the lines updated, read what the events carry); a line found otherwise (another
   * instance wrote it meanwhile) is not touched, and goes the careful way with the lines not known yet: in a
   * transaction, lock them (in id order, so that concurrent writers, another document's flush or another
   * instance, can never deadlock with us), read them, then the same statement.
   */
  private async write(projection: DocProjection, batch: QueuedChange[]): Promise<void> {
    const now = new Date();
    const written = new Map<string, BudgetLineSnapshot>();
    let rest = batch;
    if (batch.every((c) => c.origin !== null && projection.lines.has(c.lineId))) {
      const plan = planBatch(batch, projection.lines, now);
      let committed: BudgetLineSnapshot[] = [];
      if (plan.lines.length > 0) committed = await withSqlClient(this.em, (client) => writeLines(client, plan, now));
      for (const line of committed) this.remember(projection, line, written);
      // Lines found changed by someone else, and lines without any change, are left out of the statement.
      const retry = new Set(plan.lines.map((l) => l.id).filter((id) => !written.has(id)));
      rest = batch.filter((c) => retry.has(c.lineId));
      if (rest.length > 0 && written.size > 0) {
        // Published now: should the careful way fail, only `rest` is retried.
        this.publish(batch, written);
        written.clear();
      }
    }
    if (rest.length > 0) {
      try {
        await this.writeLocked(projection, rest, now, written);
      } catch (err) {
        throw new PartialWriteError(err, rest);
      }
    }
    this.onProjected?.(batch.length);
    this.publish(batch, written);
  }

  /** The careful way: lock and read the lines, then apply and write the changes, in one transaction. */
  private async writeLocked(projection: DocProjection, batch: QueuedChange[], now: Date, written: Map<string, BudgetLineSnapshot>): Promise<void> {
    const ids = [...new Set(batch.map((c) => c.lineId))].sort();
    const read = new Map<string, KnownLine>();
    let frozen = false;
    const committed = await inSqlTransaction(this.em, async (client) => {
      const { rows } = await client.query<KnownLineRow>({ name: 'grid_projection_lock', text: LOCK_LINES, values: [ids] });
      for (const row of rows) read.set(row.id, knownLine(row));
      // A submission committed (or committing: its lock is waited for) since these changes were accepted, on
      // another instance: the review reads the rows as they are, so these changes must not land after it.
      const status = await client.query<{ frozen: boolean }>({ name: 'grid_projection_frozen', text: UNIT_FROZEN, values: [projection.doc.planId, projection.doc.unitId] });
      frozen = status.rows[0]?.frozen ?? false;
      if (frozen) return [];
      const origins = batch.some((c) => c.origin === null) ? await this.attribute(client, batch, read, now) : undefined;
      const plan = planBatch(batch, read, now, origins);
      return plan.lines.length > 0 ? writeLines(client, plan, now) : [];
    });
    if (frozen) {
      // Refused like a change the database refuses: the document (every replica) shows the rows again.
      this.log.info({ docName: projection.doc.name, changes: batch.length }, 'grid changes accepted before a submission made elsewhere were refused after it');
      this.onDropped?.(batch.length, 'frozen');
      for (const change of batch) void this.restoreFromRow(projection.doc.name, projection, change);
    }
    // Committed: what was read is the lines' state, unless written since (under the lock, every planned line
    // was written). A line not found is gone.
    for (const id of ids) {
      const line = read.get(id);
      if (line) projection.lines.set(id, line);
      else projection.lines.delete(id);
    }
    for (const line of committed) this.remember(projection, line, written);
  }

  /** The origin of each change, settled values the relay did not attribute included (see `authorOf`). */
  private async attribute(
    client: SqlClient,
    batch: QueuedChange[],
    read: ReadonlyMap<string, KnownLine>,
    now: Date,
  ): Promise<Map<QueuedChange, { userId: string | null; source: ChangeSource }>> {
    const origins = new Map<QueuedChange, { userId: string | null; source: ChangeSource }>();
    // The author is looked up against the line as the batch has left it so far.
    const state = new Map([...read].map(([id, line]) => [id, { ...line }]));
    for (const change of batch) {
      const line = state.get(change.lineId);
      if (!line) continue;
      const origin = change.origin ?? (await this.authorOf(client, line, change.changes));
      origins.set(change, origin);
      applyChange(line, change.changes, origin.userId, origin.source, now, []);
    }
    return origins;
  }

  private remember(projection: DocProjection, snapshot: BudgetLineSnapshot, written: Map<string, BudgetLineSnapshot>): void {
    projection.lines.set(snapshot.id, {
      id: snapshot.id,
      unitId: snapshot.businessUnit.id,
      budgetAmount: snapshot.budgetAmount,
      forecastSales: snapshot.forecastSales,
      comment: snapshot.comment,
      version: snapshot.version,
    });
    written.set(snapshot.id, snapshot);
  }

  /** `budgetLineChanged` for each written line, in the order of the lines' first change in the batch. */
  private publish(batch: QueuedChange[], written: Map<string, BudgetLineSnapshot>): void {
    if (written.size === 0) return;
    const seen = new Set<string>();
    for (const change of batch) {
      const line = written.get(change.lineId);
      if (!line || seen.has(line.id)) continue;
      seen.add(line.id);
      this.events.publish('BUDGET_LINE_CHANGED', { planId: line.planId, unitId: line.businessUnit.id, line });
    }
  }

  /**
   * Who set a settled value, when the relay did not say (it came from storage or from another instance's
   * memory after Redis was away): the latest audit entry that wrote it, or nobody we know.
   */
  private async authorOf(client: SqlClient, line: KnownLine, changes: CellChanges): Promise<{ userId: string | null; source: 'GRID' }> {
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

/** A change as logged when it is dropped: values cut short (a comment is up to 2,000 characters). */
function loggable(changes: CellChanges): Record<string, CellValue> {
  return Object.fromEntries(
    Object.entries(changes).map(([column, value]) => [column, typeof value === 'string' && value.length > 200 ? `${value.slice(0, 200)}…` : value]),
  ) as Record<string, CellValue>;
}

/** One line as it is now (to put a refused change's cells back). */
const READ_LINE = `SELECT id, business_unit_id, budget_amount, forecast_sales, comment, version FROM budget_line WHERE id = $1`;

/** The lines of a batch not known yet (or found changed), locked, with what the changes depend on. */
/** Whether the unit's submission freezes it, waiting for a submission being committed (its row lock). */
const UNIT_FROZEN = `
  SELECT status IN ('SUBMITTED', 'APPROVED') AS frozen
    FROM budget_submission
   WHERE plan_id = $1 AND business_unit_id = $2
     FOR SHARE`;

const LOCK_LINES = `
  SELECT id, business_unit_id, budget_amount, forecast_sales, comment, version
    FROM budget_line
   WHERE id = ANY($1::uuid[])
   ORDER BY id
     FOR UPDATE`;

/**
 * Every changed line's new state ($1-$7) where the row still is as expected ($8-$11), one array element per
 * line; the audit entries ($12-$18) of the lines so updated, in order; then the updated rows as
 * `budgetLineChanged` carries them. Data-modifying WITH clauses run to completion whether read or not, and the
 * INSERT sees the UPDATE's rows through its RETURNING only.
 */
const WRITE_LINES = `
  WITH v AS (
    SELECT *
      FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::text[], $5::int[], $6::timestamptz[], $7::uuid[],
                  $8::int[], $9::float8[], $10::float8[], $11::text[])
        AS v(id, budget_amount, forecast_sales, comment, version, updated_at, updated_by_id,
             was_version, was_budget_amount, was_forecast_sales, was_comment)
  ), updated AS (
    UPDATE budget_line l
       SET budget_amount = v.budget_amount, forecast_sales = v.forecast_sales, comment = v.comment,
           version = v.version, updated_at = v.updated_at, updated_by_id = v.updated_by_id
      FROM v
     WHERE l.id = v.id
       AND l.version = v.was_version
       AND l.budget_amount IS NOT DISTINCT FROM v.was_budget_amount
       AND l.forecast_sales IS NOT DISTINCT FROM v.was_forecast_sales
       AND l.comment = v.was_comment
       -- Never after a submission of the unit (its lock is waited for while one commits): such a line goes the
       -- careful way, which refuses the change.
       AND EXISTS (SELECT 1 FROM budget_submission s
                    WHERE s.plan_id = l.plan_id AND s.business_unit_id = l.business_unit_id
                      AND s.status NOT IN ('SUBMITTED', 'APPROVED')
                      FOR SHARE)
    RETURNING l.*
  ), audited AS (
    INSERT INTO cell_change (line_id, business_unit_id, column_name, old_value, new_value, user_id, source, at)
    SELECT a.line_id, a.unit_id, a.column_name, a.old_value, a.new_value, a.user_id, a.source, $19::timestamptz
      FROM unnest($12::uuid[], $13::uuid[], $14::text[], $15::text[], $16::text[], $17::uuid[], $18::change_source[])
           WITH ORDINALITY AS a(line_id, unit_id, column_name, old_value, new_value, user_id, source, n)
     WHERE a.line_id IN (SELECT id FROM updated)
     ORDER BY a.n
  )
  SELECT u.id, u.plan_id, u.business_unit_id, b.code AS unit_code, b.name AS unit_name, u.product_category, u.region,
         u.quarter, u.position, u.prior_year_actual, u.budget_amount, u.forecast_sales, u.comment, u.version,
         p.id AS user_id, p.email AS user_email, p.display_name AS user_name, p.role AS user_role
    FROM updated u
    JOIN business_unit b ON b.id = u.business_unit_id
    LEFT JOIN app_user p ON p.id = u.updated_by_id`;

/** A line as this instance last committed (or read) it: what applying a change depends on. */
interface KnownLine {
  id: string;
  unitId: string;
  budgetAmount: number | null;
  forecastSales: number | null;
  comment: string;
  version: number;
}

interface KnownLineRow {
  id: string;
  business_unit_id: string;
  budget_amount: number | null;
  forecast_sales: number | null;
  comment: string;
  version: number;
}

function knownLine(row: KnownLineRow): KnownLine {
  return {
    id: row.id,
    unitId: row.business_unit_id,
    budgetAmount: row.budget_amount,
    forecastSales: row.forecast_sales,
    comment: row.comment,
    version: row.version,
  };
}

/** A line as the batch leaves it. */
interface PlannedLine extends KnownLine {
  was: KnownLine;
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

interface BatchPlan {
  /** Lines that change, in the order of their first change. */
  lines: PlannedLine[];
  audit: AuditRow[];
}

/**
 * Applies a batch to the given lines (left untouched): the lines that change, and their audit entries.
 * Changes of unknown lines (deleted) are skipped. `origins` overrides each change's origin when given.
 */
function planBatch(
  batch: QueuedChange[],
  known: ReadonlyMap<string, KnownLine>,
  now: Date,
  origins?: Map<QueuedChange, { userId: string | null; source: ChangeSource }>,
): BatchPlan {
  const state = new Map<string, PlannedLine>();
  const changed = new Map<string, PlannedLine>();
  const audit: AuditRow[] = [];
  for (const change of batch) {
    let line = state.get(change.lineId);
    if (!line) {
      const was = known.get(change.lineId);
      if (!was) continue;
      line = { ...was, was, updatedAt: now, updatedById: null };
      state.set(change.lineId, line);
    }
    const origin = origins?.get(change) ?? change.origin;
    if (!origin) continue; // the careful way always gives one
    if (applyChange(line, change.changes, origin.userId, origin.source, now, audit) && !changed.has(line.id)) changed.set(line.id, line);
  }
  return { lines: [...changed.values()], audit };
}

/** The write statement; returns the lines it updated (those still as expected). */
async function writeLines(client: SqlClient, plan: BatchPlan, now: Date): Promise<BudgetLineSnapshot[]> {
  const { lines, audit } = plan;
  const at = now.toISOString();
  const { rows } = await client.query<WrittenRow>({
    name: 'grid_projection_write',
    text: WRITE_LINES,
    values: [
      lines.map((l) => l.id),
      lines.map((l) => l.budgetAmount),
      lines.map((l) => l.forecastSales),
      lines.map((l) => l.comment),
      lines.map((l) => l.version),
      lines.map(() => at),
      lines.map((l) => l.updatedById),
      lines.map((l) => l.was.version),
      lines.map((l) => l.was.budgetAmount),
      lines.map((l) => l.was.forecastSales),
      lines.map((l) => l.was.comment),
      audit.map((a) => a.lineId),
      audit.map((a) => a.unitId),
      audit.map((a) => a.column),
      audit.map((a) => a.oldValue),
      audit.map((a) => a.newValue),
      audit.map((a) => a.userId),
      audit.map((a) => a.source),
      at,
    ],
  });
  return rows.map((row) => snapshotOf(row, now));
}

interface WrittenRow {
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
  user_id: string | null;
  user_email: string | null;
  user_name: string | null;
  user_role: string | null;
}

/**
 * One queued change applied to a line, for API and grid edits alike: one audit
 * entry per column whose value really changes, then `version` + 1, `updatedAt`, `updatedBy` when any did.
 * Returns whether anything changed.
 */
function applyChange(
  line: KnownLine & { updatedAt?: Date; updatedById?: string | null },
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

/** An updated row as `budgetLineChanged` carries it (budget/lineSnapshot.ts); `updatedAt` is what was written. */
function snapshotOf(row: WrittenRow, updatedAt: Date): BudgetLineSnapshot {
  return {
    id: row.id,
    planId: row.plan_id,
    businessUnit: { id: row.business_unit_id, code: row.unit_code, name: row.unit_name },
    productCategory: row.product_category,
    region: row.region,
    quarter: row.quarter,
    position: row.position,
    priorYearActual: row.prior_year_actual,
    budgetAmount: row.budget_amount,
    forecastSales: row.forecast_sales,
    comment: row.comment,
    version: row.version,
    updatedAt,
    updatedBy: row.user_id ? { id: row.user_id, email: row.user_email!, displayName: row.user_name!, role: row.user_role! } : null,
  };
}
