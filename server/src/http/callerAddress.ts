/**
 * The caller's address for requests express does not see (websocket upgrades), judged exactly as express
 * judges `req.ip` under the same TRUST_PROXY: X-Forwarded-For is read from the right, hop by hop, for as long as
 * the hop that added it is a trusted proxy (proxy-addr's rule). Sign-in limits count per address on every path.
 */
import type { IncomingMessage } from 'node:http';
import express from 'express';

export type AddressOf = (request: IncomingMessage) => string | null;

/** A resolver of callers' addresses for a TRUST_PROXY setting (express compiles the setting itself). */
export function callerAddressResolver(trustProxy: string): AddressOf {
  const probe = express();
  probe.set('trust proxy', trustProxy);
  const trust = probe.get('trust proxy fn') as (address: string, hop: number) => boolean;
  return (request) => {
    const peer = request.socket.remoteAddress;
    if (!peer) return null;
    const header = request.headers['x-forwarded-for'];
    const forwarded = (Array.isArray(header) ? header.join(',') : header ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean)
      .reverse();
    const hops = [peer, ...forwarded];
    for (let i = 0; i < hops.length - 1; i++) if (!trust(hops[i], i)) return hops[i];
    return hops[hops.length - 1];
  };
}
