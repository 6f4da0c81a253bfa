/**
 * The live grid document of one unit: a Y.Doc synced with the server by the stock y-websocket provider,
 * an undo manager that tracks only this person's edits, presence (awareness) and the connection state.
 *
 * Edits made while offline stay in the document and are sent when the connection returns (the provider
 * resyncs on reconnect). A CloseCode.Unauthorized close means the session ended; CloseCode.Forbidden that the
 * person may not open the unit.
 *
 * A renewed session token changes nothing on screen: the open socket stays (the document, the provider, the
 * grid and any cell editor with them), and the token only takes effect at the next connection, which the server
 * forces when the socket's own token expires (`reconnectsAfter`).
 */
import { useEffect, useRef, useState } from 'react';
import { WebsocketProvider } from 'y-websocket';
import * as Y from 'yjs';
import { CloseCode } from '../../../schema/codes';
import type { PresenceState } from './presenceState';

/** `syncing`: connected, the server's content not in yet; `live` only once it is. */
export type ConnectionStatus = 'connecting' | 'syncing' | 'live' | 'reconnecting' | 'offline' | 'closed';

/** Transaction origin of this person's own edits: what undo and redo act on. */
export const LOCAL_EDIT = Symbol('local-edit');

export interface GridDocument {
  doc: Y.Doc;
  cells: Y.Map<unknown>;
  provider: WebsocketProvider;
  undo: Y.UndoManager;
  status: ConnectionStatus;
  synced: boolean;
  /** The document has had the server's content at least once (edits before that would land on a blank grid). */
  loaded: boolean;
  /**
   * Why the server closed the connection for good, a CloseCode: Unauthorized (the session ended), Forbidden (no
   * access), or another 44xx code.
   */
  closedCode: number | null;
}

const PALETTE = ['#e5484d', '#3e63dd', '#30a46c', '#f76b15', '#8e4ec6', '#12a594', '#d6409f', '#ad7f58'];

/** A stable colour per person, so everyone sees the same one for them. */
export function colorFor(email: string): string {
  let h = 0;
  for (const ch of email) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

/**
 * Whether the provider connects again after the server closed its socket: y-websocket's default (never after a
 * 44xx code, which says reconnecting cannot help), except for a CloseCode.Unauthorized close of a socket opened
 * with an older token than the provider now has. The server closes a socket when the token it was opened with
 * expires; after a renewal (`params.token` replaced) that is no reason to stop: the next connection carries the
 * renewed token. Should that one be refused too (the person deactivated meanwhile, say), the close is final.
 */
export function reconnectsAfter(event: CloseEvent, provider: Pick<WebsocketProvider, 'params'>): boolean {
  if (event.code === CloseCode.Unauthorized) {
    const socket = event.target instanceof WebSocket ? event.target : null;
    const openedWith = socket ? new URL(socket.url).searchParams.get('token') : null;
    return openedWith !== null && openedWith !== provider.params.token;
  }
  // The 44xx range, from its first code (BadRequest) to the first of the 45xx (InternalServerError).
  return !(event.code >= CloseCode.BadRequest && event.code < CloseCode.InternalServerError);
}

/** The grid's provider, made the same way whether the page opens it or grid/prefetch.ts did (`openEarly`). */
function openProvider(docName: string, doc: Y.Doc, token: string): WebsocketProvider {
  const wsUrl = `${window.location.protocol === 'https:' ? 'wss' : 'ws'}://${window.location.host}/yjs`;
  return new WebsocketProvider(wsUrl, docName, doc, { params: { token }, disableBc: true, shouldReconnect: reconnectsAfter });
}

/** Unclaimed this long (the person went elsewhere, or the page chose another plan), an early document is closed. */
const EARLY_UNCLAIMED_MS = 30_000;
/** A document opened before its page asked for it, waiting for `useGridDocument` to take it. */
let early: { docName: string; doc: Y.Doc; provider: WebsocketProvider; timer: ReturnType<typeof setTimeout> } | null = null;

function dropEarly(): void {
  if (!early) return;
  clearTimeout(early.timer);
  early.provider.destroy();
  early.doc.destroy();
  early = null;
}

/**
 * Opens a unit's document now, for the grid page about to show it (grid/prefetch.ts, on a cold open): its socket
 * connects and syncs while the page's code and queries load, and the page takes it over (same document, same
 * socket). It shares no presence until then. Refused (a unit the person may not open: a 44xx close), it is
 * dropped, and the page's own connection meets the refusal.
 */
export function openEarly(docName: string, token: string): void {
  if (early) return;
  const doc = new Y.Doc();
  const provider = openProvider(docName, doc, token);
  provider.awareness.setLocalState(null);
  provider.on('closed', dropEarly);
  early = { docName, doc, provider, timer: setTimeout(dropEarly, EARLY_UNCLAIMED_MS) };
}

/** The early document of `docName`, taken (nobody else gets it), or null; one of another document is closed. */
function takeEarly(docName: string): { doc: Y.Doc; provider: WebsocketProvider } | null {
  if (!early) return null;
  if (early.docName !== docName) {
    dropEarly();
    return null;
  }
  const taken = early;
  clearTimeout(taken.timer);
  taken.provider.off('closed', dropEarly);
  early = null;
  return taken;
}

interface Parts {
  doc: Y.Doc;
  cells: Y.Map<unknown>;
  provider: WebsocketProvider;
  undo: Y.UndoManager;
}

/** Null until the document exists (the first render). Created in an effect so that a remount starts clean. */
export function useGridDocument(docName: string, token: string, me: { displayName: string; email: string }): GridDocument | null {
  const [parts, setParts] = useState<Parts | null>(null);
  const [status, setStatus] = useState<ConnectionStatus>('connecting');
  const [synced, setSynced] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [closedCode, setClosedCode] = useState<number | null>(null);
  // The token at the time the document opens; a renewed one is used from the next connection on (below).
  const tokenRef = useRef(token);
  tokenRef.current = token;

  useEffect(() => {
    // Opened early (a cold open of this page: grid/prefetch.ts) and maybe synced already, else opened now.
    const taken = takeEarly(docName);
    const doc = taken?.doc ?? new Y.Doc();
    const provider = taken?.provider ?? openProvider(docName, doc, tokenRef.current);
    if (provider.params.token !== tokenRef.current) provider.params = { ...provider.params, token: tokenRef.current };
    const cells = doc.getMap<unknown>('cells');
    const undo = new Y.UndoManager(cells, { trackedOrigins: new Set([LOCAL_EDIT]), captureTimeout: 300 });
    const presence: PresenceState = { user: { name: me.displayName, email: me.email, color: colorFor(me.email) }, cell: null };
    provider.awareness.setLocalState(presence);
    setStatus('connecting');
    setSynced(false);
    setLoaded(false);
    setClosedCode(null);

    let everConnected = provider.wsconnected;
    const showStatus = () => {
      if (!navigator.onLine) setStatus('offline');
      else if (provider.wsconnected) setStatus(provider.synced ? 'live' : 'syncing');
      else setStatus(everConnected ? 'reconnecting' : 'connecting');
    };
    const onStatus = ({ status: s }: { status: 'connected' | 'disconnected' | 'connecting' }) => {
      if (s === 'connected') everConnected = true;
      showStatus();
    };
    const onSync = (isSynced: boolean) => {
      setSynced(isSynced);
      if (isSynced) setLoaded(true);
      showStatus();
    };
    const onClosed = (event: { code: number }) => {
      setClosedCode(event.code);
      setStatus('closed');
    };
    const onOffline = () => setStatus('offline');
    const onOnline = () => (provider.wsconnected ? showStatus() : setStatus('reconnecting'));
    provider.on('status', onStatus);
    provider.on('sync', onSync);
    provider.on('closed', onClosed);
    window.addEventListener('offline', onOffline);
    window.addEventListener('online', onOnline);
    // An early document's socket may be open, and its content in, already.
    if (taken) onSync(provider.synced);
    setParts({ doc, cells, provider, undo });
    return () => {
      window.removeEventListener('offline', onOffline);
      window.removeEventListener('online', onOnline);
      undo.destroy();
      provider.destroy();
      doc.destroy();
      setParts(null);
    };
  }, [docName, me.displayName, me.email]);

  // A renewed session token (auth/useSessionRenewal.ts) is only handed to the provider, for its next connection.
  // Reconnecting now would change nothing for the server, yet the page would go through a disconnect, presence
  // dropping and coming back, and the lines read again, around whatever the person is typing. The open socket
  // keeps working until its own token expires; the server then closes it (CloseCode.Unauthorized) and the
  // provider connects again at once with the renewed token (reconnectsAfter), on the same document: Yjs syncs
  // both ways, so edits made in between, the undo history and the person's place are all kept.
  useEffect(() => {
    const provider = parts?.provider;
    if (!provider || provider.params.token === token) return;
    provider.params = { ...provider.params, token };
  }, [parts, token]);

  return parts ? { ...parts, status, synced, loaded, closedCode } : null;
}
