import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WalkEntry, WalkFs } from './walk.js';
import { countEntries, nodeWalkFs, walk } from './walk.js';

async function collect(roots: string[], fs?: WalkFs): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const entry of walk(roots, { fs })) out.push(describeEntry(entry));
  return out;
}

function describeEntry(entry: WalkEntry): [string, string] {
  return [path.relative(root, entry.path) || '.', entry.error?.code ?? 'file'];
}

let root: string;
let socket: Server;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'takedown-walk-'));
  // Created out of order, listed in name order.
  await mkdir(path.join(root, 'b/deeper'), { recursive: true });
  await mkdir(path.join(root, 'a'));
  await writeFile(path.join(root, 'b/deeper/z.jpg'), 'z');
  await writeFile(path.join(root, 'b/y.png'), 'y');
  await writeFile(path.join(root, 'a/x'), 'x');
  await writeFile(path.join(root, 'c.txt'), 'c');
  await symlink('..', path.join(root, 'b/deeper/up')); // a loop through an ancestor
  await symlink('self', path.join(root, 'self')); // a link to itself (ELOOP)
  await symlink('missing', path.join(root, 'dangling'));
  await symlink('c.txt', path.join(root, 'd-link-to-file'));
  await symlink('a', path.join(root, 'e-link-to-folder'));
  execFileSync('mkfifo', [path.join(root, 'f-pipe')]);
  socket = createServer();
  await new Promise<void>((resolve) => socket.listen(path.join(root, 'g-socket'), resolve));
});
afterAll(async () => {
  await new Promise((resolve) => socket.close(resolve));
  await rm(root, { recursive: true, force: true });
});

describe('walk', () => {
  it('lists every file depth first in name order, and reports what it cannot hash', async () => {
    const entries = await collect([root]);
    const expected: Array<[string, string]> = [
      ['a/x', 'file'],
      ['b/deeper/up', 'symlink-loop'],
      ['b/deeper/z.jpg', 'file'],
      ['b/y.png', 'file'],
      ['c.txt', 'file'],
      ['d-link-to-file', 'file'],
      ['dangling', 'broken-link'],
      ['e-link-to-folder/x', 'file'],
      ['f-pipe', 'not-a-file'],
      ['g-socket', 'not-a-file'],
      ['self', 'symlink-loop'],
    ];
    expect(entries).toEqual(expected);
  });

  it('gives the same order every time', async () => {
    expect(await collect([root])).toEqual(await collect([root]));
  });

  it('walks the roots in the order given; a missing root is not-found; a file root is itself', async () => {
    const entries = await collect([
      path.join(root, 'c.txt'),
      path.join(root, 'nope'),
      path.join(root, 'a'),
    ]);
    expect(entries).toEqual([
      ['c.txt', 'file'],
      ['nope', 'not-found'],
      ['a/x', 'file'],
    ]);
  });

  it('reports an unreadable folder and carries on (injected: root reads every folder)', async () => {
    const denied: WalkFs = {
      stat: (p) => nodeWalkFs.stat(p),
      readdir: async (p) => {
        if (p.endsWith(`${path.sep}b`)) {
          throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
        }
        return nodeWalkFs.readdir(p);
      },
    };
    const entries = await collect(
      [path.join(root, 'a'), path.join(root, 'b'), path.join(root, 'c.txt')],
      denied,
    );
    expect(entries).toEqual([
      ['a/x', 'file'],
      ['b', 'permission-denied'],
      ['c.txt', 'file'],
    ]);
  });

  it('an entry that cannot be examined is reported with its errno', async () => {
    const failing: WalkFs = {
      stat: async (p) => {
        if (p.endsWith('deeper')) throw Object.assign(new Error('EIO'), { code: 'EIO' });
        return nodeWalkFs.stat(p);
      },
      readdir: (p) => nodeWalkFs.readdir(p),
    };
    expect(await collect([path.join(root, 'b')], failing)).toEqual([
      ['b/deeper', 'read-error'],
      ['b/y.png', 'file'],
    ]);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const entry of walk([root], { signal: controller.signal })) {
      seen.push(entry.path);
      controller.abort();
    }
    expect(seen.length).toBeLessThan(3);
  });

  it('countEntries counts what walk yields', async () => {
    expect(await countEntries([root])).toBe((await collect([root])).length);
  });
});
