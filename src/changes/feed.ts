import type { Kysely } from 'kysely';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import type { Change } from './changes.js';
import { changesSince } from './changes.js';

export type ChangeHandler = (changes: readonly Change[]) => Promise<void> | void;

export interface ChangeFeedOptions {
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  /** Pause between polls (TAKEDOWN_CHANGES_POLL_MS). */
  readonly intervalMs: number;
  /** Changes read per query. */
  readonly pageSize?: number;
}

/**
 * Follows the change log from a position: polls every `intervalMs` with one
 * indexed query and hands new changes to the subscribers in order. A
 * subscriber that throws (the database went away mid-way) leaves the
 * position where it was, so the same changes come again on the next poll:
 * subscribers must be idempotent, which adding and removing entries is.
 */
export class ChangeFeed {
  readonly #options: ChangeFeedOptions;
  readonly #handlers: ChangeHandler[] = [];
  #position: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #failures = 0;

  constructor(options: ChangeFeedOptions, position: number) {
    this.#options = options;
    this.#position = position;
  }

  /** The last change applied. */
  get position(): number {
    return this.#position;
  }

  subscribe(handler: ChangeHandler): void {
    this.#handlers.push(handler);
  }

  /** Starts polling from `position` (or where it stands). */
  start(position?: number): void {
    if (position !== undefined) this.#position = position;
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops polling; resolves once a poll in flight has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /**
   * Applies every change up to now, at once: after a change made in this
   * process, so it takes effect here before the call that made it returns.
   */
  async poll(): Promise<void> {
    // One poll at a time: two would apply the same changes twice, out of order.
    while (this.#running !== undefined) await this.#running.catch(() => undefined);
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
    });
    await this.#running;
  }

  async #drain(): Promise<void> {
    const pageSize = this.#options.pageSize ?? 1000;
    for (;;) {
      const changes = await changesSince(this.#options.db, this.#position, pageSize);
      if (changes.length === 0) return;
      for (const handler of this.#handlers) await handler(changes);
      this.#position = changes[changes.length - 1].seq;
      if (changes.length < pageSize) return;
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    // Back off while the database is unreachable, up to 5 s, instead of logging 4 errors a second.
    const delay = Math.min(5_000, this.#options.intervalMs * 2 ** Math.min(this.#failures, 5));
    this.#timer = setTimeout(() => void this.#tick(), delay);
    // The HTTP server keeps the process alive; a forgotten feed must not.
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    try {
      await this.poll();
      if (this.#failures > 0) this.#options.logger.info('following bank changes again');
      this.#failures = 0;
    } catch (error) {
      if (this.#failures === 0 && !this.#stopped) {
        this.#options.logger.warn({ err: error }, 'cannot read bank changes; retrying');
      }
      this.#failures++;
    }
    this.#schedule();
  }
}
