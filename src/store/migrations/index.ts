import type { Migration } from 'kysely';
import * as m0001 from './0001-settings.js';
import * as m0004 from './0004-jobs.js';

/**
 * Every migration, by name, in the order they apply (names sort). Listed
 * statically rather than read from the folder so that the compiled `dist/`
 * and the bundled CLI carry them without touching the file system.
 *
 * To add one: create `NNNN-what-it-does.ts` with `up` (and `down` when it can be
 * undone) and add one line here. Never edit or rename a migration that has been
 * released: write a new one.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-settings': m0001,
  '0004-jobs': m0004,
});
