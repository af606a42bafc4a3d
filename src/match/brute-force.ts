import { HitBuffer, scanCodes, WORDS_PER_CODE } from './codes.js';
import type { PdqHashInput, PdqMatch, PdqMatcher, PdqQuery, PdqSearchOptions } from './types.js';
import { checkId, checkRadius, compareMatches, hashWords, queryWords } from './types.js';

/**
 * Compares the query with every stored hash. The reference the index is
 * tested against, the benchmark's baseline, and the right choice for small
 * banks (a few thousand hashes scan in microseconds).
 */
export class BruteForcePdqMatcher implements PdqMatcher {
  #codes = new Uint32Array(64 * WORDS_PER_CODE);
  #ids = new Uint32Array(64);
  #count = 0;
  /** id -> position; removal moves the last entry into the hole. */
  readonly #where = new Map<number, number>();
  readonly #hits = new HitBuffer();

  get size(): number {
    return this.#count;
  }

  has(id: number): boolean {
    return this.#where.has(id);
  }

  add(id: number, hash: PdqHashInput): void {
    checkId(id);
    const words = hashWords(hash);
    let pos = this.#where.get(id);
    if (pos === undefined) {
      if (this.#count === this.#ids.length) this.#grow();
      pos = this.#count++;
      this.#ids[pos] = id;
      this.#where.set(id, pos);
    }
    this.#codes.set(words, pos * WORDS_PER_CODE);
  }

  remove(id: number): boolean {
    const pos = this.#where.get(id);
    if (pos === undefined) return false;
    const last = --this.#count;
    if (pos !== last) {
      const moved = this.#ids[last];
      this.#ids[pos] = moved;
      this.#codes.copyWithin(
        pos * WORDS_PER_CODE,
        last * WORDS_PER_CODE,
        (last + 1) * WORDS_PER_CODE,
      );
      this.#where.set(moved, pos);
    }
    this.#where.delete(id);
    return true;
  }

  search(query: PdqQuery, options?: PdqSearchOptions): PdqMatch[] {
    const radius = checkRadius(options);
    const best = new Map<number, number>();
    for (const q of queryWords(query)) {
      const hits = this.#hits;
      hits.length = 0;
      scanCodes(this.#codes, 0, this.#count, q, radius, hits);
      for (let i = 0; i < hits.length; i++) {
        const id = this.#ids[hits.pos[i]];
        const seen = best.get(id);
        if (seen === undefined || hits.dist[i] < seen) best.set(id, hits.dist[i]);
      }
    }
    const out: PdqMatch[] = [];
    for (const [id, distance] of best) out.push({ id, distance });
    return out.sort(compareMatches);
  }

  #grow(): void {
    const ids = new Uint32Array(this.#ids.length * 2);
    ids.set(this.#ids);
    const codes = new Uint32Array(ids.length * WORDS_PER_CODE);
    codes.set(this.#codes);
    this.#ids = ids;
    this.#codes = codes;
  }
}
