import { describe, expect, it } from 'vitest';
import { CheckQueue } from './check-queue.js';
import type { HashQuery, ItemMatch, ScannedItem } from './types.js';

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
const item = (n: number, shared = false): ScannedItem => ({
  location: { kind: 'file', path: `/f${n}` },
  origin: 'hashed',
  record: { bytes: 1, md5: hex(shared ? 0 : n, 32), sha1: hex(n, 40), sha256: hex(n, 64) },
});

function recordingChecker(maxBatch: number, hitValue?: string) {
  const batches: HashQuery[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const release: Array<() => void> = [];
  return {
    batches,
    get maxInFlight() {
      return maxInFlight;
    },
    release,
    checker: {
      maxBatch,
      target: { kind: 'server', url: 'x' } as const,
      async check(queries: readonly HashQuery[]) {
        batches.push([...queries]);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise<void>((resolve) => setImmediate(resolve));
        inFlight--;
        return queries.map((q) =>
          q.value === hitValue ? [{ bank: 'b', category: 'c', distance: 0 }] : [],
        );
      },
    },
  };
}

describe('the check queue', () => {
  it('checks the first item at once, then fills batches of distinct hashes up to the limit', async () => {
    const rec = recordingChecker(7, hex(5, 64));
    const checked: Array<[string, ItemMatch[]]> = [];
    const queue = new CheckQueue({
      checker: rec.checker,
      threshold: 31,
      minPdqQuality: 50,
      onChecked: (i, m) => checked.push([(i.location as { path: string }).path, m]),
    });
    for (let n = 1; n <= 6; n++) await queue.add(item(n, true));
    await queue.finish();
    // Item 1 alone (3 hashes), then items whose md5 is shared: 1 + 2 per item.
    expect(rec.batches.map((b) => b.length)).toEqual([3, 7, 5]);
    for (const batch of rec.batches) {
      expect(new Set(batch.map((q) => `${q.type}:${q.value}`)).size).toBe(batch.length);
    }
    expect(rec.maxInFlight).toBe(1);
    expect(checked.map(([p]) => p)).toEqual(['/f1', '/f2', '/f3', '/f4', '/f5', '/f6']);
    expect(checked.find(([p]) => p === '/f5')?.[1]).toEqual([
      { bank: 'b', category: 'c', distance: 0, type: 'sha256' },
    ]);
    expect(queue.requests).toBe(3);
    expect(queue.hashesSent).toBe(15);
  });

  it('fails every later call once a request failed', async () => {
    const queue = new CheckQueue({
      checker: {
        maxBatch: 3,
        target: { kind: 'server', url: 'x' },
        check: () => Promise.reject(new Error('server gone')),
      },
      threshold: 31,
      minPdqQuality: 50,
      onChecked: () => undefined,
    });
    await queue.add(item(1));
    await expect(
      (async () => {
        for (let n = 2; n < 10; n++) await queue.add(item(n));
        await queue.finish();
      })(),
    ).rejects.toThrow('server gone');
  });
});
