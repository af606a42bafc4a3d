/**
 * Collects items that arrive in the same turn of the event loop (or within
 * `lingerMs` of the first) and hands them to `flush` together: the runner
 * completes many finished jobs with one statement instead of one each.
 * While a flush is in flight, new items wait for the next one. Each caller
 * gets its own item's answer.
 */
export class Batcher<Item, Answer> {
  #pending: Array<{ item: Item; resolve: (a: Answer) => void; reject: (e: unknown) => void }> = [];
  #scheduled = false;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly flush: (items: Item[]) => Promise<Answer[]>,
    private readonly maxBatch = 500,
    private readonly lingerMs = 0,
  ) {}

  add(item: Item): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        if (this.lingerMs > 0) setTimeout(() => void this.#run(), this.lingerMs);
        else setImmediate(() => void this.#run());
      }
    });
  }

  /** Resolves once everything added so far has been flushed. */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#pending.length > 0)
      await this.#inFlight.then(() => sleepTick());
    await this.#inFlight;
  }

  async #run(): Promise<void> {
    await this.#inFlight;
    const batch = this.#pending.splice(0, this.maxBatch);
    this.#scheduled = this.#pending.length > 0;
    if (this.#scheduled) setImmediate(() => void this.#run());
    if (batch.length === 0) return;
    this.#inFlight = (async () => {
      try {
        const answers = await this.flush(batch.map((entry) => entry.item));
        batch.forEach((entry, i) => entry.resolve(answers[i]));
      } catch (error) {
        for (const entry of batch) entry.reject(error);
      }
    })();
    await this.#inFlight;
  }
}

const sleepTick = () => new Promise<void>((resolve) => setImmediate(resolve));
