// The reference for scenario 14 (bench/scenarios/clientLoad.mjs): the web client served the way Plansync served it
// before issue 16, from the same client/dist: `express.static` with `maxAge: '1h'`, no compression (the .br/.gz
// copies beside the files are never chosen: nothing looks at Accept-Encoding), and every other GET falling back to
// index.html (maxAge 0). What the page needs from the server (GraphQL, the grid's /yjs websockets, /auth) is
// passed through to the Plansync under test (UPSTREAM) as it is, headers and all: a plain HTTP proxy and a raw
// socket pipe for upgrades, on loopback (well under a millisecond a request). Plansync's security headers on every
// answer, as the old server sent them (its Cross-Origin-Opener-Policy alone changes how Chromium navigates).
//
//   PORT=... HOST=127.0.0.1 UPSTREAM=http://127.0.0.1:4000 CLIENT_DIR=client/dist node bench/reference-client-static.mjs
//
// The code splitting cannot be undone from the same build (the chunks are what they are), so this reference
// differs from the old client in compression and caching only: the figures measure those two; the split
// shows in what the sign-in page downloads.
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import express from 'express';
import { securityHeaders } from '../server/dist/server/src/http/securityHeaders.js';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const upstream = new URL(process.env.UPSTREAM ?? 'http://127.0.0.1:4000');
const clientDir = path.resolve(process.env.CLIENT_DIR ?? 'client/dist');
const agent = new http.Agent({ keepAlive: true });

/** Passes an HTTP request through to the upstream and its answer back. */
function pass(req, res) {
  const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.originalUrl, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
    answer.pipe(res);
  });
  forward.on('error', () => res.destroy());
  req.pipe(forward);
}

const app = express();
app.disable('x-powered-by');
app.use(securityHeaders);
app.get('/healthz', (_req, res) => res.send('ok'));
app.use(['/graphql', '/yjs', '/auth', '/export', '/import', '/odata', '/readyz'], pass);
// What server/src/http/server.ts did before issue 16, word for word.
const indexFile = path.join(clientDir, 'index.html');
app.use(express.static(clientDir, { index: false, maxAge: '1h' }));
app.get(/^\/(?!graphql|yjs|auth\/|healthz|readyz|metrics|odata).*/, (_req, res) => res.sendFile(indexFile, { maxAge: 0 }));

const server = http.createServer(app);
// Websocket upgrades: the request head written again to a socket of the upstream, then bytes both ways.
server.on('upgrade', (req, socket, head) => {
  const forward = net.connect(Number(upstream.port), upstream.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    forward.write(lines.join('\r\n') + '\r\n\r\n');
    if (head.length) forward.write(head);
    socket.pipe(forward).pipe(socket);
  });
  forward.setNoDelay(true);
  socket.setNoDelay(true);
  const close = () => {
    socket.destroy();
    forward.destroy();
  };
  forward.on('error', close);
  socket.on('error', close);
  forward.on('close', close);
  socket.on('close', close);
});
server.listen(port, host, () => console.log(`reference client server on http://${host}:${server.address().port}, upstream ${upstream.href}`));
