import { TakedownError } from '../errors.js';
import type { ReportRow } from './types.js';

/**
 * The report's rows as flat records, one per match and one per item with a
 * problem, with the same fields in JSON and CSV. Items that were checked and
 * matched nothing have no row (a scan of millions of files stays readable);
 * the summary counts them. Pure.
 */

export type ReportFormat = 'json' | 'csv';
export const REPORT_FORMATS: readonly ReportFormat[] = ['json', 'csv'];

export const REPORT_COLUMNS = [
  'status',
  'path',
  'url',
  'page',
  'bytes',
  'format',
  'md5',
  'sha1',
  'sha256',
  'pdq',
  'pdqQuality',
  'matchedBy',
  'bank',
  'category',
  'distance',
  'errorCode',
  'errorMessage',
] as const;

export type ReportColumn = (typeof REPORT_COLUMNS)[number];
export type FlatRow = Partial<Record<ReportColumn, string | number>>;

/** The format from `--report-format`, else from the report's file name. */
export function reportFormatFor(file: string, explicit: ReportFormat | undefined): ReportFormat {
  if (explicit !== undefined) return explicit;
  const ext = /\.([a-z]+)$/i.exec(file)?.[1]?.toLowerCase();
  if (ext === 'json') return 'json';
  if (ext === 'csv') return 'csv';
  throw new TakedownError(
    'unknown-report-format',
    `Cannot tell the report's format from "${file}": name it *.json or *.csv, or add --report-format json|csv.`,
  );
}

export function flattenRow(row: ReportRow): FlatRow {
  const where =
    row.location.kind === 'file'
      ? { path: row.location.path }
      : { url: row.location.url, ...(row.location.page ? { page: row.location.page } : {}) };
  const r = row.record;
  const base: FlatRow = {
    status: row.status,
    ...where,
    ...(r.bytes !== undefined ? { bytes: r.bytes } : {}),
    ...(r.format ? { format: r.format } : {}),
    ...(r.md5 ? { md5: r.md5 } : {}),
    ...(r.sha1 ? { sha1: r.sha1 } : {}),
    ...(r.sha256 ? { sha256: r.sha256 } : {}),
    ...(r.pdq ? { pdq: r.pdq } : {}),
    ...(r.pdqQuality !== undefined ? { pdqQuality: r.pdqQuality } : {}),
  };
  if (row.status === 'match') {
    return {
      ...base,
      matchedBy: row.match.type,
      bank: row.match.bank,
      category: row.match.category,
      distance: row.match.distance,
    };
  }
  return { ...base, errorCode: row.error.code, errorMessage: row.error.message };
}

export function csvHeader(): string {
  return csvLine([...REPORT_COLUMNS]);
}

export function csvRow(row: FlatRow): string {
  return csvLine(REPORT_COLUMNS.map((column) => cell(row[column])));
}

/**
 * A cell that a spreadsheet would read as a formula (a file may be named
 * "=HYPERLINK(…)", and these reports are opened in spreadsheets) gets a
 * leading apostrophe, as OWASP advises; nothing else is changed.
 */
function cell(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return typeof value === 'string' && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/**
 * RFC 4180 quoting: fields with a comma, quote or line break are quoted,
 * inner quotes doubled. Lines end in \n, as `takedown hash --format csv`.
 */
function csvLine(values: readonly string[]): string {
  return `${values.map((v) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(',')}\n`;
}
