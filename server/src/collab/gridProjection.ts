/**
 * The projection of grid documents into `budget_line` rows and `cell_change` audit entries.
 *
 * Every accepted cell change (observed on the document, so reverted changes never appear) is queued with
 * the person it came from; the queue of a document is written every `intervalMs` in one transaction:
 * each line's row gets its new values, `version` + 1, `updatedBy`/`updatedAt`, and one audit entry per
 * column that really changed (BudgetLineWriter.writeChanges, the same code the API used before). After
 * commit, `budgetLineChanged` is published once per line. Writes of one document never overlap.
 */
import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import type * as Y from 'yjs';
import { BudgetLine } from '../budget/BudgetLine.js';
import type { AppliedChange, BudgetLineWriter, CellChanges } from '../budget/budgetLineWriter.js';
import type { Logger } from '../log.js';
import { parseCellKey, projectedValue } from './cellRules.js';
import type { EditOrigin, GridDocument } from './GridDocument.js';

interface QueuedChange {
  lineId: string;
  changes: CellChanges;
  origin: EditOrigin;
}

interface DocProjection {
  queue: QueuedChange[];
  timer?: NodeJS.Timeout;
  /** The write in progress (one at a time per document). */
  writing?: Promise<void>;
  unobserve: () => void;
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
    private readonly intervalMs = 50,
  ) {}

  attach(doc: GridDocument): void {
    const observer = (event: Y.YMapEvent<unknown>, tr: Y.Transaction) => {
      if (!isEditOrigin(tr.origin)) return; // loading and seeding change no row
      const byLine = new Map<string, CellChanges>();
      for (const key of event.keysChanged) {
        const cell = parseCellKey(key, doc.lineIds);
        if (!cell) continue;
        const value = doc.cells.has(key) ? doc.cells.get(key) : undefined;
        const changes = byLine.get(cell.lineId) ?? {};
        changes[cell.column] = projectedValue(cell.column, value);
        byLine.set(cell.lineId, changes);
      }
      if (byLine.size === 0) return;
      const projection = this.docs.get(doc.name)!;
      for (const [lineId, changes] of byLine) projection.queue.push({ lineId, changes, origin: tr.origin });
      projection.timer ??= setTimeout(() => void this.flush(doc.name), this.intervalMs);
    };
    doc.cells.observe(observer);
    this.docs.set(doc.name, { queue: [], unobserve: () => doc.cells.unobserve(observer) });
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
        const result = this.writer.writeChanges(tx, line, change.changes, change.origin.userId, change.origin.source);
        if (result.changed.length > 0) {
          const previous = results.get(line.id);
          results.set(line.id, { line, changed: [...new Set([...(previous?.changed ?? []), ...result.changed])] });
        }
      }
      return [...results.values()];
    });
    this.onProjected?.(batch.length);
    for (const change of applied) await this.writer.publish(em, change);
  }
}
