/**
 * Reading what a client put on the request line, and refusing it, for the paths that do it by hand (websocket
 * upgrades: Node hands them over before express sees anything). The readers answer null for input a client
 * made up (`//[`, `%E0%A4%A`, `*`) instead of throwing: a throw there used to end the whole process from an
 * unauthenticated upgrade. What to answer (400, or a CloseCode.BadRequest close once accepted) is the caller's
 * choice.
 */
import type { Duplex } from 'node:stream';

/** A fixed base: the Host header is the client's to choose and plays no part in routing. */
const BASE = 'http://localhost';

/**
 * The request-target as a URL: origin-form (`/path?query`, taken as a path even when it starts with `//`) or
 * absolute-form (`http://host/path`, which HTTP servers must accept); null for anything else.
 */
export function requestTarget(raw: string | undefined): URL | null {
  if (!raw) return null;
  try {
    if (raw.startsWith('/')) return new URL(BASE + raw);
    if (/^(https?|wss?):\/\//i.test(raw)) {
      const url = new URL(raw);
      return new URL(BASE + url.pathname + url.search);
    }
  } catch {
    // Not a URL at all: null below.
  }
  return null;
}

/** `decodeURIComponent`, with null for a malformed escape instead of a URIError. */
export function decodeComponent(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** Answers an upgrade we do not take with a plain HTTP status, on the raw socket, and closes it. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
