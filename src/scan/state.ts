import { TakedownError } from '../errors.js';
import type { ContentRecord } from '../hash/file/hash-file.js';
import type { ScanMode } from './types.js';

/**
 * The state file that lets `--resume` continue an interrupted scan: JSON
 * lines, a header first, then one line per finished item, appended as each
 * finishes. A crash or SIGKILL can at worst cut the last line short, which
 * the reader ignores; a resumed run appends to the same file, and a later
 * line for the same item wins. Pure: the file I/O is in state-file.ts.
 *
 *   {"takedownScanState":1,"source":{"kind":"folders","roots":["/srv/www"]},"mode":"pdq",…}
 *   {"key":"/srv/www/a.jpg","stamp":"52133:1735689600000.123","record":{"bytes":52133,"md5":…}}
 */

export const STATE_VERSION = 1;

export type ScanSource =
  | { readonly kind: 'folders'; readonly roots: readonly string[] }
  | { readonly kind: 'site'; readonly url: string };

export interface StateHeader {
  readonly takedownScanState: typeof STATE_VERSION;
  readonly source: ScanSource;
  readonly mode: ScanMode;
  /** `--since` as typed, and the time it meant when the scan started. */
  readonly since: string | null;
  readonly sinceAt: string | null;
  readonly startedAt: string;
}

/** One finished item: a file path or an image URL, with what identifies its version. */
export interface StateEntry {
  readonly key: string;
  /** Files: "size:mtimeMs"; a file whose stamp differs is hashed again. Null for URLs. */
  readonly stamp: string | null;
  /** For images found on a site: the page that showed it. */
  readonly page?: string;
  readonly record: ContentRecord;
}

export function headerLine(header: StateHeader): string {
  return `${JSON.stringify(header)}\n`;
}

export function entryLine(entry: StateEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

/** A file's version as the state records it. */
export function fileStamp(size: number, mtimeMs: number): string {
  return `${size}:${mtimeMs}`;
}

export interface ParsedState {
  readonly header: StateHeader;
  readonly entries: Map<string, StateEntry>;
  /** Lines that could not be read (a torn last line after a crash, or damage). */
  readonly unreadableLines: number;
}

/** Incremental reader, fed line by line (the file may be large). */
export class StateParser {
  #header: StateHeader | undefined;
  readonly #entries = new Map<string, StateEntry>();
  #unreadable = 0;
  #lineNo = 0;

  constructor(private readonly file: string) {}

  line(text: string): void {
    this.#lineNo++;
    if (text.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      if (this.#lineNo === 1) throw notAState(this.file);
      this.#unreadable++;
      return;
    }
    if (this.#lineNo === 1) {
      if (!isHeader(value)) throw notAState(this.file);
      this.#header = value;
      return;
    }
    if (!isEntry(value)) {
      this.#unreadable++;
      return;
    }
    this.#entries.set(value.key, value);
  }

  finish(): ParsedState {
    if (this.#header === undefined) throw notAState(this.file);
    return { header: this.#header, entries: this.#entries, unreadableLines: this.#unreadable };
  }
}

export function parseState(file: string, text: string): ParsedState {
  const parser = new StateParser(file);
  for (const line of text.split('\n')) parser.line(line);
  return parser.finish();
}

function isHeader(value: unknown): value is StateHeader {
  const v = value as Partial<StateHeader> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.takedownScanState === STATE_VERSION &&
    typeof v.source === 'object' &&
    v.source !== null &&
    (v.mode === 'pdq' || v.mode === 'exact-only')
  );
}

function isEntry(value: unknown): value is StateEntry {
  const v = value as Partial<StateEntry> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.key === 'string' &&
    (v.stamp === null || typeof v.stamp === 'string') &&
    typeof v.record === 'object' &&
    v.record !== null
  );
}

function notAState(file: string): TakedownError {
  return new TakedownError(
    'invalid-state-file',
    `${file} is not a takedown scan state file (or is from another version). Remove it, or point --state elsewhere.`,
  );
}

/**
 * Whether a state may be continued by this command: the same folders or
 * site, the same mode, the same `--since`. Continuing a different scan
 * would mix two scans into one report. Throws `state-mismatch` naming the
 * difference.
 */
export function checkResumable(file: string, header: StateHeader, wanted: StateHeader): void {
  const differences: string[] = [];
  if (JSON.stringify(header.source) !== JSON.stringify(wanted.source)) {
    differences.push(
      `it scans ${describeSource(header.source)}, not ${describeSource(wanted.source)}`,
    );
  }
  if (header.mode !== wanted.mode) {
    differences.push(`it is a${header.mode === 'pdq' ? ' PDQ' : 'n exact-only'} scan`);
  }
  if (header.since !== wanted.since) {
    differences.push(
      header.since === null ? 'it has no --since' : `it has --since ${header.since}`,
    );
  }
  if (differences.length > 0) {
    throw new TakedownError(
      'state-mismatch',
      `The state file ${file} belongs to another scan: ${differences.join('; ')}. Run that scan with --resume, or leave out --resume to start this one afresh (the state is then replaced).`,
    );
  }
}

function describeSource(source: ScanSource): string {
  return source.kind === 'site' ? source.url : source.roots.join(', ');
}
