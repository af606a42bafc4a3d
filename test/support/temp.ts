import { accessSync, constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where tests put databases: memory-backed /dev/shm when there is one. On
 * this project's VMs creating PostgreSQL's thousand small files takes about
 * a second on disk and 50 ms in memory; durability is not under test there
 * (the fsync hook is tested on its own).
 */
export function fastTempRoot(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

export function makeTempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(fastTempRoot(), prefix));
}
