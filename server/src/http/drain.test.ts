/**
 * The graceful stop (http/drain.ts), on a whole Plansync: a request in flight when the stop begins is answered
 * in full; an idle keep-alive connection is closed; no new connection is taken; and the websockets are closed by
 * their own servers with the contract's close code, not cut by the HTTP drain before they could say so.
 */
import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { CloseCode } from '../../../schema/codes.js';
import { connectRawGrid } from '../testing/rawGrid.js';
import { startTestServer } from '../testing/harness.js';

describe('graceful HTTP stop', () => {
  it('answers the request in flight, closes idle connections, and leaves the websockets to their servers', async () => {
    const server = await startTestServer();
    const token = await server.login('lead.sales-north@example.com');
    const planId = (await server.gql('{ budgetPlans { id } }', {}, token)).data.budgetPlans[0].id;
    const grid = connectRawGrid(server.url, `budget:${planId}:SALES_NORTH`, token);
    await grid.synced;

    // An idle keep-alive connection: one request answered, the socket kept open.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const idleClosed = await new Promise<Promise<void>>((resolve, reject) => {
      const request = http.get(`${server.url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(closedOnce));
      });
      let closedOnce: Promise<void>;
      request.on('socket', (socket) => (closedOnce = new Promise<void>((closed) => socket.once('close', () => closed()))));
      request.on('error', reject);
    });

    // A request in flight: its headers are in, its body comes only once the stop has begun.
    const body = JSON.stringify({ query: '{ budgetPlans { id } }' });
    const inFlight = http.request(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
    });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      inFlight.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      });
      inFlight.on('error', reject);
    });
    inFlight.flushHeaders();
    await new Promise((resolve) => setTimeout(resolve, 200)); // the server has the headers

    const port = new URL(server.url).port;
    const stopped = server.stop();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // No new connection is taken once the stop has begun.
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    inFlight.end(body);

    const reply = await answered;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.text).data.budgetPlans[0].id).toBe(planId);
    await idleClosed;
    expect(refused).toBe(true);
    expect((await grid.closed).code).toBe(CloseCode.GoingAway);
    await stopped;
    agent.destroy();
  });
});
