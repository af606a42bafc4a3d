import type { Sniffed } from './sniff.js';

/**
 * Every way a fetch ends, as a value: the pipeline records it on the item
 * ("404", "refused: loopback address", "timed out") and moves on. A fetch
 * never throws for anything the remote side or the URL does.
 */
export type FetchOutcome = FetchOk | FetchFailure;

export interface FetchOk {
  readonly kind: 'ok';
  /** The URL asked for. */
  readonly url: string;
  /** Where the body came from, after redirects. */
  readonly finalUrl: string;
  /** Every URL redirected to, in order (finalUrl last); empty without redirects. */
  readonly redirects: readonly string[];
  readonly status: number;
  /** The server's Content-Type header, for the record only: `sniffed` says what it is. */
  readonly contentType: string | undefined;
  readonly sniffed: Sniffed;
  /** The body, decompressed. */
  readonly bytes: Uint8Array;
  /** The IP address the body came from (for attribution: IP -> network -> hoster). */
  readonly address: string;
  readonly elapsedMs: number;
}

export type FailureKind =
  /** Not an http(s) URL, or a redirect to one that is not. */
  | 'invalid-url'
  /** The name resolves only to addresses we refuse (private, loopback, metadata…). */
  | 'blocked-address'
  /** DNS has no such name, or no connection could be made, or it broke. */
  | 'unreachable'
  | 'timeout'
  | 'tls-error'
  /** 404 or 410. */
  | 'not-found'
  /** Any other status that is not 2xx (or a 3xx without Location). */
  | 'http-error'
  /** Over the byte limit, on the wire or decompressed. */
  | 'too-large'
  | 'too-many-redirects'
  /** Asked for media (expect: 'media') and got something else. */
  | 'not-media'
  /** Malformed HTTP, an unknown or broken content encoding. */
  | 'bad-response'
  /** The caller's signal aborted the fetch. */
  | 'aborted';

export interface FetchFailure {
  readonly kind: FailureKind;
  /** One sentence for the item's record and the analyst. */
  readonly message: string;
  readonly url: string;
  /** The URL of the hop that failed (the last redirect target, or `url`). */
  readonly failedUrl: string;
  readonly redirects: readonly string[];
  readonly status?: number;
  readonly address?: string;
  /** A system or TLS error code (ECONNREFUSED, CERT_HAS_EXPIRED…), when there was one. */
  readonly code?: string;
  /** not-media: what it was instead. */
  readonly sniffed?: Sniffed;
  readonly elapsedMs: number;
}

/** True for outcomes worth trying again later (the site may come back). */
export function isTransientFailure(outcome: FetchOutcome): boolean {
  return (
    outcome.kind === 'unreachable' ||
    outcome.kind === 'timeout' ||
    (outcome.kind === 'http-error' &&
      outcome.status !== undefined &&
      (outcome.status >= 500 || outcome.status === 429 || outcome.status === 408))
  );
}
