import {
  closeSync,
  createReadStream,
  fdatasyncSync,
  fstatSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { TakedownError } from '../errors.js';
import type { ParsedState, StateEntry, StateHeader } from './state.js';
import { StateParser, entryLine, headerLine } from './state.js';

/**
 * The state file on disk. Each finished item is one `write(2)` of one line
 * on a file opened for appending: once it returns, the line is in the
 * kernel, so killing the process (even with SIGKILL) cannot lose it; only
 * items still being hashed are lost. Lines also reach the disk itself
 * (fdatasync) every few seconds and at the end, for power failures.
 */

const SYNC_EVERY_MS = 5000;

/** Reads a state file, or undefined when there is none. */
export async function readStateFile(file: string): Promise<ParsedState | undefined> {
  const parser = new StateParser(file);
  const stream = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) parser.line(line);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (error instanceof TakedownError) throw error;
    throw new TakedownError(
      'state-unreadable',
      `The state file ${file} could not be read (${(error as Error).message}).`,
      { cause: error },
    );
  } finally {
    lines.close();
    stream.destroy();
  }
  return parser.finish();
}

export class StateWriter {
  readonly file: string;
  #fd: number | undefined;
  #dirty = false;
  readonly #timer: NodeJS.Timeout;
  /** Entries written in this run. */
  written = 0;

  private constructor(file: string, fd: number) {
    this.file = file;
    this.#fd = fd;
    this.#timer = setInterval(() => this.sync(), SYNC_EVERY_MS);
    this.#timer.unref();
  }

  /** A new state (replacing any old one), or the old one reopened for appending. */
  static open(file: string, header: StateHeader, append: boolean): StateWriter {
    let fd: number;
    try {
      fd = openSync(file, append ? 'a+' : 'w', 0o600);
      if (!append) writeSync(fd, headerLine(header));
      // A crash may have cut the last line short: end it, so the next line stays whole.
      else if (!endsWithNewline(fd)) writeSync(fd, '\n');
    } catch (error) {
      throw new TakedownError(
        'state-unwritable',
        `The state file ${file} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Choose another place with --state.`,
        { cause: error },
      );
    }
    return new StateWriter(file, fd);
  }

  append(entry: StateEntry): void {
    if (this.#fd === undefined) return;
    writeSync(this.#fd, entryLine(entry));
    this.#dirty = true;
    this.written++;
  }

  sync(): void {
    if (this.#fd === undefined || !this.#dirty) return;
    fdatasyncSync(this.#fd);
    this.#dirty = false;
  }

  close(): void {
    clearInterval(this.#timer);
    if (this.#fd === undefined) return;
    this.sync();
    closeSync(this.#fd);
    this.#fd = undefined;
  }
}

function endsWithNewline(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

export async function removeStateFile(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}

/**
 * One scan per state file at a time: two would interleave their lines. The
 * lock is a file holding the owner's process id; a lock whose process is
 * gone (killed) is taken over.
 */
export async function lockState(file: string): Promise<() => Promise<void>> {
  const lock = `${file}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => unlink(lock).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new TakedownError(
          'state-unwritable',
          `The state file's lock ${lock} cannot be created (${(error as NodeJS.ErrnoException).code}). Choose another place with --state.`,
          { cause: error },
        );
      }
      const owner = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new TakedownError(
          'scan-running',
          `Another scan (process ${owner}) is using the state file ${file}. Wait for it to finish, or give this scan its own --state.`,
          { kind: 'conflict' },
        );
      }
      await unlink(lock).catch(() => undefined);
    }
  }
  throw new TakedownError('scan-running', `The state file ${file} is locked by another scan.`, {
    kind: 'conflict',
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
