import { PGlite } from '@electric-sql/pglite';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { TakedownError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { durableStartParams, enableFsync } from './durability.js';

/**
 * Opens the embedded database in `dir`, creating it on first use. The caller
 * must own the data folder (owner-lock.ts).
 *
 * A new database is initialised in a sibling folder and renamed into place
 * when complete, so a crash during the first start (initdb takes seconds)
 * leaves no half-made database that later starts would trip over.
 */
export async function openPgliteDir(dir: string, logger: Logger): Promise<PGlite> {
  await removeInterruptedInits(dir);
  if (!existsSync(path.join(dir, 'PG_VERSION'))) await initialise(dir, logger);
  const pglite = await PGlite.create({ dataDir: dir, startParams: durableStartParams() });
  try {
    if (enableFsync(pglite)) {
      // Commits made before the hook existed (initdb, a previous run) reach the disk now.
      await pglite.exec('CHECKPOINT');
    } else {
      logger.warn(
        'this PGlite version offers no fsync hook: commits survive a crash of the process but not a power cut; use DATABASE_URL for a PostgreSQL server',
      );
    }
  } catch (error) {
    await pglite.close();
    throw error;
  }
  return pglite;
}

async function initialise(dir: string, logger: Logger): Promise<void> {
  if (existsSync(dir) && (await fs.readdir(dir)).length > 0) {
    throw new TakedownError(
      'not-a-database',
      `${dir} exists but holds no database; move it away or point TAKEDOWN_DATA at another folder.`,
      { kind: 'conflict' },
    );
  }
  await fs.rm(dir, { recursive: true, force: true });
  const temp = `${dir}.init-${process.pid}`;
  logger.info({ dir }, 'creating the embedded database (first start; this takes a few seconds)');
  const pglite = await PGlite.create({ dataDir: temp, startParams: durableStartParams() });
  await pglite.close();
  await fs.rename(temp, dir);
}

async function removeInterruptedInits(dir: string): Promise<void> {
  const parent = path.dirname(dir);
  const prefix = `${path.basename(dir)}.init-`;
  const entries = await fs.readdir(parent).catch(() => [] as string[]);
  for (const entry of entries) {
    if (entry.startsWith(prefix))
      await fs.rm(path.join(parent, entry), { recursive: true, force: true });
  }
}
