/**
 * Just enough of the PostgreSQL wire protocol (v3) to share one PGlite backend
 * between clients: split what a client sends into messages, and notice in
 * what the backend answers when a session is idle again (ReadyForQuery).
 * Pure functions over bytes; the socket code lives in share-server.ts.
 * https://www.postgresql.org/docs/current/protocol-message-formats.html
 */

const PROTOCOL_3 = 196608;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

export type FrontendMessage =
  /** SSLRequest / GSSENCRequest: answer 'N' (we speak plain text on a private socket). */
  | { readonly kind: 'encryption-request' }
  /** CancelRequest: PGlite cannot interrupt a running query; the connection is closed. */
  | { readonly kind: 'cancel-request' }
  | { readonly kind: 'startup'; readonly bytes: Uint8Array }
  /** A typed message; `type` is its first byte as a character ('Q', 'P', 'S', 'X', ...). */
  | { readonly kind: 'message'; readonly type: string; readonly bytes: Uint8Array }
  | { readonly kind: 'invalid'; readonly reason: string };

const readInt32 = (bytes: Uint8Array, offset: number): number =>
  ((bytes[offset] << 24) |
    (bytes[offset + 1] << 16) |
    (bytes[offset + 2] << 8) |
    bytes[offset + 3]) >>>
  0;

/** Largest message we accept from a client (PostgreSQL's own limit is 1 GB). */
const MAX_MESSAGE = 256 * 1024 * 1024;

/**
 * Splits the complete messages off the front of `buffer`. `started` is false
 * until the startup message has been seen (before it, messages carry no type
 * byte). Returns the messages and how many bytes they used.
 */
export function splitFrontend(
  buffer: Uint8Array,
  started: boolean,
): { messages: FrontendMessage[]; consumed: number; started: boolean } {
  const messages: FrontendMessage[] = [];
  let offset = 0;
  while (true) {
    if (!started) {
      if (buffer.length - offset < 8) break;
      const length = readInt32(buffer, offset);
      const code = readInt32(buffer, offset + 4);
      if (length < 8 || length > 10_000) {
        messages.push({ kind: 'invalid', reason: `bad startup length ${length}` });
        break;
      }
      if (buffer.length - offset < length) break;
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        messages.push({ kind: 'encryption-request' });
      } else if (code === CANCEL_REQUEST) {
        messages.push({ kind: 'cancel-request' });
      } else if (code === PROTOCOL_3) {
        messages.push({ kind: 'startup', bytes: buffer.slice(offset, offset + length) });
        started = true;
      } else {
        messages.push({ kind: 'invalid', reason: `unsupported protocol ${code}` });
      }
      offset += length;
      if (messages.at(-1)?.kind === 'invalid' || messages.at(-1)?.kind === 'cancel-request') break;
      continue;
    }
    if (buffer.length - offset < 5) break;
    const length = readInt32(buffer, offset + 1);
    if (length < 4 || length > MAX_MESSAGE) {
      messages.push({ kind: 'invalid', reason: `bad message length ${length}` });
      break;
    }
    if (buffer.length - offset < 1 + length) break;
    messages.push({
      kind: 'message',
      type: String.fromCharCode(buffer[offset]),
      bytes: buffer.slice(offset, offset + 1 + length),
    });
    offset += 1 + length;
  }
  return { messages, consumed: offset, started };
}

/**
 * Follows the backend's answer, which arrives in chunks that need not align
 * with messages, and remembers the transaction status of the last
 * ReadyForQuery: 'I' idle, 'T' in a transaction, 'E' in a failed transaction.
 */
export class BackendScanner {
  #header = new Uint8Array(5);
  #headerLength = 0;
  #remaining = 0;
  #inReadyForQuery = false;
  /** Status of the last ReadyForQuery since reset(); undefined if none came. */
  status: 'I' | 'T' | 'E' | undefined;

  reset(): void {
    this.status = undefined;
  }

  feed(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#remaining > 0) {
        if (this.#inReadyForQuery) {
          this.status = String.fromCharCode(chunk[offset]) as 'I' | 'T' | 'E';
          this.#inReadyForQuery = false;
        }
        const take = Math.min(this.#remaining, chunk.length - offset);
        offset += take;
        this.#remaining -= take;
        continue;
      }
      this.#header[this.#headerLength] = chunk[offset];
      this.#headerLength += 1;
      offset += 1;
      if (this.#headerLength === 5) {
        this.#headerLength = 0;
        this.#remaining = readInt32(this.#header, 1) - 4;
        this.#inReadyForQuery = this.#header[0] === 0x5a && this.#remaining === 1; // 'Z'
      }
    }
  }
}

/** Client messages after which the backend answers ReadyForQuery. */
export const ENDS_A_TURN: ReadonlySet<string> = new Set(['S', 'Q']);

const encoder = new TextEncoder();

/** A simple-protocol Query message. */
export function queryMessage(text: string): Uint8Array {
  const body = encoder.encode(`${text}\0`);
  const bytes = new Uint8Array(5 + body.length);
  bytes[0] = 0x51; // 'Q'
  new DataView(bytes.buffer).setInt32(1, 4 + body.length);
  bytes.set(body, 5);
  return bytes;
}

/** A Sync message: ends any half-sent extended-protocol query. */
export const SYNC_MESSAGE = new Uint8Array([0x53, 0, 0, 0, 4]);
