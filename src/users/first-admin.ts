import type { Kysely } from 'kysely';
import type { Logger } from '../log.js';
import type { Database } from '../store/database.js';
import { hasAdmin } from './accounts.js';

/** What a fresh installation says until someone can administer it. */
export const FIRST_ADMIN_HINT =
  'No administrator account exists yet. Create the first one on this machine with:\n' +
  '    takedown user add <email> --role admin\n' +
  'It prints a one-time password; sign in with it to set up two-factor sign-in and your own password.';

/**
 * Tells the operator of a fresh installation how to get in (on standard
 * output and in the log). The server stays ready meanwhile: public routes
 * and health probes work without any account.
 */
export async function announceFirstAdmin(db: Kysely<Database>, logger: Logger): Promise<boolean> {
  if (await hasAdmin(db)) return false;
  logger.warn('no administrator account exists yet; run `takedown user add <email> --role admin`');
  process.stdout.write(`${FIRST_ADMIN_HINT}\n`);
  return true;
}
