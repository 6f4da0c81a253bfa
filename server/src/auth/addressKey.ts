/**
 * The key sign-in limits count an address under. An IPv4 address is itself (an IPv4-mapped IPv6 address is
 * the IPv4 address); an IPv6 address counts as its /64 network, because one subscriber is usually handed a
 * whole /64 and could otherwise take a fresh address, and a fresh limit, for every guess.
 */
import { isIPv4, isIPv6 } from 'node:net';

export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(address)) return address;
  const plain = address.replace(/%.*$/, ''); // a zone index (fe80::1%eth0) names no other network
  if (!isIPv6(plain)) return address;
  return `${hextets(plain).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in lower case without leading zeros. */
function hextets(address: string): string[] {
  // An embedded IPv4 tail (::1.2.3.4) is two groups.
  const withoutV4 = address.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    `${((+a << 8) | +b).toString(16)}:${((+c << 8) | +d).toString(16)}`,
  );
  const [head, tail] = withoutV4.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((group) => parseInt(group, 16).toString(16));
}
