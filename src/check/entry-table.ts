import type { SignalType } from '../hash/signal.js';

/**
 * For every entry in the matcher: its bank and signal type, in one Int32Array
 * indexed by entry id (bank id * 8 + type code; 0 = not loaded). Entry ids
 * are the database's serial numbers, dense from 1: 4 bytes per id, not the
 * ~80 a Map entry costs, which matters at 10 million entries.
 */
export const TYPE_CODES: Readonly<Record<SignalType, number>> = {
  pdq: 1,
  md5: 2,
  sha1: 3,
  sha256: 4,
};
const TYPES: readonly (SignalType | undefined)[] = [undefined, 'pdq', 'md5', 'sha1', 'sha256'];

export class EntryTable {
  #cells: Int32Array;

  constructor(cells: Int32Array = new Int32Array(1024)) {
    this.#cells = cells;
  }

  /** The raw array (for snapshots); entries beyond its end are absent. */
  get cells(): Int32Array {
    return this.#cells;
  }

  set(id: number, bankId: number, type: SignalType): void {
    if (id >= this.#cells.length) this.#grow(id);
    this.#cells[id] = bankId * 8 + TYPE_CODES[type];
  }

  clear(id: number): void {
    if (id < this.#cells.length) this.#cells[id] = 0;
  }

  bankOf(id: number): number {
    return id < this.#cells.length ? this.#cells[id] >>> 3 : 0;
  }

  typeOf(id: number): SignalType | undefined {
    return id < this.#cells.length ? TYPES[this.#cells[id] & 7] : undefined;
  }

  /** Ids of every entry of `bankId` (and of `type`, when given). */
  idsOf(bankId: number, type?: SignalType): number[] {
    const ids: number[] = [];
    const cells = this.#cells;
    for (let id = 1; id < cells.length; id++) {
      const cell = cells[id];
      if (
        cell !== 0 &&
        cell >>> 3 === bankId &&
        (type === undefined || (cell & 7) === TYPE_CODES[type])
      )
        ids.push(id);
    }
    return ids;
  }

  #grow(id: number): void {
    let length = this.#cells.length;
    while (length <= id) length *= 2;
    const cells = new Int32Array(length);
    cells.set(this.#cells);
    this.#cells = cells;
  }
}
