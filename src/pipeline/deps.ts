import type { BankHit, MatchQuery } from '../check/bank-matcher.js';
import type { Rule } from '../classify/rules.js';
import type { Config } from '../config.js';
import type { Fetcher } from '../fetch/index.js';
import type { ContentRecord } from '../hash/file/hash-file.js';
import type { BlobStore } from '../store/blob-store.js';

/**
 * What the pipeline's jobs need from outside, made once per process
 * (src/pipeline/service.ts) and handed to the job definitions, so that
 * tests can give a fetcher with their own resolver, a matcher of their own
 * or a blob store in memory.
 */

/** The slice of the bank matcher the pipeline uses. */
export interface BankLookup {
  match(queries: readonly MatchQuery[]): BankHit[][];
}

/** Hashes fetched bytes: exact hashes always, PDQ for images (with variants when asked). */
export type MediaHasher = (bytes: Uint8Array) => Promise<ContentRecord>;

export type PipelineSettings = Pick<
  Config,
  'fetchRetries' | 'fetchRetryDelayMs' | 'fetchTimeoutMs' | 'pdqVariants' | 'mediaRetentionDays'
>;

/** The live domain rules that may apply to a host (src/classify/rule-cache.ts). */
export interface RuleSource {
  rulesFor(host: string): Promise<Rule[]>;
}

export interface PipelineDeps {
  readonly fetcher: Fetcher;
  readonly rules: RuleSource;
  readonly blobs: BlobStore;
  readonly banks: BankLookup;
  readonly hash: MediaHasher;
  readonly settings: PipelineSettings;
}

/** Retries of a passing fetch failure: the job's own retry policy does the waiting. */
export function fetchRetryPolicy(settings: PipelineSettings) {
  return {
    maxAttempts: settings.fetchRetries + 1,
    baseDelayMs: settings.fetchRetryDelayMs,
  };
}

/** Long enough for a fetch that uses its whole time budget, plus hashing and the writes. */
export function stageTimeoutMs(settings: PipelineSettings): number {
  return settings.fetchTimeoutMs * 2 + 60_000;
}
