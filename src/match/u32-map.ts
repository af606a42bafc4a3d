/**
 * A uint32 -> uint32 hash map in two typed arrays (open addressing, linear
 * probing, backward-shift deletion so no tombstones pile up). A JS Map of 10
 * million numbers costs several hundred MB; this costs 16 bytes per entry at
 * the lowest load factor. Keys may be anything but 0xffffffff (the empty mark).
 */
const EMPTY = 0xffffffff;

/** Spreads the key's bits so sequential ids do not cluster. */
function slotOf(key: number, mask: number): number {
  return (Math.imul(key ^ (key >>> 16), 0x45d9f3b) >>> 0) & mask;
}

export class U32Map {
  #keys: Uint32Array;
  #values: Uint32Array;
  #size = 0;

  constructor(expected = 16) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(16, expected * 2)));
    this.#keys = new Uint32Array(capacity).fill(EMPTY);
    this.#values = new Uint32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get bytes(): number {
    return this.#keys.byteLength + this.#values.byteLength;
  }

  get(key: number): number | undefined {
    const keys = this.#keys;
    const mask = keys.length - 1;
    for (let i = slotOf(key, mask); ; i = (i + 1) & mask) {
      const at = keys[i];
      if (at === key) return this.#values[i];
      if (at === EMPTY) return undefined;
    }
  }

  set(key: number, value: number): void {
    if ((this.#size + 1) * 2 > this.#keys.length) this.#resize(this.#keys.length * 2);
    const keys = this.#keys;
    const mask = keys.length - 1;
    let i = slotOf(key, mask);
    while (keys[i] !== EMPTY && keys[i] !== key) i = (i + 1) & mask;
    if (keys[i] === EMPTY) this.#size++;
    keys[i] = key;
    this.#values[i] = value;
  }

  delete(key: number): boolean {
    const keys = this.#keys;
    const values = this.#values;
    const mask = keys.length - 1;
    let hole = slotOf(key, mask);
    while (keys[hole] !== key) {
      if (keys[hole] === EMPTY) return false;
      hole = (hole + 1) & mask;
    }
    // Shift later members of the probe run back into the hole when their home
    // slot does not lie (cyclically) between the hole and where they sit.
    for (let j = (hole + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = slotOf(keys[j], mask);
      const between = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (between) continue;
      keys[hole] = keys[j];
      values[hole] = values[j];
      hole = j;
    }
    keys[hole] = EMPTY;
    this.#size--;
    return true;
  }

  #resize(capacity: number): void {
    const oldKeys = this.#keys;
    const oldValues = this.#values;
    this.#keys = new Uint32Array(capacity).fill(EMPTY);
    this.#values = new Uint32Array(capacity);
    this.#size = 0;
    for (let i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] !== EMPTY) this.set(oldKeys[i], oldValues[i]);
    }
  }
}
