/**
 * Fetching attacker-chosen URLs safely, and finding the media in a page.
 * See DEVELOPERS.md "Fetching untrusted URLs".
 */
export { createFetcher, fetcherOptionsFromConfig } from './fetcher.js';
export type { Fetcher, FetcherOptions, FetchOptions } from './fetcher.js';
export type { FailureKind, FetchFailure, FetchOk, FetchOutcome } from './outcome.js';
export { isTransientFailure } from './outcome.js';
export { ResolveError, staticResolver, systemResolver } from './resolver.js';
export type { ResolvedAddress, Resolver } from './resolver.js';
export { describeSniffed, sniff } from './sniff.js';
export type { ImageFormat, Sniffed, VideoFormat } from './sniff.js';
export { AddressPolicy } from './ssrf-guard.js';
export type { AddressVerdict } from './ssrf-guard.js';
export { decodeHtml, extractMedia } from './extract-media.js';
export type {
  ExtractedMedia,
  ExtractOptions,
  InlineMedia,
  MediaHint,
  MediaLink,
  MediaVia,
} from './extract-media.js';
