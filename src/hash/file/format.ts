import { DIHEDRAL_NAMES } from '../pdq-dct.js';
import type { HashRecord } from './hash-file.js';

/** Machine-readable outputs of `takedown hash`, one record per line. */
export type OutputFormat = 'jsonl' | 'csv' | 'tsv';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['jsonl', 'csv', 'tsv'];

export interface RecordFormatter {
  /** The header line ('' for jsonl), with its newline. */
  readonly header: string;
  /** One record as one line, with its newline. */
  line(record: HashRecord): string;
}

/**
 * Columns of csv and tsv: the jsonl field names, nested ones flattened with
 * a dot. `pdqVariants.*` only with variants.
 */
export function columnNames(variants: boolean): string[] {
  return [
    'path',
    'bytes',
    'md5',
    'sha1',
    'sha256',
    'format',
    'pdq',
    'pdqQuality',
    ...(variants ? DIHEDRAL_NAMES.map((name) => `pdqVariants.${name}`) : []),
    'error.code',
    'error.message',
  ];
}

/** A record's values in `columnNames` order; absent values are empty strings. */
export function recordValues(record: HashRecord, variants: boolean): string[] {
  const text = (value: string | number | undefined): string =>
    value === undefined ? '' : String(value);
  return [
    record.path,
    text(record.bytes),
    text(record.md5),
    text(record.sha1),
    text(record.sha256),
    text(record.format),
    text(record.pdq),
    text(record.pdqQuality),
    ...(variants ? DIHEDRAL_NAMES.map((name) => text(record.pdqVariants?.[name])) : []),
    text(record.error?.code),
    text(record.error?.message),
  ];
}

/** The record with its keys in the documented order, whatever order it was built in. */
function ordered(record: HashRecord): HashRecord {
  return {
    path: record.path,
    bytes: record.bytes,
    md5: record.md5,
    sha1: record.sha1,
    sha256: record.sha256,
    format: record.format,
    pdq: record.pdq,
    pdqQuality: record.pdqQuality,
    pdqVariants: record.pdqVariants,
    error: record.error,
  };
}

export function recordFormatter(
  format: OutputFormat,
  options: { variants?: boolean } = {},
): RecordFormatter {
  const variants = options.variants ?? false;
  switch (format) {
    case 'jsonl':
      return { header: '', line: (record) => `${JSON.stringify(ordered(record))}\n` };
    case 'csv':
      return {
        header: csvLine(columnNames(variants)),
        line: (record) => csvLine(recordValues(record, variants)),
      };
    case 'tsv':
      return {
        header: tsvLine(columnNames(variants)),
        line: (record) => tsvLine(recordValues(record, variants)),
      };
  }
}

/** RFC 4180: quote a field holding a comma, quote or line break; double inner quotes. */
function csvLine(values: readonly string[]): string {
  return `${values.map((v) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(',')}\n`;
}

const TSV_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
};

/**
 * Tab-separated with backslash escapes (as PostgreSQL's COPY text format):
 * file names may contain tabs and newlines, and TSV has no quoting.
 */
function tsvLine(values: readonly string[]): string {
  return `${values.map((v) => v.replace(/[\\\t\n\r]/g, (c) => TSV_ESCAPES[c])).join('\t')}\n`;
}
