/**
 * Grid clients for tests: the stock y-websocket `WebsocketProvider` (with ws as its WebSocket), exactly as
 * a browser would use it, plus helpers to wait for convergence without fixed sleeps.
 */
import WebSocket from 'ws';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';

export interface GridClient {
  doc: Y.Doc;
  cells: Y.Map<unknown>;
  provider: WebsocketProvider;
  /** The close code the server sent, once it closed us for good (a 44xx code, CloseCode.BadRequest to CloseCode.TooManySockets). */
  closed: Promise<{ code: number; reason: string }>;
  destroy(): void;
}

/** Connects a stock provider to `/yjs/<docName>?token=...`; `synced` waits for the first sync. */
export function connectGrid(baseUrl: string, docName: string, token: string | null, options: { connect?: boolean } = {}): GridClient {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(baseUrl.replace(/^http/, 'ws') + '/yjs', docName, doc, {
    params: token ? { token } : {},
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    connect: options.connect ?? true,
    disableBc: true,
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    provider.on('closed', (event: { code: number; reason: string }) => resolve({ code: event.code, reason: event.reason }));
  });
  return {
    doc,
    cells: doc.getMap('cells'),
    provider,
    closed,
    destroy() {
      provider.destroy();
      doc.destroy();
    },
  };
}

/** Resolves once the provider has synced with the server. */
export function synced(client: GridClient): Promise<void> {
  if (client.provider.synced) return Promise.resolve();
  return new Promise((resolve) => {
    const handler = (isSynced: boolean) => {
      if (!isSynced) return;
      client.provider.off('sync', handler);
      resolve();
    };
    client.provider.on('sync', handler);
  });
}

/** Polls `check` until it returns a truthy value (or throws with `what` after `timeoutMs`). */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The cells of a client as a plain object with sorted keys, for equality checks (map order is per replica). */
export function cellsOf(client: GridClient): Record<string, unknown> {
  return Object.fromEntries(Object.entries(client.cells.toJSON()).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

let markers = 0;
/**
 * Whether `client`'s next edit is dropped by its server, proven by order: it writes `key`, then announces a new
 * selected cell in its presence (the one presence field a client chooses; the server vouches for the rest); when
 * `witness` sees that presence, the edit would have arrived before it.
 */
export async function editDropped(client: GridClient, witness: GridClient, key: string, value: number): Promise<boolean> {
  client.cells.set(key, value);
  const marker = `${key.split('/')[0]}/${markers++ % 2 === 0 ? 'comment' : 'forecastSales'}`;
  client.provider.awareness.setLocalStateField('cell', marker);
  await eventually(() => witness.provider.awareness.getStates().get(client.doc.clientID)?.cell === marker, 'the presence marker to reach the witness');
  return witness.cells.get(key) !== value;
}
