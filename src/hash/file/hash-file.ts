import type { PdqSemantics, PdqVariants } from '../pdq.js';
import { pdq } from '../pdq.js';
import type { PdqHex } from '../pdq-hash.js';
import { DEFAULT_MAX_PIXELS, decodeImage } from './decode.js';
import type { ExactHashes } from './digests.js';
import { ExactHasher, exactHashes } from './digests.js';
import type { HashError } from './errors.js';
import { decodeFailure, errnoToHashError, hashError, notAFile } from './errors.js';
import type { FileReader, OpenedFile } from './reader.js';
import { nodeFileReader } from './reader.js';
import type { ContentType, ImageFormat } from './sniff.js';
import { SNIFF_BYTES, sniffContent } from './sniff.js';

export interface HashOptions {
  /** PDQ semantics, `fullres` by default (what the field's hash lists use). */
  readonly semantics?: PdqSemantics;
  /** Add the eight rotated/mirrored PDQ hashes. */
  readonly variants?: boolean;
  /** Images declaring more pixels are refused (decompression bombs). */
  readonly maxPixels?: number;
  /** Image files larger than this get exact hashes only. */
  readonly maxImageBytes?: number;
  /** Report files that are not images as `not-an-image` errors. */
  readonly requireImage?: boolean;
}

/**
 * What hashing some content gave. Exact hashes are present whenever every
 * byte was read, even if the image then failed to decode; `error` says why
 * something is missing. Keys are created in this order, which is the order
 * of the JSON output.
 */
export interface ContentRecord {
  readonly bytes?: number;
  readonly md5?: string;
  readonly sha1?: string;
  readonly sha256?: string;
  /** Image container, for content recognised as an image we decode. */
  readonly format?: ImageFormat;
  readonly pdq?: PdqHex;
  /** 0..100; below 50 the PDQ hash is unreliable. */
  readonly pdqQuality?: number;
  readonly pdqVariants?: PdqVariants;
  readonly error?: HashError;
}

export interface HashRecord extends ContentRecord {
  readonly path: string;
}

/** 256 MiB, as `TAKEDOWN_MAX_IMAGE_BYTES` defaults. */
export const DEFAULT_MAX_IMAGE_BYTES = 256 * 1024 * 1024;

/** Files up to this size are read in one go; larger ones are sniffed first. */
const SMALL_FILE_BYTES = 1024 * 1024;
/** Buffer for streamed files, read in two alternating halves. */
const CHUNK_BYTES = 2 * 1024 * 1024;

/** Hashes bytes already in memory (an upload, a fetched media item). Never throws for bad content. */
export async function hashBytes(
  bytes: Uint8Array,
  options: HashOptions = {},
): Promise<ContentRecord> {
  const exact = { bytes: bytes.length, ...exactHashes(bytes) };
  if (bytes.length === 0) return { ...exact, error: hashError('empty-file') };
  const type = await sniffContent(bytes.subarray(0, SNIFF_BYTES));
  return { ...exact, ...(await imageHashes(bytes, type, options)) };
}

/**
 * Hashes one file: every byte read once, exact hashes always, PDQ when the
 * content is an image. Problems with the file come back as `error`, never as
 * a rejection, so a scan of millions of files survives any one of them.
 */
export async function hashFile(
  path: string,
  options: HashOptions & { readonly reader?: FileReader } = {},
): Promise<HashRecord> {
  const reader = options.reader ?? nodeFileReader;
  let file: OpenedFile;
  try {
    file = await reader.open(path);
  } catch (error) {
    return { path, error: errnoToHashError(error, 'open') };
  }
  try {
    if (file.type !== 'file') {
      return { path, error: notAFile(file.type) };
    }
    return { path, ...(await hashOpened(file, options)) };
  } catch (error) {
    return { path, error: errnoToHashError(error, 'read') };
  } finally {
    await file.close().catch(() => undefined);
  }
}

async function hashOpened(file: OpenedFile, options: HashOptions): Promise<ContentRecord> {
  const maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const size = file.size;
  if (size === 0 || size > maxImageBytes) return hashStreamed(file, options, maxImageBytes);

  // Small enough to be an image we decode: read into one buffer of the
  // file's size, so the bytes are hashed and decoded without a copy. One
  // spare byte detects a file that is still growing.
  const buffer = Buffer.allocUnsafe(size + 1);
  const first = size <= SMALL_FILE_BYTES ? size + 1 : SNIFF_BYTES;
  let got = await readFully(file, buffer, 0, first);
  const type = await sniffContent(buffer.subarray(0, Math.min(got, SNIFF_BYTES)));
  if (type.kind !== 'image' && got < size) {
    // Not something we decode: stream the rest instead of holding it.
    const hasher = new ExactHasher().update(buffer.subarray(0, got));
    await streamInto(file, hasher, buffer.subarray(0, Math.min(CHUNK_BYTES, size)), got);
    return finish(hasher, size, type, options);
  }
  if (got < size + 1) got += await readFully(file, buffer, got, size + 1 - got);
  if (got !== size) return { error: hashError(got < size ? 'file-vanished' : 'file-changed') };
  const bytes = buffer.subarray(0, size);
  return { bytes: size, ...exactHashes(bytes), ...(await imageHashes(bytes, type, options)) };
}

/** Empty, huge, or not sized by stat: exact hashes only, in fixed-size chunks. */
async function hashStreamed(
  file: OpenedFile,
  options: HashOptions,
  maxImageBytes: number,
): Promise<ContentRecord> {
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  const hasher = new ExactHasher();
  const got = await readFully(file, chunk, 0, chunk.length);
  const type = await sniffContent(chunk.subarray(0, Math.min(got, SNIFF_BYTES)));
  hasher.update(chunk.subarray(0, got));
  if (got === chunk.length) await streamInto(file, hasher, chunk, got);
  if (file.size === 0 && hasher.bytes === 0) {
    return { bytes: 0, ...hasher.digest(), error: hashError('empty-file') };
  }
  if (file.size === 0) return { error: hashError('file-changed') };
  const record = finish(hasher, file.size, type, options);
  if (record.error !== undefined || type.kind !== 'image') return record;
  return {
    ...record,
    format: type.format,
    error: hashError(
      'image-too-large',
      `${file.size.toLocaleString('en')} bytes; images up to ${maxImageBytes.toLocaleString('en')} bytes are decoded, set by TAKEDOWN_MAX_IMAGE_BYTES`,
    ),
  };
}

/** A streamed file's record: exact hashes if every byte was read, nothing if the file changed. */
function finish(
  hasher: ExactHasher,
  size: number,
  type: ContentType,
  options: HashOptions,
): ContentRecord {
  if (hasher.bytes !== size) {
    return { error: hashError(hasher.bytes < size ? 'file-vanished' : 'file-changed') };
  }
  const exact = { bytes: size, ...hasher.digest() };
  if (type.kind === 'unsupported-image') return { ...exact, error: unsupported(type.mime) };
  if (type.kind === 'other' && options.requireImage) {
    return { ...exact, error: hashError('not-an-image') };
  }
  return exact;
}

async function imageHashes(
  bytes: Uint8Array,
  type: ContentType,
  options: HashOptions,
): Promise<Omit<ContentRecord, keyof ExactHashes | 'bytes'>> {
  if (type.kind === 'other')
    return options.requireImage ? { error: hashError('not-an-image') } : {};
  if (type.kind === 'unsupported-image') return { error: unsupported(type.mime) };
  const maxImageBytes = options.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  if (bytes.length > maxImageBytes) {
    return {
      format: type.format,
      error: hashError(
        'image-too-large',
        `${bytes.length.toLocaleString('en')} bytes; images up to ${maxImageBytes.toLocaleString('en')} bytes are decoded, set by TAKEDOWN_MAX_IMAGE_BYTES`,
      ),
    };
  }
  let image;
  try {
    image = await decodeImage(bytes, { maxPixels: options.maxPixels ?? DEFAULT_MAX_PIXELS });
  } catch (error) {
    return { format: type.format, error: decodeFailure(error) };
  }
  try {
    const result = pdq(image, { semantics: options.semantics, variants: options.variants });
    return result.variants === undefined
      ? { format: type.format, pdq: result.hash, pdqQuality: result.quality }
      : {
          format: type.format,
          pdq: result.hash,
          pdqQuality: result.quality,
          pdqVariants: result.variants,
        };
  } catch (error) {
    return {
      format: type.format,
      error: hashError('hash-failed', error instanceof Error ? error.message : String(error)),
    };
  }
}

function unsupported(mime: string): HashError {
  return hashError('unsupported-image', `it is ${mime}`);
}

/**
 * Reads the file from position `offset` into `into[offset…]` until `length`
 * bytes arrived or the file ended; returns the count.
 */
async function readFully(
  file: OpenedFile,
  into: Uint8Array,
  offset: number,
  length: number,
): Promise<number> {
  let done = 0;
  while (done < length) {
    const n = await file.read(into, offset + done, length - done, offset + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/**
 * Feeds the rest of the file from `position` to the hasher. Two halves of
 * `chunk` take turns: the next read runs (on libuv's threads) while this
 * thread hashes the previous one, so a large file costs the slower of
 * reading and hashing, not their sum.
 */
async function streamInto(
  file: OpenedFile,
  hasher: ExactHasher,
  chunk: Uint8Array,
  position: number,
): Promise<void> {
  const half = Math.max(1, chunk.length >> 1);
  const buffers = [chunk.subarray(0, half), chunk.subarray(half, half * 2)];
  let turn = 0;
  let reading = file.read(buffers[turn], 0, half, position);
  for (;;) {
    const n = await reading;
    if (n === 0) return;
    const full = buffers[turn];
    position += n;
    turn ^= 1;
    reading = file.read(buffers[turn], 0, half, position);
    // Hashing while the read is in flight; if hashing throws, the read is
    // still awaited by nobody, so mark it handled.
    try {
      hasher.update(full.subarray(0, n));
    } catch (error) {
      reading.catch(() => undefined);
      throw error;
    }
  }
}
