import { TakedownError, isTakedownError } from '../errors.js';
import type { SignalType } from '../hash/signal.js';
import { SIGNAL_TYPES, isSignalType, normalizeSignalValue } from '../hash/signal.js';
import { ENTRY_TEXT_LIMITS } from './banks.js';

/**
 * Import formats, and turning one line of each into an entry or a reason
 * why not. Pure: the reader (import-read.ts) feeds lines in, the importer
 * stages what comes out.
 *
 * - `hashes`: one bare hash per line, all of the type given with --type.
 * - `csv` / `tsv`: a header row naming at least `value` (and `type`, unless
 *   --type gives it); also `note`, `source`, `addedAt`; other columns are
 *   ignored (an export's `bank` and `category`).
 * - `jsonl`: one JSON object per line with the same fields (what
 *   `takedown bank export` writes).
 *
 * Blank lines and lines starting with `#` are skipped in every format.
 */
export type ImportFormat = 'hashes' | 'csv' | 'tsv' | 'jsonl';

export const FORMAT_NAMES: Readonly<Record<ImportFormat, string>> = {
  hashes: 'bare hashes, one per line',
  csv: 'CSV with a header row',
  tsv: 'TSV (tab-separated) with a header row',
  jsonl: 'JSON lines',
};

/** One valid line, ready to stage. */
export interface ParsedEntry {
  readonly line: number;
  readonly type: SignalType;
  /** Normalized: lower-case hex of the right length. */
  readonly value: string;
  readonly addedAt: Date | null;
  readonly sourceRef: string | null;
  readonly note: string | null;
}

export interface LineError {
  readonly line: number;
  readonly reason: string;
}

export type ParsedLine =
  | { readonly kind: 'entry'; readonly entry: ParsedEntry }
  | { readonly kind: 'invalid'; readonly error: LineError };

const FIELD_ALIASES: Readonly<Record<string, Field>> = {
  type: 'type',
  signal_type: 'type',
  hash_type: 'type',
  value: 'value',
  hash: 'value',
  signal: 'value',
  note: 'note',
  source: 'source',
  source_ref: 'source',
  sourceref: 'source',
  addedat: 'addedAt',
  added_at: 'addedAt',
};
type Field = 'type' | 'value' | 'note' | 'source' | 'addedAt';

/**
 * Which format a file is in, from its first line that is not blank or a
 * comment. `typeFlag` is --type. Throws `unknown-format` with what was seen.
 */
export function detectFormat(firstLine: string, typeFlag: SignalType | undefined): ImportFormat {
  const text = firstLine.replace(/^\uFEFF/, '').trim();
  if (text.startsWith('{')) return 'jsonl';
  for (const [format, separator] of [
    ['tsv', '\t'],
    ['csv', ','],
  ] as const) {
    if (!text.includes(separator)) continue;
    const fields = text.split(separator).map((name) => FIELD_ALIASES[normalizeHeader(name)]);
    if (fields.includes('value')) return format;
    throw new TakedownError(
      'unknown-format',
      `The first line looks like a ${format.toUpperCase()} header but names no "value" column (it says ${JSON.stringify(shorten(text))}). Name the columns, e.g. "type,value,note".`,
    );
  }
  if (/^[0-9a-fA-F]+$/.test(text)) {
    if (typeFlag === undefined) {
      throw new TakedownError(
        'type-required',
        `The file holds bare hashes; say which kind with --type (${SIGNAL_TYPES.join(', ')}).`,
      );
    }
    return 'hashes';
  }
  throw new TakedownError(
    'unknown-format',
    `Cannot tell the file's format from its first line ${JSON.stringify(shorten(text))}: expected a bare hash, a CSV/TSV header naming "type" and "value", or a JSON object per line.`,
  );
}

function normalizeHeader(name: string): string {
  return name.trim().replace(/^"|"$/g, '').trim().toLowerCase();
}

/** The header's columns by field; throws when `value` (or `type` without --type) is missing. */
export function headerColumns(
  names: readonly string[],
  typeFlag: SignalType | undefined,
): Partial<Record<Field, number>> {
  const columns: Partial<Record<Field, number>> = {};
  names.forEach((name, i) => {
    const field = FIELD_ALIASES[normalizeHeader(name)];
    if (field !== undefined && columns[field] === undefined) columns[field] = i;
  });
  if (columns.value === undefined) {
    throw new TakedownError('unknown-format', 'The header row names no "value" column.');
  }
  if (columns.type === undefined && typeFlag === undefined) {
    throw new TakedownError(
      'type-required',
      `The header row names no "type" column; add one, or give every line's type with --type (${SIGNAL_TYPES.join(', ')}).`,
    );
  }
  return columns;
}

/** A line of bare hashes; `undefined` for a blank or comment line. */
export function parseHashLine(
  text: string,
  line: number,
  type: SignalType,
): ParsedLine | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  return entry(line, { type, value: trimmed });
}

/** A CSV/TSV record, by the header's columns. */
export function parseRecord(
  record: readonly string[],
  line: number,
  columns: Partial<Record<Field, number>>,
  typeFlag: SignalType | undefined,
): ParsedLine | undefined {
  if (record.length === 1 && record[0].trim() === '') return undefined;
  if (record.length > 0 && record[0].trimStart().startsWith('#')) return undefined;
  const at = (field: Field): string | undefined => {
    const i = columns[field];
    const value = i === undefined ? undefined : record[i];
    return value === undefined || value.trim() === '' ? undefined : value;
  };
  return entry(line, {
    type: at('type') ?? typeFlag,
    value: at('value'),
    note: at('note'),
    source: at('source'),
    addedAt: at('addedAt'),
  });
}

/** A JSON line; `undefined` for a blank or comment line. */
export function parseJsonLine(
  text: string,
  line: number,
  typeFlag: SignalType | undefined,
): ParsedLine | undefined {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  let object: unknown;
  try {
    object = JSON.parse(trimmed);
  } catch (error) {
    return invalid(line, `not valid JSON (${(error as Error).message})`);
  }
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    return invalid(line, 'not a JSON object: each line must be {"type": ..., "value": ...}');
  }
  const o = object as Record<string, unknown>;
  return entry(line, {
    type: o.type ?? typeFlag,
    value: o.value,
    note: o.note,
    source: o.source ?? o.sourceRef ?? o.source_ref,
    addedAt: o.addedAt ?? o.added_at,
  });
}

interface RawEntry {
  readonly type: unknown;
  readonly value: unknown;
  readonly note?: unknown;
  readonly source?: unknown;
  readonly addedAt?: unknown;
}

function entry(line: number, raw: RawEntry): ParsedLine {
  if (raw.type === undefined) return invalid(line, 'no type: say which kind of hash with --type');
  if (!isSignalType(raw.type)) {
    return invalid(
      line,
      `unknown type ${JSON.stringify(raw.type)}: expected one of ${SIGNAL_TYPES.join(', ')}`,
    );
  }
  if (raw.value === undefined || raw.value === null) return invalid(line, 'no value');
  let hex: string;
  try {
    hex = normalizeSignalValue(raw.type, raw.value);
  } catch (error) {
    if (isTakedownError(error)) return invalid(line, lowerFirst(error.message.replace(/\.$/, '')));
    throw error;
  }
  const note = text(raw.note, 'note', ENTRY_TEXT_LIMITS.note);
  if (typeof note === 'object' && note !== null) return invalid(line, note.reason);
  const source = text(raw.source, 'source', ENTRY_TEXT_LIMITS.sourceRef);
  if (typeof source === 'object' && source !== null) return invalid(line, source.reason);
  let addedAt: Date | null = null;
  if (raw.addedAt !== undefined && raw.addedAt !== null && raw.addedAt !== '') {
    addedAt = typeof raw.addedAt === 'string' ? new Date(raw.addedAt) : new Date(NaN);
    if (Number.isNaN(addedAt.getTime()) || !/^\d{4}-\d\d-\d\d/.test(String(raw.addedAt))) {
      return invalid(
        line,
        `addedAt ${JSON.stringify(raw.addedAt)} is not a date like 2025-01-31 or 2025-01-31T12:00:00Z`,
      );
    }
  }
  return {
    kind: 'entry',
    entry: {
      line,
      type: raw.type,
      value: hex,
      addedAt,
      sourceRef: source,
      note,
    },
  };
}

function text(
  value: unknown,
  field: string,
  max: number,
): string | null | { readonly reason: string } {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return { reason: `${field} must be text` };
  const trimmed = value.trim();
  if (trimmed.length > max) {
    return { reason: `${field} is ${trimmed.length} characters long; at most ${max} are kept` };
  }
  return trimmed === '' ? null : trimmed;
}

function invalid(line: number, reason: string): ParsedLine {
  return { kind: 'invalid', error: { line, reason } };
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
