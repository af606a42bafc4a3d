import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { pipeline, Transform, Writable } from 'node:stream';
import zlib from 'node:zlib';
import type { FailureKind } from './outcome.js';
import type { ResolvedAddress } from './resolver.js';
import { describeSniffed, sniff, SNIFF_BYTES } from './sniff.js';
import type { Sniffed } from './sniff.js';

/**
 * One HTTP exchange with one already-checked address: no redirects
 * followed, no DNS. Node's own http(s) client, with its `lookup` replaced by
 * one that answers the checked address whatever it is asked: the socket
 * connects exactly there, while the Host header, TLS SNI and certificate
 * check still use the URL's host name.
 */

export interface HopRequest {
  readonly url: URL;
  readonly address: ResolvedAddress;
  readonly userAgent: string;
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
  /** Stop early when the body is neither an image nor a video. */
  readonly expectMedia: boolean;
  /** Aborts the exchange; its reason decides the outcome (see HopAbort). */
  readonly signal: AbortSignal;
}

export type HopResult =
  | { readonly kind: 'redirect'; readonly status: number; readonly location: string }
  /** Neither 2xx nor a redirect: the body is not read. */
  | { readonly kind: 'status'; readonly status: number }
  | {
      readonly kind: 'body';
      readonly status: number;
      readonly contentType: string | undefined;
      readonly sniffed: Sniffed;
      readonly bytes: Uint8Array;
    }
  | {
      readonly kind: 'failure';
      readonly failure: FailureKind;
      readonly message: string;
      readonly code?: string;
      readonly status?: number;
      readonly sniffed?: Sniffed;
      /** False when no TCP connection was made: another address may work. */
      readonly connected: boolean;
    };

/** The reason a fetch's signal carries: which limit stopped it. */
export class HopAbort extends Error {
  constructor(
    readonly failure: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

const ACCEPT =
  'text/html,application/xhtml+xml,image/avif,image/webp,image/apng,image/*;q=0.9,video/*;q=0.8,*/*;q=0.5';

class Stop extends Error {
  constructor(
    readonly failure: FailureKind,
    message: string,
    readonly sniffed?: Sniffed,
  ) {
    super(message);
  }
}

export function requestHop(hop: HopRequest): Promise<HopResult> {
  return new Promise((resolve) => {
    const { url, signal } = hop;
    let connected = false;
    let settled = false;
    const finish = (result: HopResult) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(result);
    };
    const fail = (
      failure: FailureKind,
      message: string,
      extra: { code?: string; status?: number; sniffed?: Sniffed } = {},
    ) => finish({ kind: 'failure', failure, message, connected, ...extra });
    const onAbort = () => {
      const reason: unknown = signal.reason;
      if (reason instanceof HopAbort) fail(reason.failure, reason.message);
      else fail('aborted', 'the fetch was cancelled');
    };

    const secure = url.protocol === 'https:';
    const hostname = url.hostname.replace(/^\[|\]$/g, '');
    const request = (secure ? https : http).request({
      host: hostname,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: {
        host: url.host,
        'user-agent': hop.userAgent,
        accept: ACCEPT,
        'accept-encoding': 'gzip, deflate, br',
        connection: 'close',
      },
      agent: false,
      lookup: pinnedLookup(hop.address),
      ...(secure && isIP(hostname) === 0 ? { servername: hostname } : {}),
    });
    request.on('socket', (socket) => {
      socket.once('connect', () => (connected = true));
      // Idle: no byte in either direction for this long, connecting included.
      socket.setTimeout(hop.idleTimeoutMs, () =>
        fail('timeout', `no data from the server for ${hop.idleTimeoutMs} ms`),
      );
    });
    request.on('error', (error) => finish(classifyError(error, connected)));
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      const location = response.headers.location;
      if (status >= 300 && status < 400 && status !== 304) {
        response.destroy();
        if (location === undefined)
          fail('http-error', `HTTP ${status} without a Location header`, { status });
        else finish({ kind: 'redirect', status, location });
        return;
      }
      if (status < 200 || status >= 300) {
        response.destroy();
        finish({ kind: 'status', status });
        return;
      }
      readBody(response, hop).then(
        (body) => finish({ kind: 'body', status, ...body }),
        (error: unknown) =>
          error instanceof Stop
            ? fail(error.failure, error.message, {
                status,
                ...(error.sniffed ? { sniffed: error.sniffed } : {}),
              })
            : finish({ ...classifyError(error, connected), status } as HopResult),
      );
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    request.end();
  });
}

function pinnedLookup(target: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (typeof options === 'object' && options !== null && options.all)
      (callback as (e: null, all: Array<{ address: string; family: number }>) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    else callback(null, target.address, target.family);
  };
}

/** Decoders for Content-Encoding, outermost last, as the header lists them. */
function decoders(header: string | undefined): Transform[] {
  const names = (header ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '' && name !== 'identity');
  if (names.length > 2) throw new Stop('bad-response', `too many content encodings: ${header}`);
  // Lenient like browsers: a body cut short still yields what arrived.
  const flush = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  return names.reverse().map((name) => {
    if (name === 'gzip' || name === 'x-gzip') return zlib.createGunzip(flush);
    // zlib-wrapped deflate, which is what "deflate" means (createUnzip also takes gzip).
    if (name === 'deflate') return zlib.createUnzip(flush);
    if (name === 'br')
      return zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
    throw new Stop('bad-response', `unsupported content encoding "${name}"`);
  });
}

/**
 * Streams the body through its decoders, counting bytes on the wire and
 * after decompression: a gzip or brotli bomb is stopped once it has
 * produced maxBytes, not after it has filled the memory.
 */
function readBody(
  response: http.IncomingMessage,
  hop: HopRequest,
): Promise<{ contentType: string | undefined; sniffed: Sniffed; bytes: Uint8Array }> {
  const contentType = response.headers['content-type'];
  const tooLarge = (what: string) =>
    new Stop('too-large', `the ${what} is larger than the limit of ${hop.maxBytes} bytes`);
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > hop.maxBytes)
    return Promise.reject(tooLarge('body (Content-Length)'));
  let stages: Transform[];
  try {
    stages = decoders(response.headers['content-encoding']);
  } catch (error) {
    return Promise.reject(error);
  }
  let wire = 0;
  const wireCounter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      wire += chunk.length;
      if (wire > hop.maxBytes) callback(tooLarge('body'));
      else callback(null, chunk);
    },
  });
  const chunks: Buffer[] = [];
  let size = 0;
  let sniffed: Sniffed | undefined;
  const decide = () => {
    sniffed = sniff(Buffer.concat(chunks).subarray(0, SNIFF_BYTES), contentType);
    if (hop.expectMedia && sniffed.kind !== 'image' && sniffed.kind !== 'video')
      throw new Stop(
        'not-media',
        `expected an image or a video, got ${describeSniffed(sniffed)}`,
        sniffed,
      );
  };
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > hop.maxBytes)
        return callback(tooLarge(stages.length > 0 ? 'decompressed body' : 'body'));
      chunks.push(chunk);
      try {
        if (sniffed === undefined && size >= SNIFF_BYTES) decide();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
  return new Promise((resolve, reject) => {
    pipeline([response, wireCounter, ...stages, sink], (error) => {
      if (error) return reject(error);
      try {
        if (sniffed === undefined) decide();
      } catch (stop) {
        return reject(stop);
      }
      const bytes = Buffer.concat(chunks);
      resolve({
        contentType,
        sniffed: sniffed as Sniffed,
        bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length),
      });
    });
  });
}

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_CHAIN_TOO_LONG',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'EPROTO',
]);

const UNREACHABLE_MESSAGES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'the server refused the connection',
  ECONNRESET: 'the server closed the connection',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  ETIMEDOUT: 'connecting timed out',
  EPIPE: 'the connection broke',
  EADDRNOTAVAIL: 'the address cannot be used from here',
};

/** Node's error for a failed exchange, as an outcome. */
export function classifyError(error: unknown, connected: boolean): HopResult & { kind: 'failure' } {
  const { code, message } = error as { code?: string; message?: string };
  const text = message ?? String(error);
  if (code !== undefined && (TLS_CODES.has(code) || /^ERR_(TLS|SSL)_/.test(code)))
    return { kind: 'failure', failure: 'tls-error', message: `TLS: ${text}`, code, connected };
  if (code !== undefined && code.startsWith('HPE_'))
    return {
      kind: 'failure',
      failure: 'bad-response',
      message: `malformed HTTP response: ${text}`,
      code,
      connected,
    };
  // zlib's Z_DATA_ERROR…, brotli's ERR__ERROR_FORMAT_… codes.
  if (
    code !== undefined &&
    (code.startsWith('Z_') || code.startsWith('ERR__') || code.includes('BROTLI'))
  )
    return {
      kind: 'failure',
      failure: 'bad-response',
      message: `the body does not decompress: ${text}`,
      code,
      connected,
    };
  const known = code === undefined ? undefined : UNREACHABLE_MESSAGES[code];
  return {
    kind: 'failure',
    failure: 'unreachable',
    message: known ?? (text === 'socket hang up' ? 'the server closed the connection' : text),
    ...(code === undefined ? {} : { code }),
    connected,
  };
}
