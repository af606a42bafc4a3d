import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateWriter, readStateFile } from './state-file.js';
import type { StateHeader } from './state.js';
import { checkResumable, entryLine, headerLine, parseState } from './state.js';

const header: StateHeader = {
  takedownScanState: 1,
  source: { kind: 'folders', roots: ['/srv/www'] },
  mode: 'pdq',
  since: null,
  sinceAt: null,
  startedAt: '2025-01-01T00:00:00.000Z',
};

describe('the state file', () => {
  it('keeps the last line per item and ignores a line cut short by a crash', () => {
    const text =
      headerLine(header) +
      entryLine({ key: '/a', stamp: '1:1', record: { bytes: 1, md5: 'old' } }) +
      entryLine({ key: '/b', stamp: '2:2', record: { bytes: 2 } }) +
      entryLine({ key: '/a', stamp: '1:2', record: { bytes: 1, md5: 'new' } }) +
      '{"key":"/c","stamp":"3:3","rec';
    const state = parseState('s', text);
    expect(state.header).toEqual(header);
    expect([...state.entries.keys()]).toEqual(['/a', '/b']);
    expect(state.entries.get('/a')?.record.md5).toBe('new');
    expect(state.unreadableLines).toBe(1);
  });

  it('refuses a file that is not a state', () => {
    expect(() => parseState('notes.txt', 'hello\n')).toThrow(/not a takedown scan state/);
    expect(() => parseState('x.json', '{"a":1}\n')).toThrow(/not a takedown scan state/);
  });

  it('continues only the same scan', () => {
    expect(() => checkResumable('s', header, { ...header, startedAt: 'later' })).not.toThrow();
    expect(() =>
      checkResumable('s', header, {
        ...header,
        source: { kind: 'folders', roots: ['/srv/other'] },
      }),
    ).toThrow(/belongs to another scan: it scans \/srv\/www, not \/srv\/other/);
    expect(() => checkResumable('s', header, { ...header, mode: 'exact-only' })).toThrow(
      /PDQ scan/,
    );
    expect(() => checkResumable('s', header, { ...header, since: '7d' })).toThrow(/no --since/);
  });
});

describe('the state file on disk', () => {
  it('ends a line cut short by a crash before appending, so no finished file is lost', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'takedown-state-'));
    try {
      const file = path.join(dir, 'scan.state.jsonl');
      await writeFile(
        file,
        headerLine(header) +
          entryLine({ key: '/a', stamp: '1:1', record: { bytes: 1 } }) +
          '{"key":"/b","sta',
      );
      const writer = StateWriter.open(file, header, true);
      writer.append({ key: '/c', stamp: '3:3', record: { bytes: 3 } });
      writer.close();
      const state = await readStateFile(file);
      expect([...(state?.entries.keys() ?? [])]).toEqual(['/a', '/c']);
      expect((await readFile(file, 'utf8')).split('\n')[0]).toBe(headerLine(header).trim());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
