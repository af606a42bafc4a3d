import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { mediaKeyFilePath, resolveMediaKey } from './media-key-file.js';

describe('the media key on the embedded database', () => {
  let home: string;
  const saved = process.env.XDG_CONFIG_HOME;
  beforeEach(async () => {
    home = await fs.mkdtemp(path.join(os.tmpdir(), 'takedown-key-'));
    process.env.XDG_CONFIG_HOME = home;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.XDG_CONFIG_HOME;
    else process.env.XDG_CONFIG_HOME = saved;
    await fs.rm(home, { recursive: true, force: true });
  });

  it('is made once, outside the data folder, readable by its owner only, and reused', async () => {
    const config = loadConfig({ TAKEDOWN_DATA: path.join(home, 'data') });
    const first = await resolveMediaKey(config, 'the pipeline');
    expect(first.keyFile?.created).toBe(true);
    const file = mediaKeyFilePath(config.dataDir);
    expect(first.keyFile?.path).toBe(file);
    expect(file.startsWith(path.join(home, 'takedown'))).toBe(true);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const again = await resolveMediaKey(config, 'the pipeline');
    expect(again.keyFile?.created).toBe(false);
    expect(again.config.mediaKey?.id).toBe(first.config.mediaKey?.id);
    // Two starts at once agree on one key.
    const other = loadConfig({ TAKEDOWN_DATA: path.join(home, 'other') });
    const racing = await Promise.all([1, 2, 3].map(() => resolveMediaKey(other, 'x')));
    expect(new Set(racing.map((r) => r.config.mediaKey?.id)).size).toBe(1);
    expect(racing.filter((r) => r.keyFile?.created)).toHaveLength(1);
    expect(racing[0].config.mediaKey?.id).not.toBe(first.config.mediaKey?.id);
    // No half-written or temporary files are left beside the keys.
    expect((await fs.readdir(path.dirname(file))).sort()).toEqual(
      [path.basename(file), path.basename(mediaKeyFilePath(other.dataDir))].sort(),
    );
  });

  it('names the file when it holds something that is not a key', async () => {
    const config = loadConfig({ TAKEDOWN_DATA: path.join(home, 'data') });
    const file = mediaKeyFilePath(config.dataDir);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, 'not a key\n');
    await expect(resolveMediaKey(config, 'x')).rejects.toMatchObject({
      code: 'media-key-file-invalid',
      message: expect.stringContaining(file),
    });
  });

  it('is never made up for a PostgreSQL server, which several machines may share', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://db.example/takedown' });
    await expect(resolveMediaKey(config, 'a worker')).rejects.toMatchObject({
      code: 'media-key-missing',
    });
  });

  it('prefers TAKEDOWN_MEDIA_KEY when it is set', async () => {
    const config = loadConfig({ TAKEDOWN_MEDIA_KEY: 'ab'.repeat(32) });
    const outcome = await resolveMediaKey(config, 'x');
    expect(outcome.keyFile).toBeUndefined();
    expect(outcome.config.mediaKey).toBe(config.mediaKey);
  });
});
