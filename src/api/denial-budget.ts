/**
 * How many refusals of unidentified callers (bad or expired credentials) the
 * audit trail takes per address and minute. Anyone can send those at no
 * cost, and every audit entry takes a turn on the chain's one lock: without
 * a budget, a flood of made-up keys would slow every audited action down.
 * What is left out is counted and reported with the next entry recorded for
 * that address (`suppressed`). Refusals of known principals are always
 * recorded; they are not counted here.
 */
export class DenialBudget {
  readonly #windows = new Map<string, { start: number; used: number; suppressed: number }>();

  constructor(
    private readonly perMinute = 20,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Whether to record this refusal, and how many were left out before it. */
  take(address: string, nowMs: number): { record: boolean; suppressed: number } {
    let window = this.#windows.get(address);
    if (window === undefined || nowMs - window.start >= 60_000) {
      // Bounded memory: a spray from many addresses forgets the oldest windows.
      if (window === undefined && this.#windows.size >= this.maxAddresses) this.#windows.clear();
      window = { start: nowMs, used: 0, suppressed: window?.suppressed ?? 0 };
      this.#windows.set(address, window);
    }
    if (window.used >= this.perMinute) {
      window.suppressed += 1;
      return { record: false, suppressed: 0 };
    }
    window.used += 1;
    const suppressed = window.suppressed;
    window.suppressed = 0;
    return { record: true, suppressed };
  }
}
