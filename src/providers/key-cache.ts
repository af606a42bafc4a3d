import type { Kysely } from 'kysely';
import type { Role } from '../access/principal.js';
import type { Change } from '../changes/changes.js';
import type { Database } from '../store/database.js';
import { hashKey, keyPrefix, looksLikeKey, sameHash } from './keys.js';
import { keyByPrefix } from './queries.js';

/** What a presented key turned out to be. */
export type KeyLookup =
  | { readonly kind: 'valid'; readonly key: ActiveKey }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'revoked'; readonly revokedAt: Date };

export interface ActiveKey {
  readonly id: number;
  readonly providerId: number;
  readonly role: Role;
  readonly hashesPerSecond: number | null;
  readonly imagesPerSecond: number | null;
}

export interface KeyCacheOptions {
  /** How long an answer is reused while revocations arrive through the change log. */
  readonly followedTtlMs?: number;
  /** ... and while they do not (no change feed in this process). */
  readonly unfollowedTtlMs?: number;
  /** Unknown keys are remembered this long, so guessing costs no query per attempt. */
  readonly unknownTtlMs?: number;
  readonly maxEntries?: number;
  readonly now?: () => number;
}

interface Cached {
  readonly lookup: KeyLookup;
  readonly expires: number;
}

/**
 * Key lookups with a short memory: at 10,000 checks a second a query per
 * request would be the bottleneck. Revocation is immediate for processes
 * that follow the change log (`follow`), which drops the key at once;
 * others rely on the short TTL.
 */
export class KeyCache {
  readonly #db: Kysely<Database>;
  readonly #options: Required<Omit<KeyCacheOptions, 'now'>> & { now: () => number };
  /** SHA-256 of the presented key (binary string) -> answer. Raw keys are not kept. */
  readonly #entries = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<KeyLookup>>();
  /** Valid keys seen lately, by id: their rate limits, without another lookup. */
  readonly #active = new Map<number, ActiveKey>();
  #followed = false;

  constructor(db: Kysely<Database>, options: KeyCacheOptions = {}) {
    this.#db = db;
    this.#options = {
      followedTtlMs: options.followedTtlMs ?? 60_000,
      unfollowedTtlMs: options.unfollowedTtlMs ?? 2_000,
      unknownTtlMs: options.unknownTtlMs ?? 5_000,
      maxEntries: options.maxEntries ?? 10_000,
      now: options.now ?? Date.now,
    };
  }

  /** From now on, revocations arrive as changes: answers may be kept longer. */
  followChanges(): (changes: readonly Change[]) => void {
    this.#followed = true;
    return (changes) => {
      for (const change of changes) {
        if (change.kind === 'key-revoked' && change.keyId !== null) this.forget(change.keyId);
      }
    };
  }

  async resolve(token: string): Promise<KeyLookup> {
    if (!looksLikeKey(token)) return { kind: 'unknown' };
    const hash = hashKey(token);
    const id = hash.toString('latin1');
    const now = this.#options.now();
    const cached = this.#entries.get(id);
    if (cached !== undefined && cached.expires > now) return cached.lookup;
    let pending = this.#inFlight.get(id);
    if (pending === undefined) {
      pending = this.#fetch(token, hash).finally(() => this.#inFlight.delete(id));
      this.#inFlight.set(id, pending);
    }
    const lookup = await pending;
    this.#remember(id, lookup, now);
    return lookup;
  }

  /** A valid key resolved lately (its limits), or undefined. */
  activeKey(keyId: number): ActiveKey | undefined {
    return this.#active.get(keyId);
  }

  /** Drops every answer about this key (it was revoked). */
  forget(keyId: number): void {
    this.#active.delete(keyId);
    for (const [id, cached] of this.#entries) {
      if (cached.lookup.kind === 'valid' && cached.lookup.key.id === keyId)
        this.#entries.delete(id);
    }
  }

  async #fetch(token: string, hash: Buffer): Promise<KeyLookup> {
    const stored = await keyByPrefix(this.#db, keyPrefix(token));
    if (stored === undefined || !sameHash(stored.secretHash, hash)) return { kind: 'unknown' };
    if (stored.revokedAt !== null) return { kind: 'revoked', revokedAt: stored.revokedAt };
    return {
      kind: 'valid',
      key: {
        id: stored.id,
        providerId: stored.providerId,
        role: stored.role,
        hashesPerSecond: stored.hashesPerSecond,
        imagesPerSecond: stored.imagesPerSecond,
      },
    };
  }

  #remember(id: string, lookup: KeyLookup, now: number): void {
    const o = this.#options;
    const ttl =
      lookup.kind === 'unknown'
        ? o.unknownTtlMs
        : this.#followed
          ? o.followedTtlMs
          : o.unfollowedTtlMs;
    // Bounded: someone trying random keys must not grow this for ever.
    if (this.#entries.size >= o.maxEntries) this.#evict(now);
    this.#entries.set(id, { lookup, expires: now + ttl });
    if (lookup.kind === 'valid') this.#active.set(lookup.key.id, lookup.key);
  }

  #evict(now: number): void {
    for (const [id, cached] of this.#entries) if (cached.expires <= now) this.#entries.delete(id);
    if (this.#entries.size >= this.#options.maxEntries) this.#entries.clear();
    if (this.#active.size >= this.#options.maxEntries) this.#active.clear();
  }
}

const caches = new WeakMap<Kysely<Database>, KeyCache>();

/**
 * The key cache of a database handle: one per process in practice, shared by
 * the authenticator and whatever follows the change log for it.
 */
export function keyCacheFor(db: Kysely<Database>): KeyCache {
  let cache = caches.get(db);
  if (cache === undefined) caches.set(db, (cache = new KeyCache(db)));
  return cache;
}
