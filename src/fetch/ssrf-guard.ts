import ipaddr from 'ipaddr.js';
import type { IPv4, IPv6 } from 'ipaddr.js';

/**
 * Which addresses a fetch of an attacker-chosen URL may connect to. Pure:
 * the fetcher resolves the name, asks here about every address, and
 * connects only to one that passed (no second lookup, so a name cannot
 * resolve to something else between check and connect), on every redirect.
 *
 * IPv4: everything except the special-purpose ranges below (IANA's
 * special-purpose registry). IPv6: only global unicast (2000::/3) minus its
 * special parts; addresses that carry an IPv4 address (mapped, translated,
 * NAT64, 6to4) are judged by that IPv4 address, so ::ffff:127.0.0.1 is loopback.
 */

export type AddressVerdict =
  | { readonly kind: 'public'; readonly address: string }
  /** Special, but inside a range the configuration allows (TAKEDOWN_FETCH_ALLOW: tests). */
  | { readonly kind: 'allowed'; readonly address: string; readonly reason: string }
  | { readonly kind: 'blocked'; readonly address: string; readonly reason: string };

type Range = readonly [cidr: string, reason: string];

/**
 * Reachable from inside clouds and hosting platforms, and full of
 * credentials. Refused even when the allow list covers them.
 */
const CLOUD_METADATA: readonly Range[] = [
  ['169.254.169.254/32', 'cloud metadata service (AWS, GCP, Azure, Oracle, DigitalOcean…)'],
  ['169.254.170.2/32', 'cloud metadata service (AWS ECS task credentials)'],
  ['169.254.169.123/32', 'cloud platform service (AWS time sync)'],
  ['100.100.100.200/32', 'cloud metadata service (Alibaba Cloud)'],
  ['168.63.129.16/32', 'cloud platform service (Azure WireServer)'],
  ['fd00:ec2::/32', 'cloud metadata service (AWS IPv6: fd00:ec2::254 and friends)'],
  ['fd20:ce::254/128', 'cloud metadata service (GCP IPv6)'],
];

/** First match wins: specific ranges before the ranges that contain them. */
const IPV4_SPECIAL: readonly Range[] = [
  ['0.0.0.0/8', 'unspecified ("this network"; 0.0.0.0 reaches the local host)'],
  ['10.0.0.0/8', 'private network (RFC 1918)'],
  ['100.64.0.0/10', 'carrier-grade NAT (RFC 6598)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private network (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation (TEST-NET-1)'],
  ['192.88.99.0/24', '6to4 relay anycast (deprecated)'],
  ['192.168.0.0/16', 'private network (RFC 1918)'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation (TEST-NET-2)'],
  ['203.0.113.0/24', 'documentation (TEST-NET-3)'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
];

/** Ranges that embed an IPv4 address, and where. */
const IPV6_EMBEDDING: ReadonlyArray<
  readonly [cidr: string, name: string, v4: (p: number[]) => number[]]
> = [
  ['::ffff:0:0/96', 'IPv4-mapped', (p) => lastWords(p, 6)],
  ['::ffff:0:0:0/96', 'IPv4-translated', (p) => lastWords(p, 6)],
  ['64:ff9b::/96', 'NAT64', (p) => lastWords(p, 6)],
  ['2002::/16', '6to4', (p) => lastWords(p, 1)],
];

const IPV6_SPECIAL: readonly Range[] = [
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'IPv4-compatible (deprecated)'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001::/32', 'Teredo tunnelling'],
  ['2001:db8::/32', 'documentation'],
  ['2001::/23', 'IETF protocol assignments (benchmarking, ORCHID…)'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'unique local address (private)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local (deprecated)'],
  ['ff00::/8', 'multicast'],
];

const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3');

type Parsed = readonly [range: [IPv4 | IPv6, number], reason: string];
const parseRanges = (ranges: readonly Range[]): Parsed[] =>
  ranges.map(([cidr, reason]) => [ipaddr.parseCIDR(cidr), reason] as const);

const METADATA = parseRanges(CLOUD_METADATA);
const V4 = parseRanges(IPV4_SPECIAL);
const V6 = parseRanges(IPV6_SPECIAL);
const EMBEDDING = IPV6_EMBEDDING.map(
  ([cidr, name, v4]) => [ipaddr.parseCIDR(cidr), name, v4] as const,
);

function lastWords(parts: number[], from: number): number[] {
  const [high, low] = [parts[from], parts[from + 1]];
  return [high >> 8, high & 0xff, low >> 8, low & 0xff];
}

function matches(address: IPv4 | IPv6, range: [IPv4 | IPv6, number]): boolean {
  return address.kind() === range[0].kind() && address.match(range);
}

/** Why an address is special, or undefined when it is an ordinary public address. */
export function specialReason(address: IPv4 | IPv6): string | undefined {
  if (address.kind() === 'ipv4') return V4.find(([range]) => matches(address, range))?.[1];
  const v6 = address as IPv6;
  for (const [range, name, v4] of EMBEDDING) {
    if (!v6.match(range)) continue;
    const inner = new ipaddr.IPv4(v4(v6.parts));
    const reason = specialReason(inner);
    return reason === undefined ? undefined : `${reason}, as ${name} IPv6 (${inner.toString()})`;
  }
  const reason = V6.find(([range]) => matches(v6, range))?.[1];
  if (reason !== undefined) return reason;
  return v6.match(GLOBAL_UNICAST) ? undefined : 'reserved (not global unicast)';
}

/** The IPv4 address an IPv6 address carries (mapped, translated, NAT64, 6to4), for allow-list matching. */
function embeddedIPv4(address: IPv6): IPv4 | undefined {
  const found = EMBEDDING.find(([range]) => address.match(range));
  return found === undefined ? undefined : new ipaddr.IPv4(found[2](address.parts));
}

/** An allow list parsed once: TAKEDOWN_FETCH_ALLOW's CIDR strings. */
export class AddressPolicy {
  readonly #allow: ReadonlyArray<[IPv4 | IPv6, number]>;

  constructor(allow: readonly string[] = []) {
    this.#allow = allow.map((cidr) => ipaddr.parseCIDR(cidr));
  }

  check(text: string): AddressVerdict {
    let address: IPv4 | IPv6;
    try {
      address = ipaddr.parse(text.replace(/^\[|\]$/g, ''));
    } catch {
      return { kind: 'blocked', address: text, reason: 'not an IP address' };
    }
    // Zone ids (fe80::1%eth0) pick an interface: never for a fetch.
    if (address.kind() === 'ipv6' && (address as IPv6).zoneId !== undefined)
      return { kind: 'blocked', address: text, reason: 'IPv6 address with a zone id' };
    const canonical = address.toString();
    const candidates =
      address.kind() === 'ipv6'
        ? [address, embeddedIPv4(address as IPv6)].filter(isAddress)
        : [address];
    const metadata = METADATA.find(([range]) => candidates.some((a) => matches(a, range)));
    if (metadata !== undefined) return { kind: 'blocked', address: canonical, reason: metadata[1] };
    const reason = specialReason(address);
    if (reason === undefined) return { kind: 'public', address: canonical };
    if (this.#allow.some((range) => candidates.some((a) => matches(a, range))))
      return { kind: 'allowed', address: canonical, reason };
    return { kind: 'blocked', address: canonical, reason };
  }
}

const isAddress = (a: IPv4 | IPv6 | undefined): a is IPv4 | IPv6 => a !== undefined;
