import { describe, expect, it } from 'vitest';
import { changedSince, parseSince } from './since.js';

const now = new Date('2025-06-15T12:00:00Z');

describe('--since', () => {
  it('reads ages back from now', () => {
    expect(parseSince('7d', now).toISOString()).toBe('2025-06-08T12:00:00.000Z');
    expect(parseSince('12h', now).toISOString()).toBe('2025-06-15T00:00:00.000Z');
    expect(parseSince('90m', now).toISOString()).toBe('2025-06-15T10:30:00.000Z');
    expect(parseSince('2w', now).toISOString()).toBe('2025-06-01T12:00:00.000Z');
    expect(parseSince('30s', now).toISOString()).toBe('2025-06-15T11:59:30.000Z');
  });

  it('reads ISO dates and times', () => {
    expect(parseSince('2025-03-01T08:00:00Z', now).toISOString()).toBe('2025-03-01T08:00:00.000Z');
    expect(parseSince('2025-03-01T08:00:00+02:00', now).toISOString()).toBe(
      '2025-03-01T06:00:00.000Z',
    );
    expect(parseSince('2025-03-01', now).toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });

  it('refuses anything else with the forms it takes', () => {
    for (const bad of ['yesterday', '03/04/2025', '7', '7y', '', '2025-13-45']) {
      expect(() => parseSince(bad, now)).toThrow(/ISO date .* or an age/);
    }
  });

  it('counts a file as changed when its content or its inode changed since', () => {
    const since = new Date(1000);
    expect(changedSince({ mtimeMs: 1000, ctimeMs: 500 }, since)).toBe(true);
    expect(changedSince({ mtimeMs: 999, ctimeMs: 999 }, since)).toBe(false);
    // Copied in with its old modification time (cp -p, tar x): ctime is new.
    expect(changedSince({ mtimeMs: 10, ctimeMs: 2000 }, since)).toBe(true);
    expect(changedSince({ mtimeMs: 10, ctimeMs: 10 }, undefined)).toBe(true);
  });
});
