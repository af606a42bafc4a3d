import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limit.js';

describe('TokenBuckets', () => {
  it('lets a burst through, then refills at the rate and says when to come back', () => {
    let now = 0;
    const buckets = new TokenBuckets(() => now);
    const limit = { perSecond: 10, burst: 20 };
    expect(buckets.take('key:1', 20, limit)).toEqual({ ok: true });
    expect(buckets.take('key:1', 5, limit)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(buckets.take('key:2', 1, limit)).toEqual({ ok: true }); // per caller
    now = 0.5;
    expect(buckets.take('key:1', 5, limit)).toEqual({ ok: true });
    expect(buckets.take('key:1', 15, limit)).toEqual({ ok: false, retryAfterSeconds: 2 });
  });

  it('charges a request larger than the bucket a full bucket, so it can pass', () => {
    let now = 0;
    const buckets = new TokenBuckets(() => now);
    const limit = { perSecond: 100, burst: 1000 };
    expect(buckets.take('k', 5000, limit)).toEqual({ ok: true });
    expect(buckets.take('k', 5000, limit)).toEqual({ ok: false, retryAfterSeconds: 10 });
    now = 10;
    expect(buckets.take('k', 5000, limit)).toEqual({ ok: true });
  });
});
