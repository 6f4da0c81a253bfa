// The HTTP side of the bench's subscription servers that replay Plansync's events (bench/reference-graphql-ws.mjs
// and bench/subscription-floor-server.mjs), so that both are driven alike:
//   GET  /healthz   200
//   POST /publish   { groups: [{ offsetMs, events: [...] }] }: `publishGroup(events)` is called for each group
//                   `offsetMs` after the request, every event of a group at once.
import http from 'node:http';

/** An HTTP server answering /healthz and /publish (not listening yet). */
export function publishingHttpServer(publishGroup) {
  return http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/healthz' || req.url === '/')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    if (req.method === 'POST' && req.url === '/publish') {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const { groups } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        let events = 0;
        for (const group of groups) {
          events += group.events.length;
          setTimeout(() => publishGroup(group.events), Math.max(0, group.offsetMs));
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ groups: groups.length, events }));
      });
      return;
    }
    res.writeHead(404).end();
  });
}
