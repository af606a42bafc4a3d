import { InvalidArgumentError } from 'commander';
import type { Kysely } from 'kysely';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import type { Database } from '../../store/database.js';
import { openDatabase } from '../../store/index.js';

/**
 * Runs a command's work with the database open, and closes it after. On the
 * embedded database a running server shares it: the command goes through
 * the server, never meeting a lock.
 */
export async function withDatabase<T>(work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openDatabase(config, { logger: createLogger(config.logLevel) });
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

/** Commander option parser: a whole number of at least 1. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('must be a whole number of at least 1.');
  }
  return n;
}

/** Dates in lists: the day and minute, in UTC. */
export function shortDate(date: Date | null): string {
  return date === null ? '' : `${date.toISOString().slice(0, 16).replace('T', ' ')}Z`;
}
