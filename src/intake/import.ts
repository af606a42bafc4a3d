import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditActor } from '../audit/index.js';
import { recordAudit } from '../audit/index.js';
import type { JobQueue } from '../jobs/index.js';
import type { Database } from '../store/database.js';
import type { CsvLineError } from './csv.js';
import { parseReportCsv } from './csv.js';
import { storeReports } from './queries.js';
import { formatTrackingCode } from './tracking-code.js';

/**
 * `takedown report import`: an analyst's CSV into reports. All or nothing
 * by default: a file with an invalid line imports nothing (unless
 * `skipInvalid`). Stored in transactions of BATCH reports, each report keyed
 * by the file's SHA-256 and its line, so importing the same file again (or
 * again after a failure half-way) adds nothing twice.
 */

export interface ImportedLine {
  readonly line: number;
  readonly trackingCode: string;
  readonly reference?: string;
  readonly urls: number;
  readonly newCases: number;
  /** The file was imported before: this is the report stored then. */
  readonly duplicate: boolean;
}

export interface ReportImportResult {
  readonly kind: 'imported' | 'rejected';
  readonly lines: number;
  readonly reports: number;
  readonly duplicates: number;
  readonly newCases: number;
  readonly joinedCases: number;
  readonly invalid: number;
  readonly errors: readonly CsvLineError[];
  readonly results: readonly ImportedLine[];
}

const BATCH = 500;

export async function importReports(
  db: Kysely<Database>,
  queue: JobQueue,
  file: { readonly name: string; readonly bytes: Buffer },
  options: {
    readonly skipInvalid: boolean;
    readonly maxUrls: number;
    readonly actor: AuditActor;
  },
): Promise<ReportImportResult> {
  const parsed = parseReportCsv(file.bytes.toString('utf8'), { maxUrls: options.maxUrls });
  const fileHash = createHash('sha256').update(file.bytes).digest('hex');
  const invalidLines = new Set(parsed.errors.map((e) => e.line)).size;
  const base = {
    lines: parsed.lines,
    invalid: invalidLines,
    errors: parsed.errors,
  };
  if (parsed.errors.length > 0 && !options.skipInvalid) {
    return {
      ...base,
      kind: 'rejected',
      reports: 0,
      duplicates: 0,
      newCases: 0,
      joinedCases: 0,
      results: [],
    };
  }
  const results: ImportedLine[] = [];
  for (let from = 0; from < parsed.reports.length; from += BATCH) {
    const slice = parsed.reports.slice(from, from + BATCH);
    const stored = await db.transaction().execute(async (trx) => {
      const rows = await storeReports(
        trx,
        queue,
        slice.map((entry) => ({
          channel: 'import',
          providerId: null,
          submittedBy: options.actor.label ?? 'cli',
          dedupeKey: `import:${fileHash}:${entry.lines[0]}`,
          report: entry.report,
        })),
      );
      await recordAudit(trx, {
        actor: options.actor,
        action: 'report.import',
        object: { type: 'file', id: file.name },
        outcome: 'allowed',
        details: {
          sha256: fileHash,
          reports: rows.filter((r) => !r.duplicate).length,
          duplicates: rows.filter((r) => r.duplicate).length,
        },
      });
      return rows;
    });
    stored.forEach((row, i) => {
      const entry = slice[i];
      results.push({
        line: entry.lines[0],
        trackingCode: formatTrackingCode(row.trackingCode),
        ...(entry.report.reference === undefined ? {} : { reference: entry.report.reference }),
        urls: entry.report.urls.length,
        newCases: row.cases.filter((c) => c.created).length,
        duplicate: row.duplicate,
      });
    });
  }
  const fresh = results.filter((r) => !r.duplicate);
  const newCases = fresh.reduce((sum, r) => sum + r.newCases, 0);
  return {
    ...base,
    kind: 'imported',
    reports: fresh.length,
    duplicates: results.length - fresh.length,
    newCases,
    joinedCases: fresh.reduce((sum, r) => sum + r.urls, 0) - newCases,
    results,
  };
}
