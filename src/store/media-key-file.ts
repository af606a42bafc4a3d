import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseMediaKey } from '../config.js';
import type { Config } from '../config.js';
import { TakedownError } from '../errors.js';
import { requireMediaKey } from './blob-store.js';

/**
 * `npm start` must work on a fresh machine, yet evidence media is only ever
 * stored encrypted. On the embedded database (one machine, one data folder)
 * a missing TAKEDOWN_MEDIA_KEY is therefore generated once and kept in the
 * user's configuration folder — outside the data folder, so that a copy of
 * the data folder or its backup does not carry the key that opens it. With
 * DATABASE_URL, several machines may share the media, so the operator must
 * give the same key everywhere: no key is made up there.
 */
export interface MediaKeyOutcome {
  readonly config: Config;
  /** Set when the key came from (or was just written to) a key file. */
  readonly keyFile?: { readonly path: string; readonly created: boolean };
}

export function mediaKeyFilePath(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  // One key per data folder: two installations on one machine do not share a key.
  const folder = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16);
  return path.join(base, 'takedown', 'media-keys', `${folder}.key`);
}

export async function resolveMediaKey(
  config: Config,
  what: string,
  hint = '',
): Promise<MediaKeyOutcome> {
  if (config.mediaKey !== undefined || config.databaseUrl !== undefined) {
    requireMediaKey(config, what, hint);
    return { config };
  }
  const file = mediaKeyFilePath(config.dataDir);
  let created = false;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unreadableKeyFile(file, error);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const fresh = `${randomBytes(32).toString('hex')}\n`;
    // Written aside, then linked into place: link(2) fails if the file exists,
    // so two processes starting at once agree on one key, and neither can
    // read the other's file half-written.
    const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.new`;
    try {
      await fs.writeFile(temp, fresh, { mode: 0o600, flag: 'wx' });
      await fs.link(temp, file);
      created = true;
      text = fresh;
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST')
        throw unreadableKeyFile(file, writeError);
      text = await fs.readFile(file, 'utf8');
    } finally {
      await fs.rm(temp, { force: true });
    }
  }
  const key = parseMediaKey(text);
  if (typeof key === 'string')
    throw new TakedownError(
      'media-key-file-invalid',
      `The media key file ${file} is not a key: ${key}. Restore it from your backup, or set TAKEDOWN_MEDIA_KEY.`,
      { kind: 'bad-input', details: { file } },
    );
  return { config: Object.freeze({ ...config, mediaKey: key }), keyFile: { path: file, created } };
}

function unreadableKeyFile(file: string, cause: unknown): TakedownError {
  return new TakedownError(
    'media-key-file-unreadable',
    `The media key file ${file} cannot be read or written (${(cause as Error).message}). Set TAKEDOWN_MEDIA_KEY instead.`,
    { kind: 'bad-input', cause, details: { file } },
  );
}

/** The lines an operator must see when the key lives in a file. */
export function describeKeyFile(keyFile: NonNullable<MediaKeyOutcome['keyFile']>): string {
  return keyFile.created
    ? `Media key: TAKEDOWN_MEDIA_KEY is not set, so a new key was made and stored in ${keyFile.path}.\n` +
        '  Evidence media is encrypted with it: back that file up apart from the data folder; without it, stored media cannot be read.\n'
    : `Media key: from ${keyFile.path} (TAKEDOWN_MEDIA_KEY is not set).\n`;
}
