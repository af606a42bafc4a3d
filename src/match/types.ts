import { TakedownError } from '../errors.js';
import { pdqHexToWords } from '../hash/pdq-hash.js';

/**
 * The matcher's vocabulary. Entries are numbered by the caller (the database
 * maps its rows to these ids); a PDQ hash is 64 hex digits or its 8 words
 * (word 0 = the first 8 hex digits, as `pdqHexToWords` lays them out).
 */

/** One stored entry within the radius of a query. */
export interface PdqMatch {
  readonly id: number;
  /** Hamming distance to the closest query variant, 0..256. */
  readonly distance: number;
}

/** A PDQ hash as hex or as 8 unsigned 32-bit words. */
export type PdqHashInput = string | Uint32Array;

/**
 * One hash, or several variants of one image (the 8 dihedral rotations and
 * mirrors): an entry matches when any variant is within the radius, and
 * reports its smallest distance.
 */
export type PdqQuery = PdqHashInput | readonly PdqHashInput[];

export interface PdqSearchOptions {
  /** Largest Hamming distance that matches, inclusive (default 31, as Meta's HMA). */
  readonly radius?: number;
}

/** What every PDQ matcher answers; the brute-force scan is the reference. */
export interface PdqMatcher {
  /** Number of live entries. */
  readonly size: number;
  /** Adds an entry, or replaces the hash of an existing id. Visible to the next search. */
  add(id: number, hash: PdqHashInput): void;
  /** Removes an entry; false when the id was not there. Stops matching at once. */
  remove(id: number): boolean;
  has(id: number): boolean;
  /** Entries within the radius, ordered by distance, then id. */
  search(query: PdqQuery, options?: PdqSearchOptions): PdqMatch[];
}

/** Meta's HMA threshold (`PDQ_CONFIDENT_MATCH_THRESHOLD`). */
export const DEFAULT_PDQ_RADIUS = 31;
/** Ids are uint32; the top value is kept free as an empty-slot marker. */
export const MAX_ENTRY_ID = 0xfffffffe;

export function checkId(id: number): number {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ENTRY_ID) {
    throw new TakedownError(
      'invalid-entry-id',
      `An entry id must be an integer from 0 to ${MAX_ENTRY_ID}, got ${String(id)}.`,
    );
  }
  return id;
}

export function checkRadius(options: PdqSearchOptions | undefined): number {
  const radius = options?.radius ?? DEFAULT_PDQ_RADIUS;
  if (!Number.isInteger(radius) || radius < 0 || radius > 256) {
    throw new TakedownError(
      'invalid-radius',
      `A PDQ match radius is a whole number of bits from 0 to 256, got ${String(radius)}.`,
    );
  }
  return radius;
}

/** The 8 words of one hash; a Uint32Array is used as is (after a length check). */
export function hashWords(hash: PdqHashInput): Uint32Array {
  if (typeof hash === 'string') return pdqHexToWords(hash);
  if (hash instanceof Uint32Array && hash.length === 8) return hash;
  throw new TakedownError(
    'invalid-hash',
    'A PDQ hash is 64 hex digits or a Uint32Array of 8 words.',
  );
}

/** The variants of a query as word arrays (one for a plain hash). */
export function queryWords(query: PdqQuery): Uint32Array[] {
  if (typeof query === 'string' || query instanceof Uint32Array) return [hashWords(query)];
  if (!Array.isArray(query) || query.length === 0) {
    throw new TakedownError('invalid-hash', 'A PDQ query is a hash or a non-empty list of hashes.');
  }
  return query.map(hashWords);
}

/** Orders matches by distance, then id: every matcher returns this order. */
export function compareMatches(a: PdqMatch, b: PdqMatch): number {
  return a.distance - b.distance || a.id - b.id;
}
