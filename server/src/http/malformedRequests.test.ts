/**
 * Requests nobody's client would send, written by hand on raw TCP against the built server running as its own
 * process with the default settings, exactly as `npm start` runs it. Each must get an answer (an HTTP 4xx, or
 * an accepted websocket closed with CloseCode.BadRequest where the stock y-websocket client needs a close
 * code to stop retrying) while the process lives on and another person's grid and GraphQL sessions keep
 * working.
 *
 * It prevents: a websocket upgrade to `/yjs/%E0%A4%A` ending the process (URIError from an unhandled promise),
 * an upgrade to `//[` ending it ("Invalid URL"), and a reset mid-handshake ending it (an upgraded socket has
 * no error listener of Node's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBystander, type Bystander } from '../testing/bystander.js';
import { startChildServer, type ChildServer } from '../testing/childServer.js';
import { raw, upgradeRequest as upgrade, type RawAnswer } from '../testing/rawHttp.js';
import { CloseCode } from '../../../schema/codes.js';

describe('malformed requests and upgrades, as an unauthenticated outsider', () => {
  let server: ChildServer;
  let port: number;
  let leadToken: string;
  let docName: string;
  /** Someone else at work: a grid open on their unit, and a GraphQL subscription to its changes. */
  let bystander: Bystander;

  beforeAll(async () => {
    server = await startChildServer({});
    port = Number(new URL(server.url).port);
    const login = await server.gql('mutation { login(email: "lead.sales-north@example.com", password: "plansync-demo") { token } }');
    leadToken = login.data.login.token;
    bystander = await startBystander(server, leadToken);
    docName = `budget:${bystander.planId}:SALES_NORTH`;
  });

  afterAll(async () => {
    await bystander?.close();
    await server?.stop();
  });

  const everyoneElseStillServed = (what: string) => bystander.stillServed(what);

  /** A refusal before any route (Node could not parse the request) says why in the usual error body. */
  const expectExplained = (a: RawAnswer, status: number) => {
    expect(a.status).toBe(status);
    const body = JSON.parse(a.text.slice(a.text.indexOf('\r\n\r\n') + 4));
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0].message.length).toBeGreaterThan(10);
  };

  const cases: { name: string; request: () => string | Buffer; expect: (a: RawAnswer) => void; reset?: boolean; until101?: boolean }[] = [
    { name: 'grid upgrade with a malformed escape in the doc name', request: () => upgrade('/yjs/%E0%A4%A'), expect: (a) => expect([a.status, a.closeCode]).toEqual([101, CloseCode.BadRequest]) },
    { name: 'grid upgrade with a lone %', request: () => upgrade('/yjs/budget%'), expect: (a) => expect([a.status, a.closeCode]).toEqual([101, CloseCode.BadRequest]) },
    { name: 'upgrade whose target is //[ (a path, and no endpoint)', request: () => upgrade('//['), expect: (a) => expect(a.status).toBe(404) },
    { name: 'upgrade whose target is //[/yjs/x', request: () => upgrade('//[/yjs/x'), expect: (a) => expect(a.status).toBe(404) },
    { name: 'upgrade with an asterisk target', request: () => upgrade('*'), expect: (a) => expect(a.status).toBe(400) },
    { name: 'upgrade in authority form', request: () => upgrade('127.0.0.1:80'), expect: (a) => expect(a.status).toBe(400) },
    {
      name: 'absolute-form grid upgrade with a malformed escape',
      request: () => upgrade('http://elsewhere.example/yjs/%E0%A4%A?token=x'),
      expect: (a) => expect([a.status, a.closeCode]).toEqual([101, CloseCode.BadRequest]),
    },
    { name: 'absolute-form upgrade to an invalid host', request: () => upgrade('http://[/yjs/x'), expect: (a) => expect(a.status).toBe(400) },
    { name: 'grid upgrade without a token', request: () => upgrade(`/yjs/${encodeURIComponent('budget:x:SALES_NORTH')}`), expect: (a) => expect([a.status, a.closeCode]).toEqual([101, CloseCode.Unauthorized]) },
    { name: 'grid upgrade with a bogus token', request: () => upgrade('/yjs/x?token=%E0%A4%A'), expect: (a) => expect([a.status, a.closeCode]).toEqual([101, CloseCode.Unauthorized]) },
    { name: 'upgrade to an unknown path', request: () => upgrade('/nowhere/%E0%A4%A'), expect: (a) => expect(a.status).toBe(404) },
    { name: 'grid upgrade without Sec-WebSocket-Key', request: () => upgrade('/yjs/x', [], ['Sec-WebSocket-Key']), expect: (a) => expect(a.status).toBe(400) },
    { name: 'grid upgrade with a bad Sec-WebSocket-Key', request: () => upgrade('/yjs/x', ['Sec-WebSocket-Key: short'], ['Sec-WebSocket-Key']), expect: (a) => expect(a.status).toBe(400) },
    { name: 'grid upgrade with version 99', request: () => upgrade('/yjs/x', ['Sec-WebSocket-Version: 99'], ['Sec-WebSocket-Version']), expect: (a) => expect(a.status).toBe(400) },
    { name: 'grid upgrade without a version', request: () => upgrade('/yjs/x', [], ['Sec-WebSocket-Version']), expect: (a) => expect(a.status).toBe(400) },
    {
      name: 'grid upgrade with a garbled extension header (ignored: no extension is offered)',
      request: () => upgrade('/yjs/x', ['Sec-WebSocket-Extensions: ;;=,"']),
      expect: (a) => expect([a.status, a.closeCode]).toEqual([101, CloseCode.Unauthorized]),
    },
    { name: 'grid upgrade by POST', request: () => upgrade('/yjs/x').replace(/^GET/, 'POST'), expect: (a) => expect(a.status).toBeGreaterThanOrEqual(400) },
    { name: 'grid upgrade without a Host header', request: () => upgrade('/yjs/%E0%A4%A', [], ['Host']), expect: (a) => expect([a.status, a.closeCode]).toEqual([101, CloseCode.BadRequest]) },
    { name: 'GraphQL upgrade with a malformed escape', request: () => upgrade('/graphql/%E0%A4%A', ['Sec-WebSocket-Protocol: graphql-transport-ws']), until101: true, expect: (a) => expect(a.status).toBe(101) },
    { name: 'GraphQL upgrade with an unknown subprotocol', request: () => upgrade('/graphql', ['Sec-WebSocket-Protocol: nonsense']), expect: (a) => expect([a.status, a.closeCode]).toEqual([101, CloseCode.SubprotocolNotAcceptable]) },
    { name: 'GraphQL upgrade with a garbled subprotocol list', request: () => upgrade('/graphql', ['Sec-WebSocket-Protocol: a,,b, ,']), expect: (a) => expect(a.status).toBe(400) },
    { name: 'upgrade with 20 KB of headers', request: () => upgrade('/yjs/x', [`X-Padding: ${'a'.repeat(20_000)}`]), expect: (a) => expectExplained(a, 431) },
    { name: 'upgrade with a 20 KB target', request: () => upgrade(`/yjs/${'%'.repeat(20_000)}`), expect: (a) => expectExplained(a, 431) },
    { name: 'upgrade with a header line of garbage', request: () => upgrade('/yjs/x', ['\u0001\u0002: \u0003']), expect: (a) => expectExplained(a, 400) },
    { name: 'request line of garbage', request: () => 'GARBAGE\r\n\r\n', expect: (a) => expectExplained(a, 400) },
    { name: 'HTTP GET with a malformed escape', request: () => 'GET /%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n', expect: (a) => expect(a.status).toBeLessThan(500) },
    { name: 'HTTP GET of a static file with a malformed escape', request: () => 'GET /assets/%E0%A4%A.js HTTP/1.1\r\nHost: x\r\n\r\n', expect: (a) => expect(a.status).toBeLessThan(500) },
    { name: 'HTTP GET whose target is //[', request: () => 'GET //[ HTTP/1.1\r\nHost: x\r\n\r\n', expect: (a) => expect(a.status).toBeLessThan(500) },
    { name: 'HTTP GET in absolute form to an invalid host', request: () => 'GET http://[/graphql HTTP/1.1\r\nHost: x\r\n\r\n', expect: (a) => expect(a.status).toBeLessThan(500) },
    {
      name: 'HTTP GET /graphql with malformed escapes in the query string',
      request: () => 'GET /graphql?query=%E0%A4%A&variables=%7B%E0 HTTP/1.1\r\nHost: x\r\napollo-require-preflight: 1\r\n\r\n',
      expect: (a) => expect(a.status).toBe(400),
    },
    {
      name: 'HTTP POST /graphql with a truncated JSON body',
      request: () => 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{"query":',
      expect: (a) => expect(a.status).toBe(400),
    },
    {
      name: 'HTTP POST /graphql with a body in an unknown charset',
      request: () => 'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json; charset=klingon\r\nContent-Length: 2\r\n\r\n{}',
      expect: (a) => expect(a.status).toBeGreaterThanOrEqual(400),
    },
    { name: 'unknown path upgrade, reset at once', request: () => upgrade('/nowhere'), reset: true, expect: () => undefined },
    { name: 'bad escape grid upgrade, reset at once', request: () => upgrade('/yjs/%E0%A4%A'), reset: true, expect: () => undefined },
    { name: 'grid upgrade with a token, reset at once', request: () => upgrade(`/yjs/${encodeURIComponent(docName)}?token=${leadToken}`), reset: true, expect: () => undefined },
  ];

  it.each(cases.map((c) => [c.name, c] as const))('answers a %s, and serves everyone else', async (name, c) => {
    const answer = await raw(port, c.request(), { reset: c.reset, until101: c.until101 });
    c.expect(answer);
    await everyoneElseStillServed(name);
  });

  it('ends with no unhandled rejection or uncaught exception in the log', () => {
    const bad = server.logs.filter((l) => /unhandled|uncaught/i.test(String(l.msg)));
    expect(bad).toEqual([]);
  });
});
