/**
 * The collaborative grid server: y-websocket protocol on `/yjs/<docName>?token=<jwt>`.
 *
 * It orchestrates small parts: authentication and rights (the same policies as GraphQL), documents
 * (GridDocument: validation, broadcast, presence), storage (GridStore: update log and snapshots) and the
 * projection into budget rows (GridProjection). It also carries API edits into the live document, so
 * there is one write path for grid and GraphQL alike.
 *
 * Life of a document: loaded (or seeded once from the rows) on first use; kept while a connection or an
 * API edit holds it; when the last one leaves, its changes are projected and stored, then it is unloaded.
 *
 * Several instances (a RedisLink given): an open document also follows its Redis channel (GridRelay), so
 * that peers on every instance see every change; each change is validated, stored and projected once, by
 * the instance that accepted it. While Redis is away (now and then) and when it comes back, the rights of
 * every connection are read again, in case an access, submission or plan change made elsewhere was not heard.
 *
 * A closed plan (PLAN_STATUS_CHANGED) freezes its documents and makes every connection to them read-only, like a
 * submitted unit's; reopening it gives each connection back the rights `gridRights` says.
 *
 * Lines added to or removed from a unit (BUDGET_LINES_RESTRUCTURED) change which cells its open document accepts;
 * a removed line's cells leave the document and its stored state.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { WebSocketServer, type WebSocket } from 'ws';
import * as Y from 'yjs';
import { CloseCode } from '../../../schema/codes.js';
import type { ViewerResolver } from '../auth/viewers.js';
import { BudgetLine } from '../budget/BudgetLine.js';
import { BudgetPlan, type PlanStatus } from '../budget/BudgetPlan.js';
import { BudgetSubmission, type SubmissionStatus } from '../budget/BudgetSubmission.js';
import { BusinessUnit } from '../directory/BusinessUnit.js';
import { User } from '../directory/User.js';
import type { BatchSource, BudgetLineWriter, CellChanges, EditSource, LiveDocuments, LiveEditGroup, LiveEditTarget, SystemColumnWrite } from '../budget/budgetLineWriter.js';
import { inSqlTransaction, type SqlClient } from '../db/sql.js';
import { sqlStateOf } from './writeRetries.js';
import type { Logger } from '../log.js';
import { isFrozen } from '../policies/budgetLine.js';
import { isPlanOpen } from '../policies/budgetPlan.js';
import { gridRights, type GridRights } from '../policies/grid.js';
import type { Viewer } from '../policies/viewer.js';
import type { BudgetTopics, LinesRestructuredEvent } from '../budget/events.js';
import { onEvent, type EventBus } from '../realtime/eventBus.js';
import type { SessionTopics } from '../realtime/sessionEvents.js';
import { CELLS_MAP, cellKey } from './cellRules.js';
import { formatDocName, parseDocName } from './docName.js';
import { SharedViewers } from './sharedViewers.js';
import { GridConnection, listenToSocket, type ConnectionEvents } from './GridConnection.js';
import { GridDocument } from './GridDocument.js';
import { GridProjection } from './gridProjection.js';
import { GridRelay, type RelayedDocument } from './gridRelay.js';
import type { RedisLink } from '../realtime/redisLink.js';
import { decodeComponent, refuseUpgrade, requestTarget } from '../http/requestTarget.js';
import type { PersonSockets } from '../realtime/personSockets.js';
import { GridStore, DEFAULT_STORE_OPTIONS, type GridStoreOptions } from './gridStore.js';
import type { GridMetrics } from './gridMetrics.js';
import { KeepaliveSweep } from '../internals/keepaliveSweep.js';

/** Largest frame a client may send; a bigger one closes that connection (CloseCode.MessageTooBig). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** How often every connection is pinged (a slice of them every half second); one that did not answer the last ping is terminated. */
const KEEPALIVE_INTERVAL_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface OpenDocument {
  document: GridDocument;
  connections: Set<GridConnection>;
  /** API edits in progress that keep the document loaded. */
  leases: number;
  /** Serialises API edits with each other (version checks must see the projected rows). */
  editChain: Promise<unknown>;
  /** Pending unload once nobody holds the document (a short grace spares reloads on reconnects and bursts of API edits). */
  idleTimer?: NodeJS.Timeout;
  /** Its Redis channel, when several instances share the work. */
  relayed?: RelayedDocument;
  /** Its plan's status as last read or heard (a closed plan's document is frozen). */
  planStatus: PlanStatus;
}

export interface GridServerOptions {
  em: EntityManager;
  viewers: ViewerResolver;
  writer: BudgetLineWriter;
  events: EventBus<BudgetTopics & SessionTopics>;
  log: Logger;
  metrics: GridMetrics;
  store?: Partial<GridStoreOptions>;
  projectionIntervalMs?: number;
  /** How long a document nobody holds stays loaded. Default 5 s. */
  idleUnloadMs?: number;
  /** Open websockets per person, capped (shared with GraphQL's); absent: no cap. */
  sockets?: PersonSockets;
  /** Other instances, through Redis; absent for a single instance. */
  redis?: RedisLink;
}

export class GridServer implements LiveDocuments {
  // No client tracking: the documents know their connections, and ws's would cost every socket a listener.
  readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, clientTracking: false });
  private readonly store: GridStore;
  private readonly projection: GridProjection;
  private readonly relay?: GridRelay;
  private readonly open = new Map<string, OpenDocument>();
  /** Equal viewers of different connections, one object (sharedViewers.ts). */
  private readonly identities = new SharedViewers();
  private readonly loading = new Map<string, Promise<OpenDocument>>();
  private readonly unsubscribe: () => void;
  private stopping = false;
  private rechecking = false;
  /** The cell-change counters, resolved once rather than by labels on every update. */
  /** What every connection tells us: one object for all of them (a connection holds no closure of its own). */
  private readonly connectionEvents: ConnectionEvents;
  /** One keep-alive sweep for every connection, a slice at a time, rather than a timer each. */
  private readonly keepAlive = new KeepaliveSweep<GridConnection>((connection) => connection.keepAlive(), KEEPALIVE_INTERVAL_MS);
  /** One timer for the earliest token expiry among the connections, and when that is (ms since the epoch). */
  private expiryTimer?: NodeJS.Timeout;
  private nextExpiryAt = Infinity;

  constructor(private readonly options: GridServerOptions) {
    this.store = new GridStore(options.em, options.log, { ...DEFAULT_STORE_OPTIONS, ...options.store });
    this.store.onStoreLatency = (s) => options.metrics.storeLatency.observe(s);
    this.store.onDropped = (n, reason) => options.metrics.dropped.inc({ part: 'log', reason }, n);
    this.store.onWriteFailed = (reason) => options.metrics.writeFailures.inc({ part: 'log', reason });
    this.projection = new GridProjection(options.em, options.events, options.log, options.projectionIntervalMs);
    this.projection.onDropped = (n, reason) => options.metrics.dropped.inc({ part: 'rows', reason }, n);
    this.projection.onWriteFailed = (reason) => options.metrics.writeFailures.inc({ part: 'rows', reason });
    if (options.redis) this.relay = new GridRelay(options.redis, this.store, options.log);
    options.writer.attachLiveDocuments(this);
    this.unsubscribe = this.followAccessChanges();
    this.connectionEvents = {
      onAccepted: (n) => (options.metrics.changes.accepted += n),
      onRejected: (connection, n, detail) => {
        options.metrics.changes.rejected += n;
        // At most one line a minute per connection (GridConnection), with the count since the last one.
        if (detail) this.options.log.info({ docName: connection.document.name, userId: connection.userId, ...detail }, 'grid changes refused');
      },
      onClosed: (connection) => {
        const docName = connection.document.name;
        const open = this.open.get(docName);
        if (open?.document === connection.document) open.connections.delete(connection);
        this.keepAlive.delete(connection);
        connection.document.removePeer(connection);
        this.options.metrics.connections.dec();
        this.releaseIfIdle(docName);
      },
      expiresAt: (atMs) => this.scheduleExpiry(atMs),
    };
  }

  private forEachConnection(action: (connection: GridConnection) => void): void {
    for (const open of this.open.values()) for (const connection of [...open.connections]) action(connection);
  }

  /** Closes the connections whose token expires at `atMs` or before, then, at the next expiry among the rest. */
  private scheduleExpiry(atMs: number): void {
    if (atMs >= this.nextExpiryAt) return;
    clearTimeout(this.expiryTimer);
    this.nextExpiryAt = atMs;
    this.expiryTimer = setTimeout(() => this.expireConnections(), Math.min(Math.max(atMs - Date.now(), 0), MAX_TIMER_MS));
    this.expiryTimer.unref();
  }

  private expireConnections(): void {
    this.expiryTimer = undefined;
    this.nextExpiryAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    this.forEachConnection((connection) => {
      if (!connection.expired(now)) next = Math.min(next, connection.expiresAtMs);
    });
    if (next !== Infinity) this.scheduleExpiry(next);
  }

  /** Handles an HTTP upgrade on /yjs/...: accepts the socket, then authenticates before sending anything. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.stopping) return refuseUpgrade(socket, 503, 'Service Unavailable');
    // Accept first and refuse with a close code: the stock client stops retrying on CloseCode.Unauthorized or
    // CloseCode.Forbidden, whereas a refused HTTP upgrade makes it reconnect forever. A malformed handshake (key, version) gets ws's 400.
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      // Whatever fails for one socket (a database error while authenticating, say) ends that socket, never
      // the process: an unhandled rejection here used to.
      this.connect(ws, request).catch((err) => {
        this.options.log.error({ err }, 'opening a grid connection failed');
        if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(CloseCode.InternalError, 'Internal server error');
      });
    });
  }

  private async connect(ws: WebSocket, request: IncomingMessage): Promise<void> {
    // Its listeners for good: what it sends while we look up its person and document waits in `pending`.
    const pending = listenToSocket(ws);

    // A made-up target (`/yjs/%E0%A4%A`) is the client's mistake, told with a close code the stock client
    // understands rather than an HTTP error it would retry for ever.
    const url = requestTarget(request.url);
    const docName = url && decodeComponent(url.pathname.slice('/yjs/'.length));
    if (!url || docName === null) return ws.close(CloseCode.BadRequest, 'Bad Request');
    const em = this.options.em.fork();
    let viewer: Viewer | null = null;
    try {
      viewer = await this.options.viewers.fromToken(em, url.searchParams.get('token'));
    } catch (err) {
      this.options.log.error({ err }, 'grid authentication failed');
    }
    if (!viewer) return ws.close(CloseCode.Unauthorized, 'Unauthorized');
    if (this.options.sockets && !this.options.sockets.admit(viewer.userId, ws)) return; // closed with CloseCode.TooManySockets

    const target = await this.resolveTarget(em, docName, viewer);
    if (!target) return ws.close(CloseCode.Forbidden, 'Forbidden');
    if (pending.closed) return;

    let open: OpenDocument;
    try {
      open = await this.acquire(target.docName);
    } catch (err) {
      this.options.log.error({ err, docName }, 'loading a grid document failed');
      return ws.close(CloseCode.InternalError, 'document unavailable');
    }
    if (pending.closed || ws.readyState !== ws.OPEN) return this.releaseIfIdle(target.docName);
    const connection = new GridConnection(ws, this.identities.share(viewer, target.displayName), open.document, target.rights !== 'write', this.connectionEvents);
    open.connections.add(connection);
    this.keepAlive.add(connection);
    this.options.metrics.connections.inc();
    connection.start(pending.buffered);
  }

  /** The document a name designates, if it exists and the viewer may read it (else null, alike). */
  private async resolveTarget(em: EntityManager, docName: string, viewer: Viewer) {
    const parsed = parseDocName(docName);
    if (!parsed) return null;
    const unit = await em.findOne(BusinessUnit, { code: parsed.unitCode });
    const plan = unit ? await em.findOne(BudgetPlan, { id: parsed.planId }, { fields: ['id', 'status'] }) : null;
    const submission = plan && unit ? await em.findOne(BudgetSubmission, { plan: plan.id, businessUnit: unit.id }) : null;
    const rights = gridRights(viewer, unit, submission, plan);
    if (rights === 'none') return null;
    // Their name as others see it next to their cursor (presence is the server's to vouch for).
    const user = await em.findOne(User, { id: viewer.userId }, { fields: ['displayName'] });
    return {
      docName: formatDocName(parsed.planId, unit!.code),
      unitId: unit!.id,
      rights,
      displayName: user?.displayName ?? viewer.email,
    };
  }

  /** The open document, loading it (once, however many ask at the same time) when needed. */
  private async acquire(docName: string): Promise<OpenDocument> {
    const open = this.open.get(docName);
    if (open && !open.document.closing) {
      clearTimeout(open.idleTimer);
      open.idleTimer = undefined;
      return open;
    }
    let loading = this.loading.get(docName);
    if (!loading) {
      loading = this.load(docName).finally(() => this.loading.delete(docName));
      this.loading.set(docName, loading);
    }
    return loading;
  }

  /**
   * The parts every change of `document` goes to after the broadcast, in this order (which changes: origins.ts).
   * A method of its own so that these closures keep only what they name.
   */
  private partsOf(document: GridDocument, relayed: RelayedDocument | undefined): GridDocument['parts'] {
    const docName = document.name;
    return {
      relay: relayed ? (update, author) => relayed.publishUpdate(update, author) : undefined,
      relayPresence: relayed ? (update) => relayed.publishPresence(update) : undefined,
      store: (update) => this.store.append(docName, update),
      project: (change) => this.projection.project(document, change),
      onError: (part, err) => this.options.log.error({ err, docName, part }, 'a grid document part failed'),
      onForwarded: (seconds) => this.options.metrics.forward.observe(seconds),
    };
  }

  private async load(docName: string): Promise<OpenDocument> {
    // An unload in progress must finish (store everything) before the document is read back.
    await this.unloading.get(docName);
    const { planId, unitCode } = parseDocName(docName)!;
    const source = await readDocumentSource(this.options.em.fork(), planId, unitCode);
    const plan = { status: source.planStatus };
    const document = new GridDocument(docName, planId, source.unitId, unitCode, source.lineIds);
    // Other instances' changes from now on are kept until the stored state is in (then merged: Yjs is idempotent).
    const relayed = await this.relay?.join(docName);
    let state: Uint8Array;
    try {
      state = (await this.store.load(docName, source.seed)).state;
    } catch (err) {
      relayed?.leave();
      throw err;
    }
    const loaded = document.loadState(state);
    if (loaded.rejected.length > 0) {
      // What the stored state holds that is not valid now, the cells of lines removed while the document was not
      // open above all, was dropped in the load: its deletions are stored (the delete set alone), so that the
      // stored state forgets them too instead of dropping them again on every load.
      this.store.append(docName, Y.encodeStateAsUpdate(document.doc, Y.encodeStateVector(document.doc)));
    }
    if (loaded.missing) {
      // An update was dropped from the log (the database refused it): what depends on it cannot be read back.
      this.options.log.warn({ docName }, "a grid document's stored log lacks an update; later changes that depend on it were left out");
    }
    document.parts = this.partsOf(document, relayed);
    this.projection.attach(document);
    relayed?.attach(document);
    document.frozen = !isPlanOpen(plan.status);
    const open: OpenDocument = { document, connections: new Set(), leases: 0, editChain: Promise.resolve(), relayed, planStatus: plan.status };
    this.open.set(docName, open);
    this.options.metrics.documents.inc();
    return open;
  }

  private readonly unloading = new Map<string, Promise<void>>();

  private isIdle(open: OpenDocument | undefined): open is OpenDocument {
    return !!open && open.connections.size === 0 && open.leases === 0 && !open.document.closing && !this.stopping;
  }

  /** Schedules the unload of a document nobody holds any more. */
  private releaseIfIdle(docName: string): void {
    const open = this.open.get(docName);
    if (!this.isIdle(open)) return;
    clearTimeout(open.idleTimer);
    open.idleTimer = setTimeout(() => void this.unload(docName), this.options.idleUnloadMs ?? 5000);
  }

  /** Unloads a document still nobody holds, after its changes are projected and stored. */
  private async unload(docName: string): Promise<void> {
    const open = this.open.get(docName);
    if (!this.isIdle(open)) return;
    open.document.closing = true;
    const unload = (async () => {
      try {
        await this.projection.drain(docName);
        await this.store.flush(docName);
      } finally {
        open.relayed?.leave();
        this.projection.detach(docName);
        this.store.release(docName);
        this.open.delete(docName);
        open.document.destroy();
        this.options.metrics.documents.dec();
      }
    })();
    this.unloading.set(docName, unload);
    await unload.finally(() => this.unloading.delete(docName));
  }

  /**
   * LiveDocuments: an API edit (or a restore: `source`), applied to the line's live document as a change by `userId`, then
   * projected like any grid edit. `beforeApply` (the version check) runs once earlier edits are in the row.
   */
  async applyEdit(
    target: LiveEditTarget,
    changes: CellChanges,
    userId: string,
    beforeApply: () => Promise<void>,
    source: EditSource = 'API',
  ): Promise<void> {
    const docName = formatDocName(target.planId, target.unitCode);
    const open = await this.acquire(docName);
    open.leases += 1;
    try {
      const run = open.editChain.then(async () => {
        await this.projection.flush(docName);
        await beforeApply();
        open.document.applyEdits(target.lineId, changes, { kind: 'api', author: { userId, source } });
        await this.projection.flush(docName);
      });
      open.editChain = run.catch(() => undefined);
      await run;
    } finally {
      open.leases -= 1;
      this.releaseIfIdle(docName);
    }
  }

  /**
   * LiveDocuments: a batch of API edits (updateBudgetLines, or a spreadsheet import: `source`) over one or more
   * documents. Each document is held in its turn (its edit chain, as a single edit would be) and its earlier
   * changes projected (`inTurnOfAll`); then `decide`, seeing final rows, says which lines to apply; then each
   * document gets its edits as ONE transaction (one broadcast, one stored update, one projection batch) and the
   * projection is flushed before the turns are given back.
   */
  async applyEditBatch(
    groups: readonly LiveEditGroup[],
    userId: string,
    decide: () => Promise<ReadonlySet<string>>,
    source: BatchSource = 'API',
  ): Promise<void> {
    const byName = new Map<string, LiveEditGroup>();
    for (const group of groups) byName.set(formatDocName(group.target.planId, group.target.unitCode), group);
    await this.inTurnOfAll([...byName.keys()], async (held) => {
      const apply = await decide();
      const author = { userId, source };
      for (const { docName, open } of held) {
        const edits = byName.get(docName)!.edits.filter((e) => apply.has(e.lineId)).map((e) => ({ lineId: e.lineId, values: e.changes }));
        if (edits.length > 0) open.document.applyEditBatch(edits, { kind: 'api', author });
      }
      await Promise.all(held.map(({ docName }) => this.projection.flush(docName)));
    });
  }

  /**
   * Runs `work` holding the turns of these documents (API edits, submissions and plan status changes wait for
   * it), with every change made before it projected into the rows. The documents are loaded all at once (a cold
   * batch over 42 units would otherwise load them one after another), each held by a lease before any turn is
   * taken, and the turns are taken in document-name order: every holder of several turns takes them in the same
   * order, so no two can wait for each other in a cycle.
   */
  private async inTurnOfAll<T>(docNames: readonly string[], work: (held: readonly { docName: string; open: OpenDocument }[]) => Promise<T>): Promise<T> {
    const names = [...new Set(docNames)].sort();
    const held: { docName: string; open: OpenDocument }[] = [];
    let giveBack!: () => void;
    const done = new Promise<void>((resolve) => (giveBack = resolve));
    try {
      const loads = await Promise.allSettled(names.map((docName) => this.acquire(docName)));
      loads.forEach((load, i) => {
        if (load.status !== 'fulfilled') return;
        load.value.leases += 1;
        held.push({ docName: names[i], open: load.value });
      });
      const failed = loads.find((load): load is PromiseRejectedResult => load.status === 'rejected');
      if (failed) throw failed.reason;
      for (const { open } of held) {
        await new Promise<void>((inTurn) => {
          const run = open.editChain.then(() => {
            inTurn();
            return done;
          });
          open.editChain = run.catch(() => undefined);
        });
      }
      await Promise.all(names.map((docName) => this.projection.flush(docName)));
      return await work(held);
    } finally {
      giveBack();
      for (const { docName, open } of held) {
        open.leases -= 1;
        this.releaseIfIdle(docName);
      }
    }
  }

  /**
   * LiveDocuments: a submission. Runs in turn with the unit's API edits; from its start the document accepts no
   * change from any connection (dropped as from a read-only one), then every accepted change is projected, then
   * `commit` runs on the final rows. The document stays frozen until the unit is editable again (its submission
   * status event), or is unfrozen at once when `commit` fails.
   */
  async freezeWhile<T>(target: Omit<LiveEditTarget, 'lineId'>, commit: () => Promise<T>): Promise<T> {
    const docName = formatDocName(target.planId, target.unitCode);
    const open = await this.acquire(docName);
    open.leases += 1;
    try {
      const run = open.editChain.then(async () => {
        open.document.frozen = true;
        try {
          await this.projection.flush(docName);
          return await commit();
        } catch (err) {
          // Editable again, unless its plan is closed (a plan closed while the submission waited its turn).
          open.document.frozen = !isPlanOpen(open.planStatus);
          throw err;
        }
      });
      open.editChain = run.catch(() => undefined);
      return await run;
    } finally {
      open.leases -= 1;
      this.releaseIfIdle(docName);
    }
  }

  /**
   * LiveDocuments: a system-only column (priorYearActual) written for lines of these documents. It is not in the
   * documents (CONTRACT: they hold the editable columns only), so the write is SQL in one transaction (all or
   * nothing, budget/lineStore.ts); it takes the documents' turns as a batch does (in document-name order, see
   * applyEditBatch), so that it lands between their API edits and submissions, never across one, with every
   * earlier change projected first. The projection then knows the lines' new versions (its next write of them
   * takes the quick way), and `budgetLineChanged` tells every subscriber, on every instance.
   */
  async writeSystemColumn<T>(targets: readonly Omit<LiveEditTarget, 'lineId'>[], write: (client: SqlClient) => Promise<SystemColumnWrite<T>>): Promise<T> {
    return this.inTurnOfAll(
      targets.map((t) => formatDocName(t.planId, t.unitCode)),
      async () => {
        const { result, changed } = await this.transactionRetried(write);
        this.projection.learn(changed);
        for (const line of changed) this.options.events.publish('BUDGET_LINE_CHANGED', { planId: line.planId, unitId: line.businessUnit.id, line });
        return result;
      },
    );
  }

  /**
   * `write` in a transaction, once more (twice at most) when PostgreSQL broke a deadlock or a serialization
   * conflict by ending it: grid edits keep being projected meanwhile (a turn holds API edits, not connections),
   * and a projection batch that locks its lines in another order can meet the write's locks. Nothing of an ended
   * transaction stays, and `write` reads everything again.
   */
  private async transactionRetried<T>(write: (client: SqlClient) => Promise<SystemColumnWrite<T>>): Promise<SystemColumnWrite<T>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inSqlTransaction(this.options.em, write);
      } catch (err) {
        const state = sqlStateOf(err);
        if (attempt >= 3 || (state !== '40P01' && state !== '40001')) throw err;
        this.options.log.warn({ err, attempt }, 'a system-column write met a deadlock; trying again');
      }
    }
  }

  /** Open connections learn their new rights as soon as a submission or a person's access changes. */
  private followAccessChanges(): () => void {
    const stops = [
      onEvent(this.options.events, 'SUBMISSION_STATUS_CHANGED', (e) => this.applySubmissionStatus(e.planId, e.unitId, e.status)),
      onEvent(this.options.events, 'PLAN_STATUS_CHANGED', (e) => this.applyPlanStatus(e.planId, e.status)),
      onEvent(this.options.events, 'USER_ACCESS_CHANGED', (e) =>
        this.applyUserAccess(e.userId).catch((err) => this.options.log.error({ err, userId: e.userId }, 're-checking grid connections failed')),
      ),
      // A token ended by signOut: its connections close as an expired token's would (CloseCode.Unauthorized).
      // The person's tokens ended wholesale (no token id: a password change or reset, a deactivation): each of
      // their connections re-reads its viewer, and closes the same way when its token names nobody any more.
      onEvent(this.options.events, 'TOKENS_REVOKED', (e) => {
        if (e.tokenId === undefined) {
          this.applyUserAccess(e.userId).catch((err) => this.options.log.error({ err, userId: e.userId }, 're-checking grid connections failed'));
          return;
        }
        for (const open of this.open.values()) {
          for (const c of [...open.connections]) if (c.viewer.tokenId === e.tokenId) c.close(CloseCode.Unauthorized, 'signed out');
        }
      }),
      // Lines added to or removed from a unit (addBudgetLines, removeBudgetLines), on any instance.
      onEvent(this.options.events, 'BUDGET_LINES_RESTRUCTURED', (e) => this.applyStructure(e)),
      // Redis is away (checked now and then) or came back: access or submission changes made on other instances
      // meanwhile were not heard.
      onEvent(this.options.events, 'CLUSTER_RESYNC', () => {
        void this.recheckEveryConnection();
        void this.recheckEveryStructure();
      }),
    ];
    return () => stops.forEach((stop) => stop());
  }

  /** Re-reads a person's rights for each of their connections: read-only now, or closed (CloseCode.Forbidden). */
  private async applyUserAccess(userId: string): Promise<void> {
    const theirs = [...this.open.values()].flatMap((open) =>
      [...open.connections].filter((c) => c.viewer.userId === userId).map((connection) => ({ open, connection })),
    );
    // Nothing they send counts until their new rights are known: no edit slips in with the old ones.
    for (const { connection } of theirs) connection.setReadOnly(true);
    const em = this.options.em.fork();
    for (const { open, connection } of theirs) {
      const viewer = await this.options.viewers.refresh(em, connection.viewer);
      const submission = viewer ? await em.findOne(BudgetSubmission, { plan: open.document.planId, businessUnit: open.document.unitId }) : null;
      applyRights(connection, viewer, open.document, submission, open.planStatus, this.identities);
    }
  }

  /**
   * Re-reads the rights of every connection (submission statuses and people's access) and applies what
   * changed. Unlike a heard access change, nobody is made read-only meanwhile: a refused edit would hold back
   * that client's later ones, and most rights have not changed.
   */
  private async recheckEveryConnection(): Promise<void> {
    if (this.rechecking) return;
    this.rechecking = true;
    try {
      const em = this.options.em.fork();
      const viewers = new Map<string, Viewer | null>();
      for (const open of [...this.open.values()]) {
        const submission = await em.findOne(BudgetSubmission, { plan: open.document.planId, businessUnit: open.document.unitId });
        const plan = await em.findOne(BudgetPlan, { id: open.document.planId }, { fields: ['status'] });
        if (plan) open.planStatus = plan.status;
        // Frozen elsewhere while we did not hear it. (Never unfrozen here: a submission may be under way on this instance.)
        if (isFrozen(submission?.status ?? 'DRAFT') || !isPlanOpen(open.planStatus)) open.document.frozen = true;
        for (const connection of [...open.connections]) {
          // Per person and token: a token ended meanwhile (signOut) names nobody any more.
          const key = `${connection.viewer.userId}/${connection.viewer.tokenId ?? ''}`;
          if (!viewers.has(key)) viewers.set(key, await this.options.viewers.refresh(em, connection.viewer));
          const viewer = viewers.get(key);
          applyRights(connection, viewer && { ...viewer, expiresAt: connection.viewer.expiresAt }, open.document, submission, open.planStatus, this.identities);
        }
      }
    } catch (err) {
      this.options.log.error({ err }, 're-checking grid connections failed');
    } finally {
      this.rechecking = false;
    }
  }

  private applySubmissionStatus(planId: string, unitId: string, status: SubmissionStatus): void {
    for (const open of this.open.values()) {
      if (open.document.planId !== planId || open.document.unitId !== unitId) continue;
      open.document.frozen = isFrozen(status) || !isPlanOpen(open.planStatus);
      for (const connection of open.connections) {
        connection.setReadOnly(gridRights(connection.viewer, { id: unitId }, { status }, { id: planId, status: open.planStatus }) !== 'write');
      }
    }
  }

  /**
   * Lines added to or removed from a unit, committed: its open document accepts the new lines' cells at once,
   * and the removed lines' cells leave it (sent to its connections and stored, never projected: origins.ts).
   * A document being loaded gets the same once it is in (its rows may have been read before the change).
   * Each instance applies this to its own documents; nothing of it is relayed.
   */
  private applyStructure(event: LinesRestructuredEvent): void {
    const docName = formatDocName(event.planId, event.unit.code);
    const apply = (open: OpenDocument) => {
      open.document.addLines(event.added.map((l) => l.id));
      open.document.removeLines(event.removedLineIds);
    };
    const open = this.open.get(docName);
    if (open) apply(open);
    this.loading.get(docName)?.then(apply, () => undefined);
  }

  /**
   * Redis is away or came back: lines added or removed on another instance meanwhile were not heard. Each open
   * document reads its unit's lines again and applies the difference, as the event would have.
   */
  private async recheckEveryStructure(): Promise<void> {
    try {
      const em = this.options.em.fork();
      for (const open of [...this.open.values()]) {
        const { planId, unitId } = open.document;
        // Known before the read: a line added after it (its event heard meanwhile) is not taken for removed. A
        // removed line's id never comes back, so one known before and not read is gone.
        const knownBefore = [...open.document.lineIds];
        const rows = await em.find(BudgetLine, { plan: planId, businessUnit: unitId }, { fields: ['id'] });
        const now = new Set(rows.map((l) => l.id));
        open.document.addLines([...now].filter((id) => !open.document.lineIds.has(id)));
        open.document.removeLines(knownBefore.filter((id) => !now.has(id)));
      }
    } catch (err) {
      this.options.log.error({ err }, "re-reading open grids' lines failed");
    }
  }

  /**
   * A plan closed or reopened. Closing freezes its open documents and makes their connections read-only at
   * once. Then, in turn with the document's API edits and submissions (its edit chain, so that a submission in
   * progress is not unfrozen under it), each connection gets the rights its unit's submission and the plan give.
   */
  private applyPlanStatus(planId: string, status: PlanStatus): void {
    for (const open of this.open.values()) {
      if (open.document.planId !== planId) continue;
      open.planStatus = status;
      if (!isPlanOpen(status)) {
        open.document.frozen = true;
        for (const connection of open.connections) connection.setReadOnly(true);
      }
      const run = open.editChain.then(async () => {
        if (open.planStatus !== status) return; // changed again since: that event applies its own
        const submission = await this.options.em.fork().findOne(BudgetSubmission, { plan: planId, businessUnit: open.document.unitId }, { fields: ['status'] });
        const submissionStatus = submission?.status ?? 'DRAFT';
        open.document.frozen = isFrozen(submissionStatus) || !isPlanOpen(status);
        for (const connection of open.connections) {
          connection.setReadOnly(gridRights(connection.viewer, { id: open.document.unitId }, { status: submissionStatus }, { id: planId, status }) !== 'write');
        }
      });
      open.editChain = run.catch((err) => this.options.log.error({ err, planId }, "applying a plan's status to its grids failed"));
    }
  }

  /**
   * Graceful stop: refuse new sockets, close the open ones (no new edits arrive), then project and store
   * every edit that was accepted, and so acknowledged to other clients, before the database closes.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe();
    this.keepAlive.close();
    clearTimeout(this.expiryTimer);
    this.relay?.stop();
    await Promise.all([...this.loading.values()].map((p) => p.catch(() => undefined)));
    for (const open of this.open.values()) {
      clearTimeout(open.idleTimer);
      for (const connection of [...open.connections]) connection.close(CloseCode.GoingAway, 'server shutting down');
    }
    await Promise.all([...this.unloading.values()].map((p) => p.catch(() => undefined)));
    await this.projection.flushAll();
    await this.store.flushAll();
    await this.store.close();
    for (const open of this.open.values()) open.document.destroy();
    this.open.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  /** For tests and diagnostics: the documents open now. */
  openDocumentNames(): string[] {
    return [...this.open.keys()];
  }
}

/**
 * What a document is made from: its unit, its plan's status, its lines, and (for a document never stored) its
 * first state from the rows. A function of its own so that nothing read here, the entities above all, stays in a
 * scope the open document's closures keep: a document of 10,000 lines once held its 10,000 BudgetLine entities,
 * with their entity manager, for as long as it was open.
 */
async function readDocumentSource(em: EntityManager, planId: string, unitCode: string) {
  const unit = await em.findOneOrFail(BusinessUnit, { code: unitCode }, { fields: ['id'] });
  const plan = await em.findOneOrFail(BudgetPlan, { id: planId }, { fields: ['status'] });
  const lines = await em.find(
    BudgetLine,
    { plan: planId, businessUnit: unit.id },
    { fields: ['id', 'budgetAmount', 'forecastSales', 'comment'], orderBy: { position: 'asc' } },
  );
  const rows = lines.map((l) => ({ id: l.id, budgetAmount: l.budgetAmount, forecastSales: l.forecastSales, comment: l.comment }));
  em.clear();
  return {
    unitId: unit.id,
    planStatus: plan.status,
    lineIds: new Set(rows.map((l) => l.id)),
    seed: async () => seedFromRows(rows),
  };
}

/** A new document's first state: the rows' editable values as cells (empty cells are absent keys). */
function seedFromRows(lines: readonly Pick<BudgetLine, 'budgetAmount' | 'forecastSales' | 'comment' | 'id'>[]): Uint8Array {
  const doc = new Y.Doc();
  const cells = doc.getMap(CELLS_MAP);
  doc.transact(() => {
    for (const line of lines) {
      if (line.budgetAmount !== null) cells.set(cellKey(line.id, 'budgetAmount'), line.budgetAmount);
      if (line.forecastSales !== null) cells.set(cellKey(line.id, 'forecastSales'), line.forecastSales);
      if (line.comment !== '') cells.set(cellKey(line.id, 'comment'), line.comment);
    }
  });
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

/**
 * Applies a person's current rights to one of their connections: closed when they are signed out or gone
 * (Unauthorized: sign in again) or may no longer read the unit (Forbidden); else read-only or not, as
 * `gridRights` says for the unit's submission and its plan now.
 */
function applyRights(
  connection: GridConnection,
  viewer: Viewer | null | undefined,
  document: { planId: string; unitId: string },
  submission: { status: SubmissionStatus } | null,
  planStatus: PlanStatus,
  identities: SharedViewers,
): void {
  if (!viewer) return connection.close(CloseCode.Unauthorized, 'session ended');
  const rights: GridRights = gridRights(viewer, { id: document.unitId }, submission, { id: document.planId, status: planStatus });
  if (rights === 'none') return connection.close(CloseCode.Forbidden, 'access changed');
  connection.updateViewer(identities.share(viewer, connection.identity.name), rights !== 'write');
}
