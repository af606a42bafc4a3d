/**
 * The runner's pause between polls: it ends after `ms`, or as soon as
 * something wakes it (a job enqueued in this process, a slot freed, stop).
 * A wake-up that comes while the runner is busy (claiming) is kept for the
 * next pause, which then ends at once: otherwise a job enqueued during a
 * claim would wait out a whole pause.
 */
export class Wakeup {
  #pending = false;
  #end: (() => void) | undefined;

  wake(): void {
    if (this.#end !== undefined) this.#end();
    else this.#pending = true;
  }

  pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#pending) {
        this.#pending = false;
        resolve();
        return;
      }
      const end = () => {
        clearTimeout(timer);
        this.#end = undefined;
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.#end = end;
    });
  }
}
