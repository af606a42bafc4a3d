import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  promises as fs,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { Config, MediaKey } from '../config.js';
import { TakedownError } from '../errors.js';

/**
 * Where evidence media is kept: a small interface (put, get, delete by key)
 * with a folder implementation, so that S3-compatible storage can replace
 * the folder later, and an encrypting layer in front of either. Media is
 * never written anywhere unencrypted.
 *
 * Encrypted blob layout (all lengths in bytes):
 *
 *   "TDB" 0x01 | key id (8) | IV (12) | AES-256-GCM ciphertext | tag (16)
 *
 * The key id is the first 8 bytes of the key's SHA-256, so after a key
 * change each blob names the key that opens it (TAKEDOWN_MEDIA_OLD_KEYS).
 * A fresh random IV per blob (never reused under one key: 96 random bits).
 * The header and the blob's key are authenticated too, so a blob copied
 * under another item's key does not decrypt.
 */
export interface BlobStore {
  /** Writes (or replaces) the blob; it is durable when this resolves. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** undefined when there is no such blob. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** False when there was nothing to delete. */
  delete(key: string): Promise<boolean>;
}

const KEY = /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)*$/;

/** Blobs as files under one folder (TAKEDOWN_MEDIA_DIR, default TAKEDOWN_DATA/media). */
export class FolderBlobStore implements BlobStore {
  readonly #dir: string;
  /** Folders made already: one mkdir per folder, not one per blob. */
  readonly #made = new Set<string>();

  constructor(dir: string) {
    this.#dir = path.resolve(dir);
  }

  #path(key: string): string {
    if (!KEY.test(key) || key.includes('..'))
      throw new Error(`not a usable blob key: ${JSON.stringify(key)}`);
    return path.join(this.#dir, key);
  }

  /**
   * Where `key` goes, the name it is first written under (written aside,
   * flushed, then renamed over: a crash leaves the old blob or the new one),
   * and its folder when that is not made yet.
   */
  #target(key: string): { file: string; temporary: string; newFolder?: string } {
    const file = this.#path(key);
    const folder = path.dirname(file);
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    return this.#made.has(folder) ? { file, temporary } : { file, temporary, newFolder: folder };
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const { file, temporary, newFolder } = this.#target(key);
    if (newFolder !== undefined) {
      await fs.mkdir(newFolder, { recursive: true, mode: 0o700 });
      this.#made.add(newFolder);
    }
    const handle = await fs.open(temporary, 'w', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.rename(temporary, file);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
  }

  /**
   * `put` without the event loop: for a worker thread whose only work is
   * writing blobs (src/pipeline/blob-thread.ts), where blocking costs
   * nothing and the file promises' round trips through the thread pool do.
   */
  putSync(key: string, bytes: Uint8Array): void {
    const { file, temporary, newFolder } = this.#target(key);
    if (newFolder !== undefined) {
      mkdirSync(newFolder, { recursive: true, mode: 0o700 });
      this.#made.add(newFolder);
    }
    const fd = openSync(temporary, 'w', 0o600);
    try {
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temporary, file);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await fs.readFile(this.#path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<boolean> {
    try {
      await fs.unlink(this.#path(key));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}

const MAGIC = Buffer.from([0x54, 0x44, 0x42, 0x01]); // "TDB" v1
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = MAGIC.length + KEY_ID_BYTES + IV_BYTES;

/** Encrypts on put and decrypts on get; `current` encrypts, any of `keys` decrypts. */
export class EncryptedBlobStore implements BlobStore {
  readonly #inner: BlobStore;
  readonly #current: MediaKey;
  readonly #keys: ReadonlyMap<string, MediaKey>;

  constructor(inner: BlobStore, current: MediaKey, older: readonly MediaKey[] = []) {
    this.#inner = inner;
    this.#current = current;
    this.#keys = new Map([...older, current].map((key) => [key.id, key]));
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    await this.#inner.put(key, encryptBlob(this.#current, key, bytes));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const sealed = await this.#inner.get(key);
    return sealed === undefined ? undefined : decryptBlob(this.#keys, key, sealed);
  }

  delete(key: string): Promise<boolean> {
    return this.#inner.delete(key);
  }
}

export function encryptBlob(mediaKey: MediaKey, blobKey: string, plain: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const header = Buffer.concat([MAGIC, Buffer.from(mediaKey.id, 'hex'), iv]);
  const cipher = createCipheriv('aes-256-gcm', mediaKey.bytes, iv);
  cipher.setAAD(Buffer.concat([header, Buffer.from(blobKey, 'utf8')]));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

export function decryptBlob(
  keys: ReadonlyMap<string, MediaKey>,
  blobKey: string,
  sealed: Uint8Array,
): Buffer {
  const blob = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (blob.length < HEADER_BYTES + TAG_BYTES || !blob.subarray(0, MAGIC.length).equals(MAGIC))
    throw unreadable(blobKey, 'it is not an encrypted Takedown blob');
  const keyId = blob.subarray(MAGIC.length, MAGIC.length + KEY_ID_BYTES).toString('hex');
  const mediaKey = keys.get(keyId);
  if (mediaKey === undefined)
    throw unreadable(
      blobKey,
      `it was encrypted with key ${keyId}, which is neither TAKEDOWN_MEDIA_KEY nor in TAKEDOWN_MEDIA_OLD_KEYS`,
    );
  const header = blob.subarray(0, HEADER_BYTES);
  const decipher = createDecipheriv(
    'aes-256-gcm',
    mediaKey.bytes,
    blob.subarray(MAGIC.length + KEY_ID_BYTES, HEADER_BYTES),
  );
  decipher.setAAD(Buffer.concat([header, Buffer.from(blobKey, 'utf8')]));
  decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
  try {
    return Buffer.concat([
      decipher.update(blob.subarray(HEADER_BYTES, blob.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch (error) {
    throw unreadable(blobKey, 'it was altered or damaged (authentication failed)', error);
  }
}

function unreadable(blobKey: string, why: string, cause?: unknown): TakedownError {
  return new TakedownError(
    'media-unreadable',
    `The stored media ${blobKey} cannot be read: ${why}.`,
    {
      kind: 'internal',
      cause,
    },
  );
}

/**
 * The key, or a refusal to start naming the variable: wherever the report
 * pipeline runs it keeps media, and media is never kept unencrypted.
 */
export function requireMediaKey(
  config: Pick<Config, 'mediaKey'>,
  what: string,
  hint = '',
): MediaKey {
  if (config.mediaKey !== undefined) return config.mediaKey;
  throw new TakedownError(
    'media-key-missing',
    `TAKEDOWN_MEDIA_KEY is not set, and ${what} keeps evidence media, which is only ever stored encrypted with that key. ` +
      'Set it to 32 random bytes as hex or base64 (e.g. `openssl rand -hex 32`), kept outside the data folder and its backups.' +
      (hint === '' ? '' : ` ${hint}`),
    { kind: 'bad-input', details: { variable: 'TAKEDOWN_MEDIA_KEY' } },
  );
}

/** The evidence store of this configuration: encrypted files in TAKEDOWN_MEDIA_DIR. */
export function openMediaStore(
  config: Pick<Config, 'mediaKey' | 'mediaOldKeys' | 'mediaDir'>,
  what: string,
): BlobStore {
  const key = requireMediaKey(config, what);
  return new EncryptedBlobStore(new FolderBlobStore(config.mediaDir), key, config.mediaOldKeys);
}
