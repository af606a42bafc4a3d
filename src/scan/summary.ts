import type { CheckTarget } from './types.js';

/** What a scan counted; the terminal table and the report's `summary` both show it. */
export interface ScanCounts {
  /** Files (or image URLs) the scan came across, problems included. */
  found: number;
  /** Hashed in this run. */
  hashed: number;
  /** Taken from the state file of an interrupted run (`--resume`), not hashed again. */
  resumed: number;
  /** Left out by `--since`. */
  unchanged: number;
  /** Recognised as images by their content. */
  images: number;
  /** Images with a PDQ hash. */
  pdq: number;
  /** Items whose hashes were checked against the bank. */
  checked: number;
  /** Items with at least one match, and matches (rows) in all. */
  matchedItems: number;
  matches: number;
  /** Items with content that could not be checked fully (see the report). */
  errors: number;
  /** Items with nothing to check: empty, special files, looping or broken links. */
  skipped: number;
  /** Site scans: pages fetched. */
  pages: number;
}

export function emptyCounts(): ScanCounts {
  return {
    found: 0,
    hashed: 0,
    resumed: 0,
    unchanged: 0,
    images: 0,
    pdq: 0,
    checked: 0,
    matchedItems: 0,
    matches: 0,
    errors: 0,
    skipped: 0,
    pages: 0,
  };
}

export interface ScanSummary {
  readonly counts: ScanCounts;
  readonly seconds: number;
  readonly complete: boolean;
  /** Why the scan is incomplete, in a sentence. */
  readonly incomplete?: string;
  readonly target?: CheckTarget;
  /** Distinct hashes sent to the checker, and requests. */
  readonly hashesSent: number;
  readonly requests: number;
}

/** Rows of the terminal summary: label, value. Pure. */
export function summaryRows(summary: ScanSummary, kind: 'folders' | 'site'): [string, string][] {
  const c = summary.counts;
  const n = (value: number) => value.toLocaleString('en');
  const items = kind === 'site' ? 'images' : 'files';
  const rate = summary.seconds > 0 ? (c.hashed + c.resumed) / summary.seconds : 0;
  const rows: [string, string][] = [];
  if (kind === 'site') rows.push(['Pages crawled', n(c.pages)]);
  rows.push([
    kind === 'site' ? 'Images found' : 'Files found',
    `${n(c.found)}${c.unchanged > 0 ? ` (${n(c.unchanged)} unchanged since --since, not read)` : ''}`,
  ]);
  rows.push([
    `${kind === 'site' ? 'Images' : 'Files'} scanned`,
    `${n(c.hashed + c.resumed)}${c.resumed > 0 ? ` (${n(c.resumed)} from the interrupted run)` : ''}`,
  ]);
  if (kind === 'folders') rows.push(['Images', `${n(c.images)} (${n(c.pdq)} with PDQ)`]);
  const count = (value: number, one: string, many: string) =>
    `${n(value)} ${value === 1 ? one : many}`;
  rows.push([
    'Matched',
    c.matchedItems === 0
      ? 'none'
      : `${count(c.matchedItems, items.slice(0, -1), items)} (${count(c.matches, 'match', 'matches')})`,
  ]);
  rows.push(['Errors', c.errors === 0 ? 'none' : `${n(c.errors)} (see the report)`]);
  if (c.skipped > 0) rows.push(['Skipped', `${n(c.skipped)} (empty, special files or links)`]);
  if (summary.target) {
    const against =
      summary.target.kind === 'server'
        ? summary.target.url
        : `${summary.target.path} (${n(summary.target.entries)} hashes)`;
    rows.push([
      'Checked against',
      `${against}: ${n(summary.hashesSent)} hashes in ${n(summary.requests)} ${summary.requests === 1 ? 'batch' : 'batches'}`,
    ]);
  }
  rows.push([
    'Time',
    `${formatDuration(summary.seconds)}${rate > 0 ? `, ${rate.toFixed(1)} ${items}/s` : ''}`,
  ]);
  if (!summary.complete) rows.push(['INCOMPLETE', summary.incomplete ?? 'the scan did not finish']);
  return rows;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}
