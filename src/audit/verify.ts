import type { Kysely } from 'kysely';
import type { Database } from '../store/database.js';
import { CHAIN_START, checkLink } from './chain.js';
import type { ChainPosition } from './chain.js';

/**
 * `takedown audit verify`: walks the whole chain in order, recomputing every
 * hash, and stops at the first entry that does not check out. It also holds
 * the last entry against the chain head, so entries cut off the end are
 * noticed too.
 *
 * What this proves: nobody changed, removed or reordered entries without
 * also rewriting every hash after them and the head. To catch that as well,
 * keep the head hash it prints somewhere the database's owner cannot write
 * (a ticket, a signed e-mail, a second system): a later run must extend it.
 */

export type VerifyResult =
  | { readonly kind: 'intact'; readonly entries: number; readonly head: ChainPosition }
  | {
      readonly kind: 'broken';
      /** Entries that checked out before the break. */
      readonly entries: number;
      /** The first entry that fails, or the head's seq when the end was cut off. */
      readonly seq: number;
      readonly reason: string;
    };

export async function verifyAuditChain(
  db: Kysely<Database>,
  options: { pageSize?: number; onProgress?: (checked: number) => void } = {},
): Promise<VerifyResult> {
  const pageSize = options.pageSize ?? 2000;
  // Read the head first: entries appended while we walk only extend past it.
  const head = await db
    .selectFrom('audit_chain_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .executeTakeFirstOrThrow();
  let position: ChainPosition = CHAIN_START;
  for (;;) {
    const page = await db
      .selectFrom('audit_entry')
      .selectAll()
      .where('seq', '>', position.seq)
      .where('seq', '<=', head.seq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const entry of page) {
      const link = checkLink(position, entry);
      if (link.kind === 'broken') {
        return { kind: 'broken', entries: position.seq, seq: link.seq, reason: link.reason };
      }
      position = link.position;
    }
    options.onProgress?.(position.seq);
    if (page.length < pageSize) break;
  }
  if (position.seq !== head.seq) {
    return {
      kind: 'broken',
      entries: position.seq,
      seq: position.seq + 1,
      reason: `the chain head says ${head.seq} entries were written, but only ${position.seq} are there (entries at the end were deleted)`,
    };
  }
  if (position.hash !== head.hash) {
    return {
      kind: 'broken',
      entries: position.seq,
      seq: position.seq,
      reason:
        "the chain head does not record this entry's hash (the head or the entry was changed)",
    };
  }
  return { kind: 'intact', entries: position.seq, head: position };
}
