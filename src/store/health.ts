import type { Kysely } from 'kysely';
import { migrationStatus } from './migrate.js';

export type DatabaseHealth =
  { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Reachable and fully migrated: what /readyz asks of the database. */
export async function checkDatabase(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>,
): Promise<DatabaseHealth> {
  let status;
  try {
    status = await migrationStatus(db);
  } catch (error) {
    return {
      ok: false,
      reason: `unreachable: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (status.pending.length > 0) {
    return { ok: false, reason: `migrations pending: ${status.pending.join(', ')}` };
  }
  if (status.unknown.length > 0) {
    return { ok: false, reason: `migrated by a newer version: ${status.unknown.join(', ')}` };
  }
  return { ok: true };
}
