/**
 * Node-only parts of the matcher: snapshots on disk and worker threads that
 * search one shared index.
 */
export {
  readExactSnapshot,
  readPdqSnapshot,
  writeExactSnapshot,
  writePdqSnapshot,
} from './index-snapshot.js';
export type { SnapshotMeta } from './index-snapshot.js';
export type { SnapshotRead } from './snapshot-file.js';
export { compactInBackground } from './compaction.js';
export { PdqSearchPool } from './search-pool.js';
export type { PdqSearchPoolOptions } from './search-pool.js';
