import { PGlite } from '@electric-sql/pglite';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../../src/log.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { openInProcess } from '../../src/store/pglite/in-process.js';
import { SessionLock } from '../../src/store/pglite/session-lock.js';
import { connectPostgres } from '../../src/store/postgres.js';
import { INSTALL_HINT, postgresInstalled, startCluster } from './postgres-cluster.js';
import type { Cluster } from './postgres-cluster.js';
import { TEMPLATE_DATABASE } from './db-state.js';
import type { DatabaseState } from './db-state.js';

/**
 * Vitest global setup: prepares, once per run, a migrated template of each
 * database that test files clone (test/support/db.ts). The work runs in the
 * background so that test files without a database start at once; database
 * tests wait for the state file of the kind they need.
 */
export default function setup(project: TestProject): () => Promise<void> {
  const stateDir = path.join(os.tmpdir(), `takedown-test-state-${process.pid}-${Date.now()}`);
  project.provide('takedownDbStateDir', stateDir);
  const work = (async () => {
    await fs.mkdir(stateDir, { recursive: true });
    const [cluster] = await Promise.all([preparePostgres(stateDir), preparePglite(stateDir)]);
    return cluster;
  })();
  // Failures are written to the state files for the tests to report.
  work.catch(() => undefined);
  return async () => {
    const cluster = await work.catch(() => undefined);
    await cluster?.stop();
    await fs.rm(stateDir, { recursive: true, force: true });
  };
}

async function writeState(
  stateDir: string,
  kind: 'postgres' | 'pglite',
  state: DatabaseState,
): Promise<void> {
  const file = path.join(stateDir, `${kind}.json`);
  await fs.writeFile(`${file}.tmp`, JSON.stringify(state));
  await fs.rename(`${file}.tmp`, file);
}

const logger = createLogger('error', 'test-setup');
const message = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

async function preparePostgres(stateDir: string): Promise<Cluster | undefined> {
  if (process.env.TAKEDOWN_TEST_POSTGRES === 'skip') {
    await writeState(stateDir, 'postgres', {
      status: 'skipped',
      reason: 'TAKEDOWN_TEST_POSTGRES=skip is set',
    });
    return undefined;
  }
  if (!postgresInstalled()) {
    await writeState(stateDir, 'postgres', { status: 'failed', reason: INSTALL_HINT });
    return undefined;
  }
  let cluster: Cluster | undefined;
  try {
    cluster = await startCluster();
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${TEMPLATE_DATABASE}`);
    await admin.end();
    const db = connectPostgres(
      { connectionString: cluster.url(TEMPLATE_DATABASE), max: 1 },
      logger,
    );
    await migrateToLatest(db).finally(() => db.destroy());
    await writeState(stateDir, 'postgres', { status: 'ready', port: cluster.port });
    return cluster;
  } catch (error) {
    await writeState(stateDir, 'postgres', {
      status: 'failed',
      reason: `test PostgreSQL: ${message(error)}`,
    });
    return cluster;
  }
}

async function preparePglite(stateDir: string): Promise<void> {
  try {
    const pglite = await PGlite.create();
    const { db } = openInProcess(pglite, new SessionLock(), { logger, afterClose: async () => {} });
    await migrateToLatest(db);
    const dump = await pglite.dumpDataDir('none');
    await db.destroy();
    await pglite.close();
    const tarball = path.join(stateDir, 'pglite-template.tar');
    await fs.writeFile(tarball, Buffer.from(await dump.arrayBuffer()));
    await writeState(stateDir, 'pglite', { status: 'ready', tarball });
  } catch (error) {
    await writeState(stateDir, 'pglite', {
      status: 'failed',
      reason: `test PGlite template: ${message(error)}`,
    });
  }
}
