#!/usr/bin/env node
// The floor of subscription fan-out on this machine (bench/scenarios/subscriptions.mjs): the least a
// graphql-transport-ws server can do to deliver an event to thousands of subscribers, so that Plansync's and the
// reference's delivery times can be set against what the writes alone take here. Not a server anyone should run.
//
// It speaks just enough of graphql-transport-ws for the bench's subscribers (bench/gql-subscriber-worker.mjs):
// connection_init is acknowledged, a subscribe is noted (its id, on its socket), ping is answered; nothing is
// parsed, validated, authorised or executed. An event's `data` is serialised once; each socket then gets, for
// every event of the group, `{"id":...,"type":"next","payload":<data>}` framed by hand, all of the group's frames
// in one `socket.write`, as Plansync corks the events of one transaction into one write per socket. What is left
// is one system call per socket per group: on loopback the sender's write also runs the receiver's TCP path.
//
// Driven as the reference is (bench/reference-graphql-ws.mjs):
//   GET  /healthz   200
//   POST /publish   { groups: [{ offsetMs, events: [{ executionId, stepKey, status, executionStatus }] }] }
// Environment: PORT, HOST (default 127.0.0.1). Prints `listening <port>` once it listens.
import { WebSocketServer } from 'ws';
import { publishingHttpServer } from './lib/publishServer.mjs';

/** One unmasked text websocket frame (RFC 6455, 5.2), as a server sends it. */
function textFrame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const header = n < 126 ? Buffer.from([0x81, n]) : n < 65536 ? Buffer.from([0x81, 126, n >> 8, n & 255]) : null;
  if (!header) throw new Error('message too large for the floor server');
  return Buffer.concat([header, payload]);
}

/** Subscription ids by socket (the TCP socket under each ws connection). */
const subscribers = new Map();
let cursor = 0;

function publishGroup(events) {
  const payloads = events.map((e) => {
    const at = new Date().toISOString();
    const event = {
      cursor: Buffer.from(`workflow_event:${++cursor}`).toString('base64url'),
      executionId: e.executionId,
      stepKey: e.stepKey ?? null,
      status: e.status,
      at,
      execution: { id: e.executionId, status: e.executionStatus ?? e.status },
    };
    return JSON.stringify({ data: { workflowEvents: event } });
  });
  for (const [socket, ids] of subscribers) {
    const frames = [];
    for (const id of ids) for (const payload of payloads) frames.push(textFrame(`{"id":${JSON.stringify(id)},"type":"next","payload":${payload}}`));
    if (frames.length > 0) socket.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  }
}

const server = publishingHttpServer(publishGroup);

const wss = new WebSocketServer({ server, path: '/graphql', clientTracking: false, handleProtocols: (protocols) => (protocols.has('graphql-transport-ws') ? 'graphql-transport-ws' : false) });
wss.on('connection', (ws) => {
  const socket = ws._socket;
  const ids = [];
  subscribers.set(socket, ids);
  ws.on('close', () => subscribers.delete(socket));
  ws.on('error', () => ws.terminate());
  ws.on('message', (data) => {
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return ws.close(4400, 'Invalid message');
    }
    if (message.type === 'connection_init') ws.send('{"type":"connection_ack"}');
    else if (message.type === 'subscribe') ids.push(message.id);
    else if (message.type === 'complete') ids.splice(ids.indexOf(message.id) >>> 0, 1);
    else if (message.type === 'ping') ws.send('{"type":"pong"}');
  });
});

const port = Number(process.env.PORT ?? 0);
server.listen(port, process.env.HOST || '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
