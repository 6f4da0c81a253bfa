/**
 * The projection of grid documents into `budget_line` rows and `cell_change` audit entries.
 *
 * Every accepted cell change (observed on the document, so reverted changes never appear) is queued with
 * the person it came from; the queue of a document is written every `intervalMs` in one transaction:
 * each line's row gets its new values, `version` + 1, `updatedBy`/`updatedAt`, and one audit entry per
 * column that really changed (BudgetLineWriter.writeChanges, the same code the API used before). After
 * commit, `budgetLineChanged` is published once per line. Writes of one document never overlap.
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
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type * as Y from 'yjs';
import { BudgetLine } from '../budget/BudgetLine.js';
import type { AppliedChange, BudgetLineWriter, CellChanges } from '../budget/budgetLineWriter.js';
import { auditText, type CellValue, type EditableColumn } from '../budget/columns.js';
import type { Logger } from '../log.js';
import { parseCellKey, projectedValue } from './cellRules.js';
import { isRelayOrigin, type EditOrigin, type GridDocument, type RelayOrigin } from './GridDocument.js';

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
    private readonly writer: BudgetLineWriter,
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

  private async write(batch: QueuedChange[]): Promise<void> {
    const em = this.em.fork();
    const applied = await em.transactional(async (tx) => {
      const ids = [...new Set(batch.map((c) => c.lineId))].sort();
      // Lock in a fixed order so that concurrent writers (another document flush, another instance) can
      // never deadlock with us.
      const lines = await tx.find(BudgetLine, { id: { $in: ids } }, { lockMode: LockMode.PESSIMISTIC_WRITE, orderBy: { id: 'asc' } });
      const byId = new Map(lines.map((l) => [l.id, l]));
      const results = new Map<string, AppliedChange>();
      for (const change of batch) {
        const line = byId.get(change.lineId);
        if (!line) continue;
        const origin = change.origin ?? (await this.authorOf(tx, line, change.changes));
        const result = this.writer.writeChanges(tx, line, change.changes, origin.userId, origin.source);
        if (result.changed.length > 0) {
          const previous = results.get(line.id);
          results.set(line.id, { line, changed: [...new Set([...(previous?.changed ?? []), ...result.changed])] });
        }
      }
      return [...results.values()];
    });
    this.onProjected?.(batch.length);
    await this.writer.publishAll(em, applied);
  }

  /**
   * Who set a settled value, when the relay did not say (it came from storage or from another instance's
   * memory after Redis was away): the latest audit entry that wrote it, or nobody we know.
   */
  private async authorOf(tx: EntityManager, line: BudgetLine, changes: CellChanges): Promise<{ userId: string | null; source: 'GRID' }> {
    for (const [column, value] of Object.entries(changes) as [EditableColumn, CellValue][]) {
      if ((line[column] as CellValue) === value) continue;
      const [row] = await tx.getConnection().execute<{ user_id: string | null }[]>(
        `SELECT user_id FROM cell_change WHERE line_id = ? AND column_name = ? AND new_value IS NOT DISTINCT FROM ? ORDER BY id DESC LIMIT 1`,
        [line.id, column, auditText(value)],
        'all',
        tx.getTransactionContext(),
      );
      if (row) return { userId: row.user_id, source: 'GRID' };
    }
    return { userId: null, source: 'GRID' };
  }
}
