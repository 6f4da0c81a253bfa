/**
 * What a browser and an outsider see of the HTTP surface: the web client and the API come with security
 * headers (a CSP, no sniffing, no framing, no referrer that would carry a grid URL's `?token=`), and /metrics
 * is not public: loopback callers only by default, or whoever has METRICS_TOKEN.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../testing/harness.js';

function expectSecurityHeaders(headers: Headers, what: string) {
  const csp = headers.get('content-security-policy') ?? '';
  expect(csp, what).toContain("default-src 'self'");
  expect(csp, what).toContain("script-src 'self'");
  expect(csp, what).not.toMatch(/script-src[^;]*unsafe/);
  expect(csp, what).toContain("connect-src 'self'");
  expect(csp, what).toContain("frame-ancestors 'none'");
  expect(csp, what).toContain("object-src 'none'");
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('x-frame-options'), what).toBe('DENY');
  expect(headers.get('referrer-policy'), what).toBe('no-referrer');
  expect(headers.get('x-powered-by'), what).toBeNull();
}

describe('security headers and /metrics, with the defaults', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.stop());

  it('sends security headers with the web client, its client-side routes and the API', async () => {
    for (const path of ['/', '/grid?token=secret', '/healthz']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
      expectSecurityHeaders(res.headers, path);
    }
    const api = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expectSecurityHeaders(api.headers, '/graphql');
  });

  it('answers /metrics on loopback only: a request forwarded by a proxy, as from outside, gets 404', async () => {
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    const proxied: Record<string, string>[] = [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }];
    for (const forwarded of proxied) {
      const res = await fetch(`${server.url}/metrics`, { headers: forwarded });
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain('plansync_');
    }
  });
});

describe('/metrics with METRICS_TOKEN', () => {
  const METRICS_TOKEN = 'prometheus-scrape-7f3c9a1e2b';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ METRICS_TOKEN });
  });
  afterAll(() => server?.stop());

  it('answers only the bearer of the token, from anywhere', async () => {
    const attempts: [Record<string, string>, number][] = [
      [{}, 404],
      [{ authorization: 'Bearer wrong-token-of-some-length' }, 404],
      [{ authorization: `Bearer ${METRICS_TOKEN}x` }, 404],
      [{ authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` }, 404],
      [{ authorization: `Bearer ${METRICS_TOKEN}` }, 200],
      [{ authorization: `Bearer ${METRICS_TOKEN}`, 'x-forwarded-for': '203.0.113.9' }, 200],
    ];
    for (const [headers, status] of attempts) {
      const res = await fetch(`${server.url}/metrics`, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(status);
      if (status === 200) expect(await res.text()).toMatch(/^# HELP plansync_/m);
    }
  });
});
