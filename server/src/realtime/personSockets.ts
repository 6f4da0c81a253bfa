/**
 * How many websockets (grid and GraphQL together) one person may hold open on this instance. Everything a
 * socket keeps (subscriptions, their ids and variables, a grid connection's state) is bounded per socket;
 * this bounds the sockets, so that what one person can make the server hold, and send, is bounded too.
 * A socket beyond the cap is accepted and closed with CloseCode.TooManySockets once its person is known: in
 * the style of graphql-ws's codes (44xx, HTTP's 429), which the stock clients, graphql-ws's and y-websocket's,
 * take as final (no reconnection storm): the person opens it again after closing another tab.
 *
 * Out of scope: other instances' sockets (each instance counts its own) and sockets before authentication
 * (they are closed unless they authenticate within the protocol's time: 10 s on GraphQL, at once on the grid).
 */
import type { WebSocket } from 'ws';
import { CloseCode } from '../../../schema/codes.js';

/** One person's open sockets, with their id: what each of their sockets points to (one id string per person). */
class TheirSockets extends Set<WebSocket> {
  constructor(readonly userId: string) {
    super();
  }
}

export class PersonSockets {
  private readonly open = new Map<string, TheirSockets>();
  /** Whose each counted socket is. */
  private readonly owners = new WeakMap<WebSocket, TheirSockets>();
  /** The one 'close' listener of every counted socket (`this` is the socket): no closure per socket. */
  private readonly forget: (this: WebSocket) => void;

  /** @param maxPerPerson sockets one person may hold at once (MAX_SOCKETS_PER_PERSON, default 20). */
  constructor(readonly maxPerPerson: number) {
    const sockets = this;
    this.forget = function (this: WebSocket) {
      sockets.release(this);
    };
  }

  /**
   * Counts `socket` for `userId` until it closes, or closes it with CloseCode.TooManySockets when the person
   * already holds the maximum. Returns whether it was admitted (a socket no longer open is not); a refused
   * socket must not be used further.
   */
  admit(userId: string, socket: WebSocket): boolean {
    // Closed while its person was being looked up: its 'close' is past, it would never be uncounted.
    if (socket.readyState !== socket.OPEN) return false;
    let theirs = this.open.get(userId);
    if (theirs?.has(socket)) return true;
    if ((theirs?.size ?? 0) >= this.maxPerPerson) {
      socket.close(CloseCode.TooManySockets, `At most ${this.maxPerPerson} open connections per person`);
      return false;
    }
    if (!theirs) this.open.set(userId, (theirs = new TheirSockets(userId)));
    theirs.add(socket);
    this.owners.set(socket, theirs);
    socket.on('close', this.forget); // 'close' comes once: `on` spares the wrapper `once` makes per socket
    return true;
  }

  private release(socket: WebSocket): void {
    const theirs = this.owners.get(socket);
    if (theirs === undefined) return;
    this.owners.delete(socket);
    theirs.delete(socket);
    if (theirs.size === 0 && this.open.get(theirs.userId) === theirs) this.open.delete(theirs.userId);
  }

  /** Sockets the person holds now (for tests and metrics). */
  count(userId: string): number {
    return this.open.get(userId)?.size ?? 0;
  }
}
