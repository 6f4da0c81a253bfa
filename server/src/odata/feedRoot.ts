/**
 * The absolute address of the feed, which @odata.context and @odata.nextLink start with. Excel and Power BI
 * follow @odata.nextLink with the user's credentials and need it absolute (a relative link fails in Excel with
 * "Invalid URI: The hostname could not be parsed"), so it cannot simply be left relative.
 *
 * It is PUBLIC_URL when set (as set-password links). Without it, the request's Host header is used only when it
 * names this machine (localhost, a loopback or interface address, the machine's host name, HOST) on the port the
 * request came in on: a forged Host (`Host: attacker.example`) must not make the server hand out links that send
 * the next request, with the token, to another host. Any other Host gets the address the connection actually
 * reached, which the caller can reach and no header can change. Behind a proxy or under a DNS name of its own,
 * PUBLIC_URL is the setting to use (README).
 */
import os from 'node:os';
import type { Request } from 'express';
import type { Config } from '../config.js';

/** A hostname or address, lowercased, without IPv6 brackets and with an IPv4-mapped IPv6 address as IPv4. */
function normalHost(host: string): string {
  const bare = host.toLowerCase().replace(/^\[|\]$/g, '');
  return bare.startsWith('::ffff:') && bare.includes('.') ? bare.slice('::ffff:'.length) : bare;
}

/** The names this machine answers to, read per request: interfaces come and go (DHCP, VPNs). */
function ownNames(config: Config): Set<string> {
  const names = new Set(['localhost', '127.0.0.1', '::1', normalHost(os.hostname())]);
  if (config.host !== '0.0.0.0' && config.host !== '::') names.add(normalHost(config.host));
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const address of addresses ?? []) names.add(normalHost(address.address));
  }
  return names;
}

/** `host[:port]` as a URL authority, or null when it is not one (a path, user info, an empty name). */
function parseHost(header: string): { hostname: string; port: number | null } | null {
  if (!/^[a-zA-Z0-9.\-:[\]]+$/.test(header)) return null;
  try {
    const url = new URL(`http://${header}`);
    if (!url.hostname) return null;
    // new URL drops port 80 for http: the header's own port, if any, is what counts.
    const port = /:(\d+)$/.exec(header)?.[1];
    return { hostname: normalHost(url.hostname), port: port === undefined ? null : Number(port) };
  } catch {
    return null;
  }
}

function authority(hostname: string, port: number): string {
  return `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
}

/** Where the feed is, without a trailing slash: `<PUBLIC_URL>/odata`, else this machine as the caller reached it. */
export function feedRoot(req: Request, config: Config): string {
  if (config.publicUrl) return `${config.publicUrl}/odata`;
  const protocol = req.protocol === 'https' ? 'https' : 'http';
  const localPort = req.socket.localPort ?? config.port;
  const host = parseHost(req.get('host') ?? '');
  if (host && ownNames(config).has(host.hostname)) {
    const port = host.port ?? (protocol === 'https' ? 443 : 80);
    // The port a proxy on the same machine forwards from differs from ours: the Host is not the way here then.
    if (port === localPort) return `${protocol}://${authority(host.hostname, port)}/odata`;
  }
  const local = normalHost(req.socket.localAddress ?? '127.0.0.1');
  return `${protocol}://${authority(local, localPort)}/odata`;
}
