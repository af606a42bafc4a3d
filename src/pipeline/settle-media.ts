import type { Kysely } from 'kysely';
import { classifyByMatches } from '../classify/classify.js';
import { pdqHexToBytes } from '../hash/pdq-hash.js';
import type { Database } from '../store/database.js';
import type { PipelineDeps } from './deps.js';
import type { FetchRecord } from './media.js';
import { itemBlobKey, matchesFrom, matchQueries } from './media.js';
import type { CaseChanges, ItemChanges } from './queries.js';
import { finishItem } from './queries.js';

/**
 * The hash, match and classify stages of one media item whose bytes are in
 * hand: hash them, look the hashes up in the banks, decide, keep the bytes
 * (encrypted) if an analyst will need them, and record it all in one
 * transaction. Media a bank recognised is not kept: its hashes and the
 * match identify it, and a copy of known material adds risk and no value.
 */
export async function settleMedia(
  deps: PipelineDeps,
  db: Kysely<Database>,
  item: { readonly id: number; readonly caseId: number; readonly mediaKey: string | null },
  bytes: Uint8Array,
  fetched: FetchRecord & { readonly fetch_attempts: number },
  caseChanges?: CaseChanges,
): Promise<void> {
  const record = await deps.hash(bytes);
  const prepared = matchQueries(record, deps.settings.pdqVariants);
  const matches =
    prepared.queries.length === 0
      ? []
      : matchesFrom(prepared, deps.banks.match(prepared.queries), record.pdqQuality);
  const decision = classifyByMatches(matches);
  const now = new Date();
  let outcome: ItemChanges;
  if (decision.kind === 'classified') {
    outcome = {
      state: 'classified',
      classification: decision.classification,
      classified_by: 'bank',
      classified_at: now,
      ...(item.mediaKey === null ? {} : { media_key: null }),
    };
  } else {
    // Written before the transaction under a key of the item's own: a run
    // that dies after this writes the same blob again.
    const key = item.mediaKey ?? itemBlobKey(item.id);
    if (item.mediaKey === null) await deps.blobs.put(key, bytes);
    outcome = { state: 'queued', queued_at: now, media_key: key, media_stored_at: now };
  }
  const hex = (value: string | undefined) =>
    value === undefined ? null : Buffer.from(value, 'hex');
  const finished = await finishItem(
    db,
    item,
    {
      ...fetched,
      fetched_at: now,
      size_bytes: bytes.length,
      md5: hex(record.md5),
      sha1: hex(record.sha1),
      sha256: hex(record.sha256),
      pdq: record.pdq === undefined ? null : Buffer.from(pdqHexToBytes(record.pdq)),
      pdq_quality: record.pdqQuality ?? null,
      image_format: record.format ?? null,
      hash_error: record.error?.code ?? null,
      hash_message: record.error?.message ?? null,
      ...outcome,
    },
    matches,
    caseChanges,
  );
  // An inline medium waited in the blob store for this run; decided without
  // an analyst, it is not kept.
  if (finished && decision.kind === 'classified' && item.mediaKey !== null)
    await deps.blobs.delete(item.mediaKey);
}
