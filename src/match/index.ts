/**
 * `src/match`: matching hashes against banks. Browser-safe (no Node
 * imports); snapshots and worker threads live in `./node/`.
 *
 * - `PdqIndex`: exact PDQ search within a Hamming radius (multi-index
 *   hashing), with add/remove visible to the next search.
 * - `BruteForcePdqMatcher`: the same answers by scanning; the reference.
 * - `ExactIndex`: md5 / sha1 / sha256 by equality.
 */
export { BruteForcePdqMatcher } from './brute-force.js';
export { PdqIndex } from './pdq-index.js';
export type {
  PdqCompactionJob,
  PdqIndexLayout,
  PdqIndexOptions,
  PdqIndexStats,
} from './pdq-index.js';
export { PdqIndexView } from './pdq-index-view.js';
export { DEFAULT_PDQ_RADIUS, MAX_ENTRY_ID } from './types.js';
export type { PdqHashInput, PdqMatch, PdqMatcher, PdqQuery, PdqSearchOptions } from './types.js';
export { ExactIndex } from './exact-index.js';
export type { ExactSignalType } from './exact-index.js';
