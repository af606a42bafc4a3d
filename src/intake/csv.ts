import { parse } from 'csv-parse/sync';
import { TakedownError } from '../errors.js';
import { prepareReport } from './intake.js';
import type { PreparedReport } from './intake.js';

/**
 * An analyst's CSV of reports, checked line by line. Pure. Columns by
 * header name: `url` (required), `description`, `reference`; comma,
 * semicolon or tab separated. Without a header the columns are url,
 * description, reference in that order. Lines that share a reference are
 * one report with several URLs; other lines are a report each.
 */

export interface CsvReport {
  /** The lines it came from (first one first). */
  readonly lines: readonly number[];
  readonly report: PreparedReport;
}

export interface CsvLineError {
  readonly line: number;
  readonly reason: string;
}

export interface ParsedCsv {
  /** Lines with a report (data lines, not the header). */
  readonly lines: number;
  readonly reports: readonly CsvReport[];
  readonly errors: readonly CsvLineError[];
}

type Column = 'url' | 'description' | 'reference';

export function parseReportCsv(text: string, limits: { readonly maxUrls: number }): ParsedCsv {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, {
      delimiter: [',', ';', '\t'],
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      trim: true,
      info: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (error) {
    throw new TakedownError(
      'invalid-csv',
      `The file is not valid CSV: ${error instanceof Error ? error.message : String(error)}.`,
    );
  }
  if (records.length === 0)
    throw new TakedownError('empty-file', 'The file has no lines to import.');
  const first = records[0].record.map((field) => field.toLowerCase());
  const hasHeader = first.includes('url');
  if (!hasHeader && !/^[a-z][a-z0-9+.-]*:/i.test(records[0].record[0] ?? ''))
    throw new TakedownError(
      'no-url-column',
      'The first line names no "url" column, and does not start with a URL: give a header line such as "url,description,reference".',
    );
  const position: Record<Column, number> = hasHeader
    ? {
        url: first.indexOf('url'),
        description: first.indexOf('description'),
        reference: first.indexOf('reference'),
      }
    : { url: 0, description: 1, reference: 2 };

  const errors: CsvLineError[] = [];
  const groups = new Map<
    string,
    { lines: number[]; urls: string[]; description: string; reference?: string }
  >();
  const rows = hasHeader ? records.slice(1) : records;
  for (const [n, { record, info }] of rows.entries()) {
    // info.lines is the record's last line; a quoted field may span several.
    const line = info.lines - record.join('').split('\n').length + 1;
    const field = (column: Column) =>
      position[column] < 0 ? '' : (record[position[column]] ?? '').trim();
    const url = field('url');
    if (url === '') {
      errors.push({ line, reason: 'the url column is empty' });
      continue;
    }
    const reference = field('reference');
    const key = reference === '' ? `#${n}` : `ref:${reference}`;
    const group = groups.get(key);
    if (group === undefined) {
      groups.set(key, {
        lines: [line],
        urls: [url],
        description: field('description'),
        ...(reference === '' ? {} : { reference }),
      });
    } else {
      group.lines.push(line);
      group.urls.push(url);
      if (group.description === '') group.description = field('description');
    }
  }

  const reports: CsvReport[] = [];
  for (const group of groups.values()) {
    const prepared = prepareReport(
      { urls: group.urls, description: group.description, reference: group.reference },
      limits,
    );
    if (prepared.kind === 'ok') {
      reports.push({ lines: group.lines, report: prepared.report });
      continue;
    }
    for (const issue of prepared.issues) {
      const line = group.lines[Math.min(issue.index, group.lines.length - 1)];
      errors.push({
        line,
        reason:
          issue.problem === 'too-many'
            ? `reference ${group.reference ?? ''} has more than ${limits.maxUrls} URLs (TAKEDOWN_REPORT_MAX_URLS)`
            : issue.message,
      });
    }
  }
  errors.sort((a, b) => a.line - b.line);
  reports.sort((a, b) => a.lines[0] - b.lines[0]);
  return { lines: rows.length, reports, errors };
}
