import type { Migration } from 'kysely';
import * as m0001 from './0001-settings.js';
import * as m0002 from './0002-accounts.js';
import * as m0003 from './0003-audit.js';
import * as m0004 from './0004-jobs.js';
import * as m0005 from './0005-banks.js';
import * as m0006 from './0006-providers.js';
import * as m0007 from './0007-check-matches.js';
import * as m0008 from './0008-user-provider.js';
import * as m0009 from './0009-reports.js';
import * as m0010 from './0010-assessments.js';

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
  '0002-accounts': m0002,
  '0003-audit': m0003,
  '0004-jobs': m0004,
  '0005-banks': m0005,
  '0006-providers': m0006,
  '0007-check-matches': m0007,
  '0008-user-provider': m0008,
  '0009-reports': m0009,
  '0010-assessments': m0010,
});
