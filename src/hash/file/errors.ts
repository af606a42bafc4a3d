import { TakedownError } from '../../errors.js';

/**
 * Why one file could not be (fully) hashed. Per-file problems are values in
 * the output, never exceptions: one bad file must not stop a scan of millions.
 */
export type HashErrorCode =
  | 'empty-file'
  | 'corrupt-image'
  | 'unsupported-image'
  | 'image-too-large'
  | 'not-an-image'
  | 'not-found'
  | 'file-vanished'
  | 'file-changed'
  | 'permission-denied'
  | 'not-a-file'
  | 'symlink-loop'
  | 'broken-link'
  | 'read-error'
  | 'hash-failed';

export interface HashError {
  readonly code: HashErrorCode;
  readonly message: string;
}

const paren = (detail: string | undefined): string => (detail ? ` (${detail})` : '');

/** The sentence for each code; `detail` names the specifics when there are any. */
const SENTENCES: Readonly<Record<HashErrorCode, (detail?: string) => string>> = {
  'empty-file': () => 'The file is empty (0 bytes): there is nothing to hash.',
  'corrupt-image': (d) =>
    `The file looks like an image but is damaged or incomplete${paren(d)}, so it has no PDQ hash.`,
  'unsupported-image': (d) =>
    `The file is an image in a format we cannot decode${paren(d)}, so it has no PDQ hash. Convert it to JPEG or PNG to hash it.`,
  'image-too-large': (d) =>
    `The image is larger than the limit${paren(d)} (a possible decompression bomb), so it has no PDQ hash. Raise the limit if the image is genuine.`,
  'not-an-image': () => 'The file is not an image in a format we can read.',
  'not-found': () => 'There is no file or folder at this path.',
  'file-vanished': () =>
    'The file was deleted or shrank while it was being read, so its hashes would be wrong. Hash it again once it is stable.',
  'file-changed': () =>
    'The file grew while it was being read (it is probably still being written). Hash it again once it is complete.',
  'permission-denied': () => 'Permission denied: run as a user who may read this path.',
  'not-a-file': (d) => `This is ${d ?? 'a special file'}, not a regular file, so it was not read.`,
  'symlink-loop': () =>
    'This link leads back into a folder that contains it; it was skipped to avoid an endless loop.',
  'broken-link': () => 'This symbolic link points to something that does not exist.',
  'read-error': (d) => `The file could not be read${paren(d)}.`,
  'hash-failed': (d) => `Hashing this file failed unexpectedly${paren(d)}.`,
};

const TYPE_NAMES: Readonly<Record<string, string>> = {
  directory: 'a folder',
  fifo: 'a named pipe (FIFO)',
  socket: 'a socket',
  'character-device': 'a character device',
  'block-device': 'a block device',
};

/** `not-a-file` naming what the path is instead (an `EntryType`). */
export function notAFile(type: string): HashError {
  return hashError('not-a-file', TYPE_NAMES[type]);
}

export function hashError(code: HashErrorCode, detail?: string): HashError {
  return { code, message: SENTENCES[code](detail) };
}

/** Errno codes as they come from `fs`; `phase` tells opening from reading. */
export function errnoToHashError(error: unknown, phase: 'open' | 'read' | 'walk'): HashError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      // A file that disappears between listing and reading has vanished; a
      // path given by the user that is not there was never found.
      return hashError(phase === 'read' ? 'file-vanished' : 'not-found');
    case 'ESTALE':
      return hashError('file-vanished');
    case 'EACCES':
    case 'EPERM':
      return hashError('permission-denied');
    case 'ELOOP':
      return hashError('symlink-loop');
    case 'EISDIR':
    case 'ENXIO':
    case 'ENODEV':
      return hashError('not-a-file');
    default:
      return hashError('read-error', errnoDetail(error));
  }
}

function errnoDetail(error: unknown): string {
  const e = error as NodeJS.ErrnoException | undefined;
  if (e?.code) return e.code;
  return error instanceof Error ? error.message : String(error);
}

/** Decoder errors (TakedownError from decode.ts) into per-file errors. */
export function decodeFailure(error: unknown): HashError {
  if (error instanceof TakedownError) {
    switch (error.code) {
      // decode.ts's sentences already say what is wrong and what to do.
      case 'image-too-large':
      case 'unsupported-image':
      case 'corrupt-image':
        return { code: error.code, message: error.message };
      // The content sniffed as an image the decoder supports, so a decoder
      // that does not recognise it means the header is damaged.
      case 'not-an-image':
        return hashError('corrupt-image', 'the decoder does not recognise its header');
    }
  }
  const text = error instanceof Error ? error.message : String(error);
  return hashError('corrupt-image', text.split('\n')[0].replace(/[.\s]+$/, ''));
}
