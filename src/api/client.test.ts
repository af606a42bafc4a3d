import { describe, expect, it } from 'vitest';
import { pickClientAddress } from './client.js';

describe('client address', () => {
  it('ignores X-Forwarded-For unless proxies are trusted', () => {
    expect(pickClientAddress('10.0.0.2', '1.2.3.4', 0)).toBe('10.0.0.2');
  });
  it('takes the entry the outermost trusted proxy wrote', () => {
    expect(pickClientAddress('10.0.0.2', 'spoofed, 203.0.113.9', 1)).toBe('203.0.113.9');
    expect(pickClientAddress('10.0.0.2', 'spoofed, 203.0.113.9, 10.0.0.1', 2)).toBe('203.0.113.9');
    expect(pickClientAddress('10.0.0.2', '203.0.113.9', 3)).toBe('203.0.113.9');
  });
  it('believes only addresses', () => {
    expect(pickClientAddress('10.0.0.2', "'; drop table x; --", 1)).toBe('10.0.0.2');
    expect(pickClientAddress('10.0.0.2', '2001:db8::1', 1)).toBe('2001:db8::1');
  });
  it('spells IPv4-mapped IPv6 addresses as IPv4', () => {
    expect(pickClientAddress('::FFFF:192.0.2.1', undefined, 0)).toBe('192.0.2.1');
    expect(pickClientAddress(undefined, undefined, 1)).toBeUndefined();
  });
});
