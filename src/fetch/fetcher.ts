import { isIP } from 'node:net';
import type { Config } from '../config.js';
import { HostLimiter } from './host-limiter.js';
import { HopAbort, requestHop } from './http-hop.js';
import type { HopResult } from './http-hop.js';
import type { FailureKind, FetchFailure, FetchOutcome } from './outcome.js';
import { ResolveError, systemResolver } from './resolver.js';
import type { ResolvedAddress, Resolver } from './resolver.js';
import { AddressPolicy } from './ssrf-guard.js';

/**
 * A hardened client for URLs that strangers chose. Per hop (the URL, then
 * each redirect target): resolve the name, check every address against the
 * SSRF guard, connect to a checked one only, within the byte, time and
 * redirect limits; every ending is a FetchOutcome value.
 */

export interface FetcherOptions {
  /** CIDR ranges that may be reached although special (TAKEDOWN_FETCH_ALLOW; tests only). */
  readonly allow?: readonly string[];
  readonly maxBytes: number;
  /** Total network time of one fetch, redirects included (waiting for a per-host slot is not counted). */
  readonly timeoutMs: number;
  /** Longest silence from the server, connecting included. */
  readonly idleTimeoutMs: number;
  readonly maxRedirects: number;
  readonly perHost: number;
  readonly userAgent: string;
  /** Default: the system's DNS servers (systemResolver). */
  readonly resolver?: Resolver;
  /** Default: performance.now. */
  readonly now?: () => number;
}

export interface FetchOptions {
  /** 'media': anything but an image or a video is a not-media outcome, found from the first bytes. */
  readonly expect?: 'any' | 'media';
  /** A lower byte limit for this fetch (e.g. for pages). */
  readonly maxBytes?: number;
  /** Cancels the fetch (e.g. a job's helpers.signal): outcome 'aborted'. */
  readonly signal?: AbortSignal;
}

export interface Fetcher {
  fetch(url: string, options?: FetchOptions): Promise<FetchOutcome>;
  /** Requests in flight to a host from this fetcher (for tests and metrics). */
  inFlight(host: string): number;
}

/** The fetcher's settings from the configuration. */
export function fetcherOptionsFromConfig(config: Config): FetcherOptions {
  return {
    allow: config.fetchAllow,
    maxBytes: config.fetchMaxBytes,
    timeoutMs: config.fetchTimeoutMs,
    idleTimeoutMs: config.fetchIdleTimeoutMs,
    maxRedirects: config.fetchMaxRedirects,
    perHost: config.fetchPerHost,
    userAgent: config.fetchUserAgent,
  };
}

/** Addresses tried per hop when connecting fails (several A/AAAA records). */
const MAX_ADDRESSES = 3;

export function createFetcher(options: FetcherOptions): Fetcher {
  const policy = new AddressPolicy(options.allow);
  const limiter = new HostLimiter(options.perHost);
  const resolver = options.resolver ?? systemResolver({ timeoutMs: options.idleTimeoutMs });
  const now = options.now ?? (() => performance.now());

  async function fetchUrl(input: string, fetchOptions: FetchOptions = {}): Promise<FetchOutcome> {
    const started = now();
    const redirects: string[] = [];
    let spent = 0;
    let url: URL | undefined = parseHttpUrl(input);
    const failure = (
      kind: FailureKind,
      message: string,
      extra: Partial<FetchFailure> = {},
    ): FetchFailure => ({
      kind,
      message,
      url: input,
      failedUrl: url?.href ?? input,
      redirects: [...redirects],
      elapsedMs: Math.round(now() - started),
      ...extra,
    });
    if (url === undefined) return failure('invalid-url', `"${input}" is not an http or https URL`);

    /** Runs `work` with what is left of the time budget; the time it takes is spent. */
    const budgeted = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
      const from = now();
      const controller = new AbortController();
      const timer = setTimeout(
        () =>
          controller.abort(
            new HopAbort('timeout', `the fetch took longer than ${options.timeoutMs} ms`),
          ),
        Math.max(0, options.timeoutMs - spent),
      );
      const cancel = () => controller.abort(new HopAbort('aborted', 'the fetch was cancelled'));
      fetchOptions.signal?.addEventListener('abort', cancel, { once: true });
      if (fetchOptions.signal?.aborted) cancel();
      try {
        return await work(controller.signal);
      } finally {
        clearTimeout(timer);
        fetchOptions.signal?.removeEventListener('abort', cancel);
        spent += now() - from;
      }
    };

    for (;;) {
      const host = url.hostname.replace(/^\[|\]$/g, '');
      // 1. Resolve and check. No connection is made to an address that failed.
      let addresses: ResolvedAddress[];
      try {
        addresses =
          isIP(host) !== 0
            ? [{ address: host, family: isIP(host) as 4 | 6 }]
            : await budgeted((signal) => resolver(host, signal));
      } catch (error) {
        if (error instanceof HopAbort) return failure(error.failure, error.message);
        if (error instanceof ResolveError)
          return failure('unreachable', error.message, { code: error.code });
        return failure('unreachable', `looking up ${host} failed: ${String(error)}`);
      }
      if (spent >= options.timeoutMs)
        return failure('timeout', `the fetch took longer than ${options.timeoutMs} ms`);
      const verdicts = addresses.map((a) => ({ ...a, verdict: policy.check(a.address) }));
      const usable = verdicts
        .filter((v) => v.verdict.kind !== 'blocked')
        .sort((a, b) => a.family - b.family)
        .slice(0, MAX_ADDRESSES);
      if (usable.length === 0) {
        const why = verdicts.map(
          (v) => `${v.verdict.address} (${v.verdict.kind === 'blocked' ? v.verdict.reason : ''})`,
        );
        return failure(
          'blocked-address',
          `${host} ${isIP(host) !== 0 ? 'is' : 'resolves only to'} an address that may not be fetched: ${why.join(', ')}`,
          { address: verdicts[0]?.verdict.address },
        );
      }

      // 2. One exchange, trying the next address when no connection could be made.
      let release: () => void;
      try {
        release = await limiter.acquire(host, fetchOptions.signal);
      } catch {
        return failure('aborted', 'the fetch was cancelled');
      }
      let result: HopResult;
      let address = usable[0].address;
      try {
        result = await budgeted(async (signal) => {
          let last: HopResult | undefined;
          for (const candidate of usable) {
            address = candidate.verdict.address;
            last = await requestHop({
              url: url as URL,
              address: { address: candidate.verdict.address, family: candidate.family },
              userAgent: options.userAgent,
              maxBytes: Math.min(fetchOptions.maxBytes ?? options.maxBytes, options.maxBytes),
              idleTimeoutMs: options.idleTimeoutMs,
              expectMedia: fetchOptions.expect === 'media',
              signal,
            });
            if (!(last.kind === 'failure' && last.failure === 'unreachable' && !last.connected))
              break;
          }
          return last as HopResult;
        });
      } finally {
        release();
      }

      // 3. Follow, finish or fail.
      if (result.kind === 'redirect') {
        if (redirects.length >= options.maxRedirects)
          return failure('too-many-redirects', `more than ${options.maxRedirects} redirects`, {
            status: result.status,
            address,
          });
        const next = parseHttpUrl(result.location, url);
        if (next === undefined)
          return failure(
            'invalid-url',
            `redirect to "${result.location}", which is not an http or https URL`,
            { status: result.status, address },
          );
        redirects.push(next.href);
        url = next;
        continue;
      }
      if (result.kind === 'status') {
        return result.status === 404 || result.status === 410
          ? failure('not-found', `HTTP ${result.status}: the page is gone`, {
              status: result.status,
              address,
            })
          : failure('http-error', `HTTP ${result.status}`, { status: result.status, address });
      }
      if (result.kind === 'failure') {
        const { failure: kind, message, code, status, sniffed } = result;
        return failure(kind, message, {
          address,
          ...(code === undefined ? {} : { code }),
          ...(status === undefined ? {} : { status }),
          ...(sniffed === undefined ? {} : { sniffed }),
        });
      }
      return {
        kind: 'ok',
        url: input,
        finalUrl: url.href,
        redirects,
        status: result.status,
        contentType: result.contentType,
        sniffed: result.sniffed,
        bytes: result.bytes,
        address,
        elapsedMs: Math.round(now() - started),
      };
    }
  }

  return {
    fetch: fetchUrl,
    inFlight: (host) => limiter.active(host),
  };
}

/** An absolute http(s) URL without its fragment, or undefined. */
function parseHttpUrl(text: string, base?: URL): URL | undefined {
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  url.hash = '';
  return url;
}
