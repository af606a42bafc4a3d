import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/database.js';

export function performEffect(
  db: Kysely<Database>,
  payload: { n: number },
  job: { attempt: number },
  by: string,
): Promise<void>;
