/**
 * At most `perHost` requests to one host at a time from this process, so
 * that a report listing hundreds of images on one site does not hammer it
 * (or get us blocked). Waiters are served in arrival order. Per process: with
 * several workers a host sees up to perHost x workers.
 */
export class HostLimiter {
  readonly #active = new Map<string, number>();
  readonly #waiting = new Map<string, Array<() => void>>();

  constructor(private readonly perHost: number) {}

  /** Resolves with the release function once a slot is free; rejects if `signal` aborts first. */
  acquire(host: string, signal?: AbortSignal): Promise<() => void> {
    const key = host.toLowerCase();
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.#active.set(key, (this.#active.get(key) ?? 0) + 1);
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.#release(key);
        });
      };
      const onAbort = () => {
        const queue = this.#waiting.get(key);
        const index = queue?.indexOf(grant) ?? -1;
        if (queue !== undefined && index >= 0) queue.splice(index, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      if ((this.#active.get(key) ?? 0) < this.perHost) return grant();
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const queue = this.#waiting.get(key) ?? [];
      queue.push(grant);
      this.#waiting.set(key, queue);
    });
  }

  /** Requests in flight to `host`, for tests. */
  active(host: string): number {
    return this.#active.get(host.toLowerCase()) ?? 0;
  }

  #release(key: string): void {
    const queue = this.#waiting.get(key);
    const next = queue?.shift();
    if (queue !== undefined && queue.length === 0) this.#waiting.delete(key);
    const count = (this.#active.get(key) ?? 1) - 1;
    if (count === 0) this.#active.delete(key);
    else this.#active.set(key, count);
    next?.();
  }
}
