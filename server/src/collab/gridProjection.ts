/**
 * The projection of grid documents into `budget_line` rows and `cell_change` audit entries.
 *
 * Every accepted cell change (handed over by the document's pipeline once validated, so reverted changes never
 * appear) is queued with the person it came from; the queue of a document is written every `intervalMs` in one transaction:
 * each line's row gets its new values, `version` + 1, `updatedBy`/`updatedAt`, and one audit entry per
 * column that really changed. After commit, `budgetLineChanged`
 * is published once per changed line, with its full snapshot. Writes of one document never overlap.
 *
 * A batch is plain SQL (budget/lineStore.ts, on db/sql.ts): lock the lines, one UPDATE of every changed line and
 * one INSERT of every audit entry, in one statement; no entity is hydrated, tracked or populated. API edits come through here
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
import {
  lastWriterOf,
  lockKnownLines,
  readKnownLine,
  unitIsFrozen,
  writeLines,
  type AuditRow,
  type BatchPlan,
  type KnownLine,
  type PlannedLine,
} from '../budget/lineStore.js';
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
  /** Changes ever queued, and of those, how many are behind a finished write (committed or dropped): see `flush`. */
  queued: number;
  settled: number;
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
    this.docs.set(doc.name, { doc, queue: [], queued: 0, settled: 0, written: new Map(), lines: new Map() });
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
    projection.queued += byLine.size;
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
    projection.queued += byLine.size;
    this.schedule(doc.name, projection);
  }

  private schedule(docName: string, projection: DocProjection): void {
    projection.timer ??= setTimeout(() => void this.flush(docName), this.intervalMs);
  }

  /**
   * Writes everything queued for the document up to this call; resolves when it is committed, or dropped
   * because the database refused it (writeRetries.ts: a refused batch is retried a few times, then written
   * change by change, and only a change refused on its own is dropped). While the database is unreachable it
   * waits for it.
   *
   * Changes queued after the call are not waited for: an API write flushes the grid's earlier edits before its
   * own transaction, and waiting until the queue is empty would hold it for as long as people keep typing in
   * that unit (a steady stream of grid edits, or one client flooding them, would block every batch, import and
   * load there).
   */
  async flush(docName: string): Promise<void> {
    const projection = this.docs.get(docName);
    if (!projection) return;
    const target = projection.queued;
    while (projection.settled < target) {
      if (projection.writing) {
        await projection.writing;
        continue;
      }
      clearTimeout(projection.timer);
      projection.timer = undefined;
      const batch = projection.queue;
      projection.queue = [];
      const upTo = projection.queued;
      projection.writing = writeWithRetries(batch, this.retryingWrite(docName, projection), this.retry)
        .catch((err: unknown) => this.log.error({ err, docName }, 'projecting grid changes failed'))
        .finally(() => {
          projection.settled = upTo;
          projection.writing = undefined;
          // Changes that came during this write wait for their own turn, as usual.
          if (projection.queue.length > 0) this.schedule(docName, projection);
        });
    }
  }

  /** Writes until nothing is queued or being written for the document: for a document nobody edits any more (unload, shutdown). */
  async drain(docName: string): Promise<void> {
    const projection = this.docs.get(docName);
    while (projection && this.docs.get(docName) === projection && (projection.writing || projection.queue.length > 0)) await this.flush(docName);
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
    const done = await Promise.race([Promise.all([...this.docs.keys()].map((name) => this.drain(name))).then(() => true), timeUp]);
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
      const row = await withSqlClient(this.em, (client) => readKnownLine(client, change.lineId));
      if (!row || this.docs.get(docName) !== projection) return; // the line is gone, or the document unloaded
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
      for (const row of await lockKnownLines(client, ids)) read.set(row.id, row);
      // A submission committed (or committing: its lock is waited for) since these changes were accepted, on
      // another instance: the review reads the rows as they are, so these changes must not land after it.
      frozen = await unitIsFrozen(client, projection.doc.planId, projection.doc.unitId);
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

  /**
   * Lines written outside the documents (a system-only column, GridServer.writeSystemColumn): the documents that
   * know them learn their new state, so their next write expects the new version (else it would find the line
   * changed and go the careful way: correct, only slower).
   */
  learn(lines: readonly BudgetLineSnapshot[]): void {
    for (const line of lines) {
      for (const projection of this.docs.values()) {
        if (projection.lines.has(line.id)) projection.lines.set(line.id, knownFrom(line));
      }
    }
  }

  private remember(projection: DocProjection, snapshot: BudgetLineSnapshot, written: Map<string, BudgetLineSnapshot>): void {
    projection.lines.set(snapshot.id, knownFrom(snapshot));
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
      const found = await lastWriterOf(client, line.id, column, value);
      if (found) return { userId: found.userId, source: 'GRID' };
    }
    return { userId: null, source: 'GRID' };
  }
}

/** A line's committed state as the projection keeps it. */
function knownFrom(snapshot: BudgetLineSnapshot): KnownLine {
  return {
    id: snapshot.id,
    unitId: snapshot.businessUnit.id,
    budgetAmount: snapshot.budgetAmount,
    forecastSales: snapshot.forecastSales,
    comment: snapshot.comment,
    version: snapshot.version,
  };
}

/** A change as logged when it is dropped: values cut short (a comment is up to 2,000 characters). */
function loggable(changes: CellChanges): Record<string, CellValue> {
  return Object.fromEntries(
    Object.entries(changes).map(([column, value]) => [column, typeof value === 'string' && value.length > 200 ? `${value.slice(0, 200)}…` : value]),
  ) as Record<string, CellValue>;
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
