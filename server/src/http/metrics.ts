/**
 * Prometheus metrics (prom-client): process defaults plus what operators watch on a collaboration server.
 * One registry per server instance, so tests that start several servers in one process do not collide.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  // The event-loop lag histogram samples with a timer of this period (ms; prom-client's default is 10). At 10 ms
  // the timer woke an idle server 100 times a second, half of its idle CPU (about 7 of 13.5 ms a second, measured
  // in /proc on its main thread): CPU every grid update and delivery then shares (issue 16, bench scenarios 2 and
  // 8). Ten samples a second still show a loop that lags.
  collectDefaultMetrics({ register: registry, prefix: 'plansync_', eventLoopMonitoringPrecision: 100 });
  const graphqlOperations = new Counter({
    name: 'plansync_graphql_operations_total',
    help: 'GraphQL operations over HTTP, by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const graphqlDuration = new Histogram({
    name: 'plansync_graphql_duration_seconds',
    help: 'Time to answer a GraphQL operation over HTTP',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'plansync_http_requests_total',
    help: 'HTTP requests by route and status class',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });

  const apolloPlugin: ApolloServerPlugin = {
    async requestDidStart() {
      const started = process.hrtime.bigint();
      return {
        async willSendResponse({ operation, errors }) {
          const type = operation?.operation ?? 'unknown';
          graphqlOperations.inc({ type, outcome: errors?.length ? 'error' : 'ok' });
          graphqlDuration.observe({ type }, Number(process.hrtime.bigint() - started) / 1e9);
        },
      };
    },
  };

  return { registry, httpRequests, apolloPlugin };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * Who may read /metrics (process internals, traffic by route): with METRICS_TOKEN, callers presenting it as a
 * bearer token, from anywhere (Prometheus's `authorization` setting); without it, only callers on this machine
 * that came straight in (a loopback peer and no X-Forwarded-For: a local reverse proxy forwarding an outside
 * request adds one). Anyone else gets 404, as for a path that does not exist.
 */
export function canReadMetrics(req: IncomingMessage, metricsToken: string | undefined): boolean {
  if (metricsToken) {
    const given = Buffer.from(/^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1] ?? '');
    const expected = Buffer.from(metricsToken);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
  const peer = req.socket.remoteAddress ?? '';
  const loopback = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
  return loopback && req.headers['x-forwarded-for'] === undefined && req.headers.forwarded === undefined;
}

/** What sign-in reports of itself (auth/localLogin.ts, auth/passwords.ts), read at each scrape. */
export interface SignInSource {
  outcomes(): { ok: number; failed: number; rateLimited: number; busy: number };
  hashing(): { running: number; waiting: number };
}

/**
 * Sign-in attempts by outcome (a flood shows as rate_limited or busy growing), and the argon2 work running and
 * waiting now.
 */
export function registerSignInMetrics(registry: Registry, source: SignInSource): void {
  new Counter({
    name: 'plansync_sign_in_attempts_total',
    help: 'Password sign-in attempts by outcome: ok, failed (judged), rate_limited (address over its limit), busy (too many password checks waiting)',
    labelNames: ['outcome'] as const,
    registers: [registry],
    collect() {
      const o = source.outcomes();
      this.reset();
      this.inc({ outcome: 'ok' }, o.ok);
      this.inc({ outcome: 'failed' }, o.failed);
      this.inc({ outcome: 'rate_limited' }, o.rateLimited);
      this.inc({ outcome: 'busy' }, o.busy);
    },
  });
  new Gauge({
    name: 'plansync_password_checks',
    help: 'argon2 password checks running now (state="running", at most 2) and waiting for a turn (state="waiting", at most 64)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const h = source.hashing();
      this.set({ state: 'running' }, h.running);
      this.set({ state: 'waiting' }, h.waiting);
    },
  });
}
