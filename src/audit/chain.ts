import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import type { AuditEntryRow } from './tables.js';

/**
 * The hash chain, as pure functions: how an entry's hash is computed and how
 * one link is checked. Both the writer (record.ts) and `takedown audit
 * verify` (verify.ts) use these, so they cannot disagree.
 *
 *   hash(n) = SHA-256( hash(n-1) + "\n" + canonicalJson(content(n)) )   (hex)
 *
 * with hash(0) = 64 zeros. content(n) is every column except the two hashes.
 */

export const GENESIS_HASH = '0'.repeat(64);

/** Everything an entry says, i.e. what its hash covers. */
export type AuditContent = Omit<AuditEntryRow, 'prev_hash' | 'hash'>;

/** The hashed form of an entry's content: fixed field names, the time as ISO 8601 with milliseconds. */
function hashedFields(content: AuditContent): Record<string, unknown> {
  return {
    seq: content.seq,
    at: content.at.toISOString(),
    actor_kind: content.actor_kind,
    actor_id: content.actor_id,
    actor_label: content.actor_label,
    actor_role: content.actor_role,
    actor_provider_id: content.actor_provider_id,
    ip: content.ip,
    user_agent: content.user_agent,
    request_id: content.request_id,
    action: content.action,
    object_type: content.object_type,
    object_id: content.object_id,
    outcome: content.outcome,
    details: content.details,
  };
}

export function entryHash(prevHash: string, content: AuditContent): string {
  return createHash('sha256')
    .update(`${prevHash}\n${canonicalJson(hashedFields(content))}`)
    .digest('hex');
}

/** Where the walk stands: the last entry checked (seq 0 and the genesis hash before the first). */
export interface ChainPosition {
  readonly seq: number;
  readonly hash: string;
}

export const CHAIN_START: ChainPosition = Object.freeze({ seq: 0, hash: GENESIS_HASH });

export type LinkCheck =
  | { readonly kind: 'ok'; readonly position: ChainPosition }
  | { readonly kind: 'broken'; readonly seq: number; readonly reason: string };

/** Checks that `entry` follows `previous` and that its stored hash matches its content. */
export function checkLink(previous: ChainPosition, entry: AuditEntryRow): LinkCheck {
  if (entry.seq !== previous.seq + 1) {
    return {
      kind: 'broken',
      seq: entry.seq,
      reason:
        entry.seq > previous.seq + 1
          ? `entries ${previous.seq + 1} to ${entry.seq - 1} are missing (deleted?)`
          : `its sequence number repeats or goes backwards after entry ${previous.seq}`,
    };
  }
  if (entry.prev_hash !== previous.hash) {
    return {
      kind: 'broken',
      seq: entry.seq,
      reason: `it does not name entry ${previous.seq}'s hash as its predecessor (entry ${previous.seq} or this one was changed)`,
    };
  }
  const expected = entryHash(previous.hash, entry);
  if (entry.hash !== expected) {
    return {
      kind: 'broken',
      seq: entry.seq,
      reason: 'its content does not match its hash (the entry was changed after it was written)',
    };
  }
  return { kind: 'ok', position: { seq: entry.seq, hash: entry.hash } };
}
