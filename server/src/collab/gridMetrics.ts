/** Prometheus metrics of the grid server, registered on the instance's registry. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export function createGridMetrics(registry: Registry) {
  /**
   * Cell changes counted as plain numbers on the hot path (every update of every connection) and moved into
   * `updates` when the metrics are read: a labelled counter's `inc` hashes its labels on every call.
   */
  const changes = { accepted: 0, rejected: 0 };
  return {
    changes,
    documents: new Gauge({ name: 'plansync_grid_open_documents', help: 'Grid documents loaded in memory', registers: [registry] }),
    connections: new Gauge({ name: 'plansync_grid_connections', help: 'Open grid websockets', registers: [registry] }),
    updates: new Counter({
      name: 'plansync_grid_cell_changes_total',
      help: 'Cell changes received from grid clients, by outcome (accepted or rejected)',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect() {
        for (const outcome of ['accepted', 'rejected'] as const) {
          if (changes[outcome] === 0) continue;
          this.inc({ outcome }, changes[outcome]);
          changes[outcome] = 0;
        }
      },
    }),
    dropped: new Counter({
      name: 'plansync_grid_dropped_changes_total',
      help: 'Accepted grid changes given up by the projection into rows (part="rows") or the update log (part="log"): refused by the database on their own (reason="refused"), unwritten when a shutdown ran out of time (reason="shutdown"), or accepted before a submission made on another instance and refused after it (reason="frozen")',
      labelNames: ['part', 'reason'] as const,
      registers: [registry],
    }),
    writeFailures: new Counter({
      name: 'plansync_grid_write_failures_total',
      help: 'Failed writes of grid changes into rows (part="rows") or the update log (part="log"), tried again: the database unreachable (reason="unavailable") or refusing them (reason="refused")',
      labelNames: ['part', 'reason'] as const,
      registers: [registry],
    }),
    forward: new Histogram({
      name: 'plansync_grid_forward_seconds',
      help: "Time from a grid message's arrival (its frame read) to its last write to the document's other connections, for the turn's broadcasts it starts: the server's own share of an edit's way from one person to the next",
      // Fine below a millisecond: a broadcast to tens of connections takes about one (issue 16).
      buckets: [0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    storeLatency: new Histogram({
      name: 'plansync_grid_store_seconds',
      help: 'Time to append a batch of grid updates to PostgreSQL',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
  };
}

export type GridMetrics = ReturnType<typeof createGridMetrics>;
