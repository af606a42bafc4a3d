import { describe, expect, it } from 'vitest';
import { AddressPolicy } from './ssrf-guard.js';

const strict = new AddressPolicy();
const reason = (address: string, policy = strict) => {
  const verdict = policy.check(address);
  return verdict.kind === 'public' ? 'public' : `${verdict.kind}: ${verdict.reason}`;
};

describe('the SSRF guard', () => {
  it.each([
    // IPv4 special-purpose ranges, at both ends where it matters.
    ['0.0.0.0', /unspecified/],
    ['0.255.255.255', /unspecified/],
    ['10.0.0.0', /private network/],
    ['10.255.255.255', /private network/],
    ['100.64.0.0', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['169.254.0.1', /link-local/],
    ['172.16.0.0', /private network/],
    ['172.31.255.255', /private network/],
    ['192.0.0.8', /IETF protocol assignments/],
    ['192.0.0.192', /IETF protocol assignments/],
    ['192.0.2.1', /documentation \(TEST-NET-1\)/],
    ['192.88.99.1', /6to4 relay/],
    ['192.168.0.1', /private network/],
    ['192.168.255.255', /private network/],
    ['198.18.0.1', /benchmarking/],
    ['198.19.255.255', /benchmarking/],
    ['198.51.100.7', /TEST-NET-2/],
    ['203.0.113.9', /TEST-NET-3/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['240.0.0.1', /reserved/],
    ['255.255.255.255', /broadcast/],
    // Cloud metadata, named as such.
    ['169.254.169.254', /cloud metadata service/],
    ['169.254.170.2', /AWS ECS/],
    ['100.100.100.200', /Alibaba/],
    ['168.63.129.16', /Azure WireServer/],
    ['fd00:ec2::254', /AWS IPv6/],
    ['fd20:ce::254', /GCP IPv6/],
    // IPv6.
    ['::', /unspecified/],
    ['::1', /^blocked: loopback$/],
    ['::7f00:1', /IPv4-compatible/],
    ['fc00::1', /unique local/],
    ['fd12:3456:789a::1', /unique local/],
    ['fe80::1', /link-local/],
    ['febf:ffff::1', /link-local/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['100::1', /discard-only/],
    ['2001:db8::1', /documentation/],
    ['3fff::1', /documentation/],
    ['2001::1', /Teredo/],
    ['2001:2::1', /IETF protocol assignments/],
    ['2001:20::1', /IETF protocol assignments/],
    ['64:ff9b:1::1', /local-use NAT64/],
    ['4000::1', /not global unicast/],
    ['1000::1', /not global unicast/],
    // IPv6 carrying an IPv4 address is judged by that address.
    ['::ffff:127.0.0.1', /loopback, as IPv4-mapped IPv6 \(127\.0\.0\.1\)/],
    ['::ffff:10.1.2.3', /private network.*IPv4-mapped/],
    ['::ffff:169.254.169.254', /cloud metadata/],
    ['::ffff:0:192.168.1.1', /private network.*IPv4-translated/],
    ['64:ff9b::127.0.0.1', /loopback, as NAT64/],
    ['64:ff9b::a9fe:a9fe', /cloud metadata/],
    ['2002:7f00:1::1', /loopback, as 6to4/],
    ['2002:c0a8:101::', /private network.*6to4/],
  ])('blocks %s', (address, expected) => {
    expect(reason(address)).toMatch(/^blocked: /);
    expect(reason(address)).toMatch(expected);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.255',
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '169.253.255.255',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '2a00:1450:4001:80b::200e',
    '2001:200::1',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('lets %s through', (address) => {
    expect(strict.check(address)).toEqual({ kind: 'public', address: expect.any(String) });
  });

  it('opens only the configured ranges, and never cloud metadata', () => {
    const tests = new AddressPolicy(['127.0.0.0/8', '169.254.0.0/16', 'fd00::/8']);
    expect(tests.check('127.0.0.1')).toEqual({
      kind: 'allowed',
      address: '127.0.0.1',
      reason: 'loopback',
    });
    expect(tests.check('::ffff:127.0.0.1').kind).toBe('allowed');
    expect(tests.check('169.254.1.1').kind).toBe('allowed');
    expect(reason('169.254.169.254', tests)).toMatch(/^blocked: cloud metadata/);
    expect(reason('fd00:ec2::254', tests)).toMatch(/^blocked: cloud metadata/);
    expect(tests.check('fd01::1').kind).toBe('allowed');
    expect(tests.check('::1').kind).toBe('blocked'); // not in the list
    expect(tests.check('10.0.0.1').kind).toBe('blocked');
    expect(tests.check('0.0.0.0').kind).toBe('blocked');
  });

  it('refuses what is not an address, and zone ids', () => {
    expect(reason('localhost')).toBe('blocked: not an IP address');
    expect(reason('')).toBe('blocked: not an IP address');
    expect(reason('fe80::1%eth0')).toMatch(/zone id/);
  });

  it('accepts bracketed IPv6 as URLs write it, and gives the canonical form', () => {
    expect(strict.check('[2606:4700:4700:0:0:0:0:1111]')).toEqual({
      kind: 'public',
      address: '2606:4700:4700::1111',
    });
  });
});
