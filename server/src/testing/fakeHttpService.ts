/**
 * What the fakes of the provisioning targets (fakeMetabase.ts, fakeSlack.ts, fakeProvisioningService.ts) share:
 * a plain http server on 127.0.0.1 (the adapters are called in the test's own process), the record of every
 * request, and scripted failures per route: a status (429 with Retry-After, 5xx, or any refusal) for a number of
 * calls, optionally after doing the work (an answer lost after the service acted), or an answer that comes too
 * late (`delayMs`, for the adapter's timeout).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

export interface FakeRequest {
  route: string;
  method: string;
  /** Path and query. */
  path: string;
  headers: IncomingMessage['headers'];
  /** JSON, or the fields of a form (Slack's Web API client posts forms). */
  body: any;
  /** What the fake answered. */
  status: number;
}

export interface FakeFailure {
  status: number;
  /** How many calls fail; every one until `clearFailures()` when absent. */
  times?: number;
  retryAfter?: string;
  /** Do the work, then answer the failure. */
  afterEffect?: boolean;
  /** Answer (the work done, normally) only after this many ms: longer than the adapter's timeout. */
  delayMs?: number;
  /** The failure's body; a default JSON error otherwise. */
  body?: unknown;
}

export interface FakeAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeHttpService {
  url: string;
  requests: FakeRequest[];
  /** The requests of one route (all routes when absent). */
  received(route?: string): FakeRequest[];
  fail(route: string, failure: FakeFailure): void;
  clearFailures(): void;
  close(): Promise<void>;
}

export interface FakeRouting {
  /** Which route a request is, with its path parameters; undefined: 404. */
  route(method: string, url: URL): { route: string; params: string[] } | undefined;
  /** Refuses a request that is not authorised (before any scripted failure), or undefined to go on. */
  authorise(req: IncomingMessage, body: any): FakeAnswer | undefined;
  /** The work of a route. */
  act(route: string, params: string[], body: any, url: URL, req: IncomingMessage): FakeAnswer;
  /** The answer to a scripted failure without a body of its own. */
  failure(route: string, failure: FakeFailure): FakeAnswer;
}

export async function startFakeHttpService(routing: FakeRouting): Promise<FakeHttpService> {
  const requests: FakeRequest[] = [];
  const failures = new Map<string, FakeFailure>();

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => send(res, { status: 500, body: { message: `fake error: ${String(err)}` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  function send(res: ServerResponse, answer: FakeAnswer) {
    if (res.destroyed) return;
    const json = answer.body !== undefined && typeof answer.body !== 'string';
    res.writeHead(answer.status, { ...(answer.body !== undefined ? { 'content-type': json ? 'application/json' : 'text/plain' } : {}), ...answer.headers });
    res.end(answer.body === undefined ? '' : json ? JSON.stringify(answer.body) : (answer.body as string));
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const target = new URL(req.url ?? '/', url);
    let text = '';
    for await (const chunk of req) text += chunk;
    let body: any;
    if (/application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) body = Object.fromEntries(new URLSearchParams(text));
    else {
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
    }
    const matched = routing.route(req.method ?? 'GET', target);
    const record: FakeRequest = { route: matched?.route ?? 'unknown', method: req.method ?? 'GET', path: `${target.pathname}${target.search}`, headers: req.headers, body, status: 0 };
    requests.push(record);
    const answer = await respond(matched, body, target, req);
    record.status = answer.status;
    send(res, answer);
  }

  async function respond(matched: ReturnType<FakeRouting['route']>, body: any, target: URL, req: IncomingMessage): Promise<FakeAnswer> {
    const refused = routing.authorise(req, body);
    if (refused) return refused;
    if (!matched) return { status: 404, body: { message: `No fake for ${req.method} ${target.pathname}` } };
    const failure = failures.get(matched.route);
    if (failure) {
      if (failure.times !== undefined && --failure.times <= 0) failures.delete(matched.route);
      if (failure.delayMs !== undefined) {
        await new Promise((r) => setTimeout(r, failure.delayMs));
        return routing.act(matched.route, matched.params, body, target, req);
      }
      if (failure.afterEffect) routing.act(matched.route, matched.params, body, target, req);
      const answer = failure.body !== undefined ? { status: failure.status, body: failure.body } : routing.failure(matched.route, failure);
      return { ...answer, headers: { ...answer.headers, ...(failure.retryAfter ? { 'retry-after': failure.retryAfter } : {}) } };
    }
    return routing.act(matched.route, matched.params, body, target, req);
  }

  return {
    url,
    requests,
    received: (route) => requests.filter((r) => route === undefined || r.route === route),
    fail(route, failure) {
      failures.set(route, { ...failure });
    },
    clearFailures() {
      failures.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Routes by method and path pattern: the first match, with its groups (URL-decoded) as parameters. */
export function routeTable(table: [method: string, pattern: RegExp, route: string][]): FakeRouting['route'] {
  return (method, url) => {
    for (const [m, pattern, route] of table) {
      const match = m === method ? pattern.exec(url.pathname) : null;
      if (match) return { route, params: match.slice(1).map((p) => decodeURIComponent(p ?? '')) };
    }
    return undefined;
  };
}
