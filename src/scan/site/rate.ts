/**
 * Spaces requests at most `perSecond` apart in start time, however many run
 * at once: a polite crawler's pace. Clock and sleep are injected for tests.
 */
export class RateLimiter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #next = 0;

  constructor(
    perSecond: number,
    now: () => number = Date.now,
    sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.#intervalMs = 1000 / perSecond;
    this.#now = now;
    this.#sleep = sleep;
  }

  /** Resolves when the next request may start. */
  async wait(): Promise<void> {
    const now = this.#now();
    const at = Math.max(now, this.#next);
    // Reserve the slot before sleeping, so concurrent callers queue behind it.
    this.#next = at + this.#intervalMs;
    if (at > now) await this.#sleep(at - now);
  }
}
