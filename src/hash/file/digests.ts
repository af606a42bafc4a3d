import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';

/** The exact (cryptographic) hashes every file gets, as lower-case hex. */
export interface ExactHashes {
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
}

/**
 * MD5, SHA-1 and SHA-256 fed from one pass over the bytes, chunk by chunk, so
 * a file of any size is read once and never held in memory.
 */
export class ExactHasher {
  readonly #md5: Hash = createHash('md5');
  readonly #sha1: Hash = createHash('sha1');
  readonly #sha256: Hash = createHash('sha256');
  #bytes = 0;

  update(chunk: Uint8Array): this {
    this.#md5.update(chunk);
    this.#sha1.update(chunk);
    this.#sha256.update(chunk);
    this.#bytes += chunk.length;
    return this;
  }

  /** Bytes fed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  digest(): ExactHashes {
    return {
      md5: this.#md5.digest('hex'),
      sha1: this.#sha1.digest('hex'),
      sha256: this.#sha256.digest('hex'),
    };
  }
}

export function exactHashes(bytes: Uint8Array): ExactHashes {
  return new ExactHasher().update(bytes).digest();
}

/** Exact hashes of a stream of chunks (a web or Node stream, a generator). */
export async function exactHashesOfStream(
  chunks: AsyncIterable<Uint8Array>,
): Promise<ExactHashes & { readonly bytes: number }> {
  const hasher = new ExactHasher();
  for await (const chunk of chunks) hasher.update(chunk);
  return { bytes: hasher.bytes, ...hasher.digest() };
}
