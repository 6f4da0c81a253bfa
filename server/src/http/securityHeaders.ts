/**
 * Security headers on every HTTP answer (what helmet sets, written out: a dozen fixed headers need no
 * dependency), with a Content-Security-Policy the built web client works under:
 * - scripts only from this origin (Vite's build has no inline script), no plugins, no <base> tricks;
 * - styles from this origin plus inline ones: AG Grid injects its theme as <style> elements at run time;
 * - connections to this origin: GraphQL over HTTP and websockets (/graphql, /yjs). CSP Level 3 browsers
 *   match ws:/wss: of the page's host with 'self';
 * - no framing by other sites (frame-ancestors, and X-Frame-Options for old browsers);
 * - `Referrer-Policy: no-referrer`: grid URLs carry `?token=` for the websocket, and no address of ours is
 *   ever sent to another site.
 * API answers (JSON) get the same headers: they are harmless there, and one rule is easier to keep right.
 */
import type { NextFunction, Request, Response } from 'express';

const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-DNS-Prefetch-Control': 'off',
  'X-Permitted-Cross-Domain-Policies': 'none',
  'Origin-Agent-Cluster': '?1',
};

/** Express middleware: sets the headers above (and HSTS when the request came over https). */
export function securityHeaders(req: Request, res: Response, next: NextFunction): void {
  for (const [name, value] of Object.entries(HEADERS)) res.setHeader(name, value);
  // Only over https: on plain http a browser ignores it, and a development server must stay reachable.
  if (req.secure) res.setHeader('Strict-Transport-Security', 'max-age=15552000; includeSubDomains');
  next();
}
