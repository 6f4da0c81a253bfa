/**
 * Where a webhook may point: public https endpoints only, unless WEBHOOK_ALLOW_INSECURE (tests, development).
 * Checked when a webhook is created and again at every delivery, on the addresses the host resolves to then
 * (DNS can change after creation), and the request connects to exactly the address that was checked
 * (`pinnedLookup`), so a second, different answer from DNS (rebinding) never reaches an internal service.
 */
import dns from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import net from 'node:net';

/** Loopback, private, link-local, shared, multicast, reserved and documentation ranges, and IPv4 in IPv6 (mapped, translated, NAT64). */
const INTERNAL = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) INTERNAL.addSubnet(prefix, bits, 'ipv4');
for (const [prefix, bits] of [
  // ::/96: the unspecified address, loopback and the deprecated IPv4-compatible addresses (::127.0.0.1), which a
  // stack that still maps them would send to the IPv4 address inside.
  // ::ffff:0:0:0/96: IPv4-translated addresses (SIIT, RFC 6145), which a translator on the path turns into the
  // IPv4 address inside (::ffff:0:a9fe:a9fe is the cloud metadata address there); nothing public lives in it.
  ['::', 96], ['::ffff:0:0', 96], ['::ffff:0:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23],
  ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) INTERNAL.addSubnet(prefix, bits, 'ipv6');

export function isInternalAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return true;
  return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class UnsafeUrlError extends Error {}

export interface CheckedTarget {
  url: URL;
  /** The address to connect to: checked, and the only one the request may use. */
  address: string;
  family: 4 | 6;
}

/** Syntax only (scheme, credentials, host): what creation refuses before resolving anything. */
export function parseWebhookUrl(raw: string, allowInsecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UnsafeUrlError('The URL is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UnsafeUrlError('The URL must use https');
  if (url.protocol === 'http:' && !allowInsecure) throw new UnsafeUrlError('The URL must use https (plain http is refused)');
  if (url.username || url.password) throw new UnsafeUrlError('The URL must not carry a user name or password');
  if (!url.hostname) throw new UnsafeUrlError('The URL has no host');
  return url;
}

/**
 * Resolves the URL's host and picks the address to connect to. Without the insecure flag, every address the
 * name resolves to must be public (one internal answer among public ones is refused too: which one a client
 * would use is not ours to guess).
 */
export async function resolveTarget(raw: string, allowInsecure: boolean): Promise<CheckedTarget> {
  const url = parseWebhookUrl(raw, allowInsecure);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (net.isIP(host)) addresses = [{ address: host, family: net.isIP(host) }];
  else {
    try {
      addresses = await dns.lookup(host, { all: true, verbatim: true });
    } catch {
      throw new UnsafeUrlError(`The host ${host} cannot be resolved`);
    }
  }
  if (addresses.length === 0) throw new UnsafeUrlError(`The host ${host} cannot be resolved`);
  if (!allowInsecure) {
    const internal = addresses.find((a) => isInternalAddress(a.address));
    if (internal) throw new UnsafeUrlError(`The host ${host} is a loopback, private or otherwise internal address (${internal.address})`);
  }
  const [first] = addresses;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A `lookup` for http(s).request that answers the checked address and nothing else. */
export function pinnedLookup(target: CheckedTarget): LookupFunction {
  return (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
}
