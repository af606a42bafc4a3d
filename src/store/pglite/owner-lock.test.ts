import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newToken, readOwner, release, stillOwned, tryAcquire } from './owner-lock.js';
import type { OwnerRecord } from './owner-lock.js';
import { currentProcess, liveness } from './process-identity.js';

let dir: string;
let lockPath: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'takedown-lock-'));
  lockPath = path.join(dir, 'pglite.lock');
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

const me = (overrides: Partial<OwnerRecord> = {}): OwnerRecord => ({
  ...currentProcess(),
  token: newToken(),
  role: 'command',
  command: 'test',
  socketDir: dir,
  since: new Date().toISOString(),
  ...overrides,
});

/** A process that has ended: same host, but from "another boot", or a pid with a different start time. */
const dead = (): OwnerRecord =>
  me({ pid: 1, startTime: '0', bootId: currentProcess().bootId ?? 'x', token: newToken() });

describe('process identity', () => {
  it('knows this process is alive, and one with a reused pid is not', () => {
    expect(liveness(currentProcess())).toBe('alive');
    expect(liveness({ ...currentProcess(), startTime: '1' })).toBe(
      process.platform === 'linux' ? 'dead' : 'alive',
    );
    expect(liveness({ ...currentProcess(), bootId: 'before-the-reboot' })).toBe(
      process.platform === 'linux' ? 'dead' : 'alive',
    );
    expect(liveness({ ...currentProcess(), host: 'elsewhere' })).toBe('other-host');
  });
});

describe('owner lock', () => {
  it('is taken by the first, then reported as held by a live owner', async () => {
    const first = me();
    expect(await tryAcquire(lockPath, first)).toEqual({
      kind: 'acquired',
      record: first,
      recovered: undefined,
    });
    expect(await tryAcquire(lockPath, me())).toEqual({
      kind: 'held',
      owner: first,
      where: 'alive',
    });
    expect(await stillOwned(lockPath, first)).toBe(true);
    await release(lockPath, first);
    expect(await readOwner(lockPath)).toBeUndefined();
    expect(await fs.readdir(dir)).toEqual([]); // no temporary files left
  });

  it('recovers a lock left by a dead process, and says whose it was', async () => {
    const stale = dead();
    await fs.writeFile(lockPath, JSON.stringify(stale));
    const next = me();
    expect(await tryAcquire(lockPath, next)).toEqual({
      kind: 'acquired',
      record: next,
      recovered: stale,
    });
    expect(JSON.parse(readFileSync(lockPath, 'utf8'))).toEqual(next);
  });

  it('recovers an unreadable lock file', async () => {
    await fs.writeFile(lockPath, '{"pid": 12');
    expect((await tryAcquire(lockPath, me())).kind).toBe('acquired');
  });

  it('leaves exactly one of many racing processes owning a recovered stale lock', async () => {
    // tryAcquire may briefly tell two racers "acquired" (one moved the other's
    // fresh lock aside while recovering); the contract is that the caller
    // checks stillOwned() before opening, and exactly one passes that check.
    await fs.writeFile(lockPath, JSON.stringify(dead()));
    const candidates = Array.from({ length: 12 }, () => me());
    const results = await Promise.all(candidates.map((c) => tryAcquire(lockPath, c)));
    const owner = await readOwner(lockPath);
    const owning = [];
    for (const [i, result] of results.entries())
      if (result.kind === 'acquired' && (await stillOwned(lockPath, candidates[i]))) owning.push(i);
    expect(owning).toHaveLength(1);
    expect(owner?.token).toBe(candidates[owning[0]].token);
    for (const result of results)
      if (result.kind === 'held') expect(result.owner.pid).toBe(process.pid);
    expect((await fs.readdir(dir)).sort()).toEqual(['pglite.lock']);
  });

  it('does not release a lock that another process holds now', async () => {
    const mine = me();
    await tryAcquire(lockPath, mine);
    const theirs = me();
    await fs.writeFile(lockPath, JSON.stringify(theirs));
    await release(lockPath, mine);
    expect((await readOwner(lockPath))?.token).toBe(theirs.token);
  });
});
