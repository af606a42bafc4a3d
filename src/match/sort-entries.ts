import { TakedownError } from '../errors.js';
import { allocU32, WORDS_PER_CODE } from './codes.js';

/**
 * Entries in id order (the order a frozen part keeps), as new arrays. A
 * database usually hands ids over sorted, which is checked first and costs
 * one pass; otherwise a two-pass radix sort on the 32-bit ids. Throws on a
 * repeated id: two hashes for one entry are the caller's bug.
 */
export function sortEntries(
  ids: Uint32Array,
  codes: Uint32Array,
  shared: boolean,
): { ids: Uint32Array; codes: Uint32Array } {
  const count = ids.length;
  if (codes.length !== count * WORDS_PER_CODE) {
    throw new TakedownError(
      'invalid-codes',
      `${count} ids need ${count * WORDS_PER_CODE} code words, got ${codes.length}.`,
    );
  }
  const outIds = allocU32(count, shared);
  const outCodes = allocU32(count * WORDS_PER_CODE, shared);
  let sorted = true;
  for (let i = 1; i < count && sorted; i++) sorted = ids[i - 1] < ids[i];
  if (sorted) {
    outIds.set(ids);
    outCodes.set(codes);
    return { ids: outIds, codes: outCodes };
  }
  const order = radixOrder(ids);
  for (let i = 0; i < count; i++) {
    const from = order[i];
    outIds[i] = ids[from];
    if (i > 0 && outIds[i] === outIds[i - 1]) {
      throw new TakedownError('duplicate-entry-id', `Entry id ${outIds[i]} appears twice.`);
    }
    outCodes.set(
      codes.subarray(from * WORDS_PER_CODE, (from + 1) * WORDS_PER_CODE),
      i * WORDS_PER_CODE,
    );
  }
  return { ids: outIds, codes: outCodes };
}

/** Positions of `keys` in ascending key order (stable LSD radix sort, 16 bits per pass). */
function radixOrder(keys: Uint32Array): Uint32Array {
  const count = keys.length;
  let order = new Uint32Array(count);
  let next = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  for (const shift of [0, 16]) {
    const counts = new Uint32Array(65537);
    for (let i = 0; i < count; i++) counts[((keys[i] >>> shift) & 0xffff) + 1]++;
    for (let k = 0; k < 65536; k++) counts[k + 1] += counts[k];
    for (let i = 0; i < count; i++) {
      const at = order[i];
      next[counts[(keys[at] >>> shift) & 0xffff]++] = at;
    }
    [order, next] = [next, order];
  }
  return order;
}
