/**
 * Turns at the one PostgreSQL backend inside PGlite. A turn lasts from a
 * session's first message until it is idle again outside any transaction: a
 * whole transaction, or one extended-protocol query up to its Sync. While one
 * session has its turn nobody else's message reaches the backend, so nobody
 * runs inside someone else's transaction or overwrites their unnamed
 * statement.
 *
 * Waiting turns are served first come, first served, except that
 * foreground turns (a request, a command) go before background ones (job
 * runners, see store/priority.ts): a report's intake should not queue
 * behind the pipeline's statements. So that the pipeline still moves while
 * requests keep coming, a waiting background turn gets every
 * BACKGROUND_EVERY-th turn.
 */
export const BACKGROUND_EVERY = 4;

interface Waiter {
  readonly who: string;
  readonly grant: () => void;
}

export class SessionLock {
  #holder: string | undefined;
  readonly #foreground: Waiter[] = [];
  readonly #background: Waiter[] = [];
  /** Foreground turns granted in a row while background ones waited. */
  #streak = 0;

  /** Resolves when `who` holds the lock. */
  acquire(who: string, background = false): Promise<void> {
    if (this.#holder === undefined) {
      this.#holder = who;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      (background ? this.#background : this.#foreground).push({
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
    this.#next()?.grant();
  }

  #next(): Waiter | undefined {
    const backgroundDue = this.#streak >= BACKGROUND_EVERY - 1;
    if (this.#foreground.length > 0 && !(backgroundDue && this.#background.length > 0)) {
      if (this.#background.length > 0) this.#streak += 1;
      return this.#foreground.shift();
    }
    this.#streak = 0;
    return this.#background.shift();
  }

  get holder(): string | undefined {
    return this.#holder;
  }

  get waiting(): number {
    return this.#foreground.length + this.#background.length;
  }
}
