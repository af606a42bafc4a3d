import type { ContentRecord } from '../hash/file/hash-file.js';
import type { HashErrorCode } from '../hash/file/errors.js';
import type { SignalType } from '../hash/signal.js';

/**
 * The self-scan's vocabulary. A scan hashes items (files in folders, or
 * images on a website) where they are, checks only the hashes against a
 * bank (a hash-check server or a local export file), and reports matches
 * and problems per item.
 */

/** One hash sent for checking: a type and a lower-case hex value. Nothing else travels. */
export interface HashQuery {
  readonly type: SignalType;
  readonly value: string;
}

/** What the bank said about one hash: the list it is in, and how close. */
export interface BankHit {
  readonly bank: string;
  readonly category: string;
  /** 0 for exact hashes; the Hamming distance for PDQ. */
  readonly distance: number;
}

/** Something that answers "which of these hashes are in a bank?", one answer per hash, in order. */
export interface HashChecker {
  /** Most hashes one `check` call takes. */
  readonly maxBatch: number;
  /** For the report: what the hashes were checked against. */
  readonly target: CheckTarget;
  check(queries: readonly HashQuery[], signal?: AbortSignal): Promise<readonly BankHit[][]>;
}

export type CheckTarget =
  | { readonly kind: 'server'; readonly url: string }
  | { readonly kind: 'bank-file'; readonly path: string; readonly entries: number };

/** Where an item was found: a file, or an image URL and the page that showed it. */
export type ItemLocation =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'url'; readonly url: string; readonly page?: string };

/** One hashed (or failed) item, as the scan carries it from hashing to checking. */
export interface ScannedItem {
  readonly location: ItemLocation;
  readonly record: ContentRecord;
  /** Where the record came from: hashed in this run, or taken from the state file. */
  readonly origin: 'hashed' | 'resumed';
}

/** A bank hit tied to the hash of ours that produced it. */
export interface ItemMatch extends BankHit {
  readonly type: SignalType;
}

/** Problems of a site scan, beside the hashing problems every item can have. */
export type SiteProblemCode =
  | 'http-error'
  | 'http-not-found'
  | 'fetch-failed'
  | 'blocked-address'
  | 'too-large'
  | 'off-site-redirect'
  | 'page-failed';

export type ProblemCode = HashErrorCode | SiteProblemCode;

/** Why an item could not be checked (fully): a code and a sentence. */
export interface ItemProblem {
  readonly code: ProblemCode;
  readonly message: string;
}

/** How a per-item problem counts: `error` when content could not be checked fully, `skipped` when there was none to check. */
export type ProblemKind = 'error' | 'skipped';

/** One line of the report: a match, or an item with a problem. */
export type ReportRow =
  | {
      readonly status: 'match';
      readonly location: ItemLocation;
      readonly record: ContentRecord;
      readonly match: ItemMatch;
    }
  | {
      readonly status: ProblemKind;
      readonly location: ItemLocation;
      readonly record: ContentRecord;
      readonly error: ItemProblem;
    };

/** Exact hashes only (no decoding), or exact hashes plus PDQ for images. */
export type ScanMode = 'exact-only' | 'pdq';
