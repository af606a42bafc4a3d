/**
 * Token buckets per caller, in this process's memory: each caller's bucket
 * holds up to `burst` tokens and refills at `perSecond`; a request takes as
 * many tokens as it costs (one per hash). Several server processes each
 * count on their own, so behind a load balancer over N processes a caller
 * gets up to N times the rate; the limits protect each process.
 */
export interface Limit {
  readonly perSecond: number;
  readonly burst: number;
}

export type Take =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Whole seconds until the request would pass. */
      readonly retryAfterSeconds: number;
    };

interface Bucket {
  tokens: number;
  /** Seconds, on `now`'s clock. */
  at: number;
}

const SWEEP_AT = 10_000;

export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;

  /** `now` in seconds (monotonic); tests pass their own. */
  constructor(now: () => number = () => performance.now() / 1000) {
    this.#now = now;
  }

  get size(): number {
    return this.#buckets.size;
  }

  take(key: string, cost: number, limit: Limit): Take {
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep(now, limit);
      bucket = { tokens: limit.burst, at: now };
      this.#buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.at) * limit.perSecond);
    bucket.at = now;
    // A request larger than the bucket could never pass: it costs a full bucket.
    const need = Math.min(cost, limit.burst);
    if (bucket.tokens >= need) {
      bucket.tokens -= need;
      return { ok: true };
    }
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil((need - bucket.tokens) / limit.perSecond)),
    };
  }

  /** Forgets callers whose buckets have refilled: they are as good as new. */
  #sweep(now: number, limit: Limit): void {
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * limit.perSecond >= limit.burst)
        this.#buckets.delete(key);
    }
  }
}
