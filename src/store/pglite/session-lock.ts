/**
 * Turns at the one PostgreSQL backend inside PGlite. A turn lasts from a
 * session's first message until it is idle again outside any transaction: a
 * whole transaction, or one extended-protocol query up to its Sync. While one
 * session has its turn nobody else's message reaches the backend, so nobody
 * runs inside someone else's transaction or overwrites their unnamed
 * statement. First come, first served.
 */
export class SessionLock {
  #holder: string | undefined;
  readonly #waiters: Array<{ who: string; grant: () => void }> = [];

  /** Resolves when `who` holds the lock. */
  acquire(who: string): Promise<void> {
    if (this.#holder === undefined) {
      this.#holder = who;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#waiters.push({
        who,
        grant: () => {
          this.#holder = who;
          resolve();
        },
      });
    });
  }

  release(who: string): void {
    if (this.#holder !== who) {
      throw new Error(`session lock released by ${who} but held by ${String(this.#holder)}`);
    }
    this.#holder = undefined;
    this.#waiters.shift()?.grant();
  }

  get holder(): string | undefined {
    return this.#holder;
  }

  get waiting(): number {
    return this.#waiters.length;
  }
}
