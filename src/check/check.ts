import { TakedownError } from '../errors.js';
import { canonicalPdqHexToWords, pdqHexToWords } from '../hash/pdq-hash.js';
import { PDQ_MIN_RELIABLE_QUALITY } from '../hash/pdq.js';
import type { SignalType } from '../hash/signal.js';
import { isTakedownError } from '../errors.js';
import { SIGNAL_HEX_LENGTH, normalizeSignalValue } from '../hash/signal.js';
import type { BankHit, BankMatcher, MatchQuery, PdqBatchSearch } from './bank-matcher.js';
import type { MatchRecord } from './match-recorder.js';

/**
 * The hash-check decisions, free of HTTP: validate what was sent, look it up,
 * shape the answer, and say which matches to record. Hashes that match
 * nothing leave no trace: they are neither recorded nor logged.
 */

/** Most hashes one request may check. */
export const MAX_HASHES_PER_REQUEST = 10_000;

export interface HashToCheck {
  readonly type: SignalType;
  readonly value: string;
  /** PDQ quality, when the caller computed it (0-100). */
  readonly quality?: number;
}

/** A hash ready to look up: normalized, and for PDQ its words (one per variant). */
export interface PreparedHash {
  readonly type: SignalType;
  readonly value: string;
  readonly quality?: number;
  readonly query: MatchQuery;
}

export interface CheckMatch {
  readonly bank: string;
  readonly category: string;
  readonly distance: number;
}

export interface CheckResult {
  readonly type: SignalType;
  readonly value: string;
  /** PDQ only, when known: the hash's quality, and whether it is high enough to trust. */
  readonly quality?: number;
  readonly reliable?: boolean;
  readonly matches: CheckMatch[];
}

/**
 * Validates every hash; throws `invalid-hash` (400) naming each bad one by
 * its index, or `too-many-hashes` (413) for an oversized batch.
 */
export function prepareHashes(hashes: readonly HashToCheck[]): PreparedHash[] {
  if (hashes.length > MAX_HASHES_PER_REQUEST) {
    throw new TakedownError(
      'too-many-hashes',
      `A request may check at most ${MAX_HASHES_PER_REQUEST.toLocaleString('en')} hashes; this one has ${hashes.length.toLocaleString('en')}. Split it into batches.`,
      { kind: 'too-large', details: { limit: MAX_HASHES_PER_REQUEST, got: hashes.length } },
    );
  }
  const prepared: PreparedHash[] = new Array(hashes.length);
  const issues: Array<{ index: number; reason: string }> = [];
  for (let index = 0; index < hashes.length; index++) {
    const hash = hashes[index];
    const { type } = hash;
    // Most callers send canonical hex already: that needs no copy, and its words no second check.
    if (isCanonicalHex(hash.value, SIGNAL_HEX_LENGTH[type])) {
      const value = hash.value;
      const query: MatchQuery =
        type === 'pdq' ? { type, words: [canonicalPdqHexToWords(value)] } : { type, value };
      prepared[index] = { type, value, quality: hash.quality, query };
      continue;
    }
    try {
      const value = normalizeSignalValue(type, hash.value);
      const query: MatchQuery =
        type === 'pdq' ? { type: 'pdq', words: [pdqHexToWords(value)] } : { type, value };
      prepared[index] = { type, value, quality: hash.quality, query };
    } catch (error) {
      if (!isTakedownError(error)) throw error;
      issues.push({ index, reason: error.message.replace(/\.$/, '') });
    }
  }
  if (issues.length > 0) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more; see details)` : '';
    throw new TakedownError('invalid-hash', `hashes[${first.index}]: ${first.reason}${more}`, {
      details: { issues: issues.slice(0, 100), invalid: issues.length },
    });
  }
  return prepared;
}

/** `length` digits 0-9a-f: what `normalizeSignalValue` would return unchanged. */
function isCanonicalHex(value: string, length: number): boolean {
  if (value.length !== length) return false;
  for (let i = 0; i < length; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Who asked, for the match records. */
export interface Asker {
  readonly principal: string;
  readonly keyId: number | null;
  readonly providerId: number | null;
}

export interface CheckOutcome {
  readonly results: CheckResult[];
  /** The matches to record (one per hash and bank). */
  readonly records: MatchRecord[];
  readonly matched: number;
}

export interface CheckOptions {
  readonly threshold?: number;
  readonly asker: Asker;
  readonly via: MatchRecord['via'];
  readonly now: Date;
}

/** Looks every hash up; results in the order given. `threshold` overrides each bank's PDQ threshold. */
export function checkHashes(
  matcher: BankMatcher,
  hashes: readonly PreparedHash[],
  options: CheckOptions,
): CheckOutcome {
  const hits = matcher.match(
    hashes.map((h) => h.query),
    options.threshold,
  );
  return outcomeOf(hashes, hits, options);
}

/** `checkHashes` with the PDQ searches done by `search` (worker threads, for large batches). */
export async function checkHashesWith(
  matcher: BankMatcher,
  hashes: readonly PreparedHash[],
  options: CheckOptions,
  search: PdqBatchSearch,
): Promise<CheckOutcome> {
  const hits = await matcher.matchWith(
    hashes.map((h) => h.query),
    options.threshold,
    search,
  );
  return outcomeOf(hashes, hits, options);
}

function outcomeOf(
  hashes: readonly PreparedHash[],
  hits: readonly BankHit[][],
  options: CheckOptions,
): CheckOutcome {
  const records: MatchRecord[] = [];
  let matched = 0;
  const results = hashes.map((hash, i): CheckResult => {
    const found = hits[i];
    if (found.length > 0) {
      matched++;
      for (const hit of found) records.push(record(hash, hit, options));
    }
    const matches = found.map((hit) => ({
      bank: hit.bank.name,
      category: hit.bank.category,
      distance: hit.distance,
    }));
    if (hash.type === 'pdq' && hash.quality !== undefined) {
      return {
        type: hash.type,
        value: hash.value,
        quality: hash.quality,
        reliable: hash.quality >= PDQ_MIN_RELIABLE_QUALITY,
        matches,
      };
    }
    return { type: hash.type, value: hash.value, matches };
  });
  return { results, records, matched };
}

function record(
  hash: PreparedHash,
  hit: BankHit,
  options: { readonly asker: Asker; readonly via: MatchRecord['via']; readonly now: Date },
): MatchRecord {
  return {
    checkedAt: options.now,
    principal: options.asker.principal,
    keyId: options.asker.keyId,
    providerId: options.asker.providerId,
    via: options.via,
    type: hash.type,
    value: hash.value,
    bankId: hit.bank.id,
    entryId: hit.entryId,
    distance: hit.distance,
  };
}
