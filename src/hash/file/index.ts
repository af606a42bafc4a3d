/**
 * `takedown/hash/file`: hashing files and bytes in Node — MD5, SHA-1, SHA-256
 * in one streamed pass, PDQ for images recognised by their content, a worker
 * pool and a folder walk. Per-file problems are `error` values in the
 * records, never exceptions. The browser-safe core is `takedown/hash`.
 *
 * @example
 *   import { hashPaths } from 'takedown/hash/file';
 *   for await (const record of hashPaths(['/srv/uploads'], { variants: true })) {
 *     console.log(record.path, record.sha256, record.pdq ?? record.error?.code);
 *   }
 */
export { hashBytes, hashFile, DEFAULT_MAX_IMAGE_BYTES } from './hash-file.js';
export type { ContentRecord, HashOptions, HashRecord } from './hash-file.js';
export { hashFiles, hashPaths } from './hash-files.js';
export type { HashFilesOptions } from './hash-files.js';
export { HashWorkerPool, inThreadHasher } from './pool.js';
export type { FileHasher, PoolOptions } from './pool.js';
export { walk, countEntries, nodeWalkFs } from './walk.js';
export type { WalkEntry, WalkFs, WalkOptions, WalkStat, WalkDirent } from './walk.js';
export { nodeFileReader } from './reader.js';
export type { EntryType, FileReader, OpenedFile } from './reader.js';
export { ExactHasher, exactHashes, exactHashesOfStream } from './digests.js';
export type { ExactHashes } from './digests.js';
export { sniffContent, SNIFF_BYTES } from './sniff.js';
export type { ContentType, ImageFormat } from './sniff.js';
export { decodeImage, DEFAULT_MAX_PIXELS } from './decode.js';
export type { DecodedImage, DecodeOptions } from './decode.js';
export { hashError, notAFile } from './errors.js';
export type { HashError, HashErrorCode } from './errors.js';
export { OUTPUT_FORMATS, columnNames, recordFormatter, recordValues } from './format.js';
export type { OutputFormat, RecordFormatter } from './format.js';
