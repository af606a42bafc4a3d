import { execFile } from 'node:child_process';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { fastTempRoot } from './temp.js';

/**
 * A throw-away PostgreSQL 15 cluster for the test run, from Debian's
 * binaries: initdb into a temp folder, listen on 127.0.0.1 on a free port,
 * durability off (tests never need it and it is several times faster).
 * Root may not run initdb, so as root everything runs as user `postgres`.
 */

const run = promisify(execFile);
export const PG_BIN = process.env.TAKEDOWN_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const DIR_PREFIX = 'takedown-test-pg-';

export const INSTALL_HINT =
  'The database tests run on PGlite and on a real PostgreSQL server, and PostgreSQL 15 is not installed ' +
  `(looked for ${PG_BIN}/initdb). Install it with \`apt-get install -y postgresql\` ` +
  '(the system cluster need not run), or set TAKEDOWN_TEST_POSTGRES=skip to skip the PostgreSQL half.';

export interface Cluster {
  readonly port: number;
  /** Superuser URL of database `name`. */
  url(name: string): string;
  stop(): Promise<void>;
}

export function postgresInstalled(): boolean {
  return existsSync(path.join(PG_BIN, 'initdb')) && existsSync(path.join(PG_BIN, 'pg_ctl'));
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const quote = (arg: string): string => `'${arg.replaceAll("'", `'\\''`)}'`;

/** Runs a PostgreSQL binary, as `postgres` when we are root. */
async function pgRun(binary: string, args: string[]): Promise<void> {
  const file = path.join(PG_BIN, binary);
  if (asRoot) {
    await run('su', ['postgres', '-s', '/bin/sh', '-c', [file, ...args].map(quote).join(' ')]);
  } else {
    await run(file, args);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startCluster(): Promise<Cluster> {
  await stopAbandonedClusters();
  const root = await fs.mkdtemp(path.join(fastTempRoot(), `${DIR_PREFIX}${process.pid}-`));
  const data = path.join(root, 'data');
  if (asRoot) {
    const { uid, gid } = postgresIds();
    await fs.chown(root, uid, gid);
  }
  await pgRun('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  let port = 0;
  for (let attempt = 0; ; attempt += 1) {
    port = await freePort();
    const options = [
      `-p ${port}`,
      `-k ${root}`,
      '-c listen_addresses=127.0.0.1',
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    try {
      await pgRun('pg_ctl', [
        '-D',
        data,
        '-l',
        path.join(root, 'log'),
        '-o',
        options,
        '-w',
        '-t',
        '30',
        'start',
      ]);
      break;
    } catch (error) {
      // Someone took the port between our probe and the start: pick another.
      if (attempt >= 2) {
        const log = await fs.readFile(path.join(root, 'log'), 'utf8').catch(() => '');
        throw new Error(`could not start the test PostgreSQL cluster: ${String(error)}\n${log}`, {
          cause: error,
        });
      }
    }
  }
  return {
    port,
    url: (name) => `postgres://postgres@127.0.0.1:${port}/${name}`,
    stop: async () => {
      await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      await fs.rm(root, { recursive: true, force: true });
    },
  };
}

function postgresIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  if (line === undefined) throw new Error(`user postgres does not exist. ${INSTALL_HINT}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * A run killed before its teardown leaves a cluster running; the next run
 * stops clusters whose test process is gone.
 */
async function stopAbandonedClusters(): Promise<void> {
  const parent = fastTempRoot();
  const entries = await fs.readdir(parent).catch(() => [] as string[]);
  for (const entry of entries) {
    const match = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(entry);
    if (match === null || processExists(Number(match[1]))) continue;
    const root = path.join(parent, entry);
    const data = path.join(root, 'data');
    if (existsSync(path.join(data, 'postmaster.pid'))) {
      await pgRun('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    }
    await fs.rm(root, { recursive: true, force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
