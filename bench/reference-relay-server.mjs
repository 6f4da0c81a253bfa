#!/usr/bin/env node
// The reference y-websocket@1.5.4 server (its own bin/utils.js, unchanged) scaled out the simplest way: every
// document's updates relayed to the other instances through Redis pub/sub. The scale-out scenario
// (bench/lib/scaleout.mjs) runs two of these with the writers split, next to one without REDIS_URL (then it is
// the plain reference), so that Plansync's two-instance ratio can be set against what scaling the simplest Yjs
// server out through Redis costs on the same machine, in the same run. Not a server anyone should run.
//
// The relay hangs on the reference's own extension point, its persistence (`setPersistence`): `bindState` runs
// when a document is created, `writeState` when its last connection leaves (the reference then drops it).
// - An update the document accepts from a connection (origin: not the relay) is published once on the
//   document's channel, prefixed with this instance's id (16 random bytes), with an ordinary answered PUBLISH.
// - A message from Redis: our own echo is skipped by its prefix; anything else is applied to the document with
//   the relay as origin, and the reference's own update handler sends it to the document's connections.
// No validation, no storage, no catch-up of a late joiner (the bench's documents are open on both instances
// before any edit), no presence relay (the bench's light clients send none): the least a relay does.
//
// Environment: PORT, HOST (default 127.0.0.1), REDIS_URL (none: no relay), REDIS_PREFIX. Answers any HTTP
// request with 200 (the scale-out scenario waits for /healthz).
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';

const require = createRequire(import.meta.url);
const utilsPath = require.resolve('y-websocket-reference/bin/utils');
const referenceRequire = createRequire(utilsPath);
const { setupWSConnection, setPersistence } = referenceRequire('./utils.js');
// The Yjs the reference itself loaded (one instance of the library in the process).
const Y = referenceRequire('yjs');
// The ws the reference's own server uses (its bin/server.js: `new WebSocket.Server`).
const WebSocketServer = referenceRequire('ws').Server;

const RELAY = Symbol('relay');
const redisUrl = process.env.REDIS_URL;
const prefix = process.env.REDIS_PREFIX ?? 'reference-relay';

if (redisUrl) {
  const instanceId = randomBytes(16);
  const publisher = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  /** channel -> document */
  const documents = new Map();
  subscriber.on('messageBuffer', (channel, message) => {
    if (message.length < 16 || message.compare(instanceId, 0, 16, 0, 16) === 0) return; // our own echo
    const doc = documents.get(channel.toString());
    if (doc) Y.applyUpdate(doc, message.subarray(16), RELAY);
  });
  setPersistence({
    bindState: (docName, doc) => {
      const channel = `${prefix}:${docName}`;
      documents.set(channel, doc);
      void subscriber.subscribe(channel);
      doc.on('update', (update, origin) => {
        if (origin !== RELAY) void publisher.publish(channel, Buffer.concat([instanceId, update]));
      });
    },
    writeState: async (docName) => {
      const channel = `${prefix}:${docName}`;
      documents.delete(channel);
      await subscriber.unsubscribe(channel);
    },
  });
}

const server = http.createServer((_req, res) => res.end('okay'));
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', setupWSConnection);
server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request)));
server.listen(Number(process.env.PORT ?? 1234), process.env.HOST ?? '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
