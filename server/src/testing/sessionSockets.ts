/**
 * Raw sockets for tests of how a session ends (signOut, a password change, a deactivation): a GraphQL socket
 * (graphql-transport-ws, acknowledged) and a grid socket (y-websocket), each with what it answered first and the
 * code it closes with, so that a test can wait for the close the server sends.
 */
import WebSocket from 'ws';

export interface SessionSocket {
  socket: WebSocket;
  /** The close code, once it closes. */
  closed: Promise<number>;
  /** GraphQL: the first message's type (`connection_ack`), grid: `message`; or `closed <code>` when refused. */
  first: string;
}

/** A raw graphql-transport-ws socket on /graphql, initialised with the token. */
export async function graphqlSocket(server: { url: string }, token: string): Promise<SessionSocket> {
  const socket = new WebSocket(server.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } }));
  const first = await Promise.race([
    new Promise<string>((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)).type))),
    closed.then((code) => `closed ${code}`),
  ]);
  return { socket, closed, first };
}

/** A raw grid socket to a unit's document (`budget:<plan>:<unit>`). */
export async function gridSocket(server: { url: string }, docName: string, token: string): Promise<SessionSocket> {
  const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/yjs/${encodeURIComponent(docName)}?token=${encodeURIComponent(token)}`);
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  // The server speaks first once it accepted the connection (its sync step 1).
  const first = await Promise.race([
    new Promise<string>((resolve) => socket.once('message', () => resolve('message'))),
    closed.then((code) => `closed ${code}`),
  ]);
  return { socket, closed, first };
}
