import type { HashErrorCode } from '../hash/file/errors.js';
import type { ProblemCode, ProblemKind } from './types.js';

/**
 * How per-item problems count, and what the scan's exit code is. Pure.
 *
 * Exit codes (documented in the README and `takedown scan --help`):
 *   0  the scan is complete and nothing matched;
 *   1  the scan is complete and something matched;
 *   2  the scan is incomplete: a root could not be read, checking failed
 *      (server unreachable after retries, key refused, bad bank file), the
 *      scan was interrupted, or the usage was wrong.
 * Problems with single items (a damaged image, a file that cannot be read,
 * a file that changed while it was read) do not make a scan incomplete:
 * they are counted, listed in the report, and the exit code is 0 or 1. An
 * incomplete scan exits 2 even when it found matches (they are in the report
 * and the summary), because 0 and 1 are claims about everything scanned.
 */
export const SCAN_EXIT = { clean: 0, matches: 1, incomplete: 2 } as const;

/**
 * Nothing to check is not a failure: empty files, special files (FIFOs,
 * sockets, devices), links that loop or lead nowhere, image links that
 * answer 404 or 410. Everything else means
 * content was there that could not be checked fully.
 */
const SKIPPED: ReadonlySet<ProblemCode> = new Set<ProblemCode>([
  'empty-file',
  'not-a-file',
  'symlink-loop',
  'broken-link',
  'not-an-image',
  // A site's broken image link: there is no image there to check.
  'http-not-found',
]);

export function problemKind(code: ProblemCode): ProblemKind {
  return SKIPPED.has(code) ? 'skipped' : 'error';
}

/**
 * Problems that hashing the same bytes again would give again. Records with
 * these are kept in the state file; the others (a file that changed while it
 * was read, a permission or read error, a crashed worker) are not, so that
 * `--resume` tries those files again.
 */
const STABLE: ReadonlySet<HashErrorCode> = new Set<HashErrorCode>([
  'empty-file',
  'corrupt-image',
  'unsupported-image',
  'image-too-large',
  'not-an-image',
]);

export function worthResuming(code: HashErrorCode | undefined): boolean {
  return code === undefined || STABLE.has(code);
}

export interface ScanVerdict {
  /** Every root was read, every hash was checked, and the scan was not interrupted. */
  readonly complete: boolean;
  readonly matchedItems: number;
}

export function exitCode(verdict: ScanVerdict): number {
  if (!verdict.complete) return SCAN_EXIT.incomplete;
  return verdict.matchedItems > 0 ? SCAN_EXIT.matches : SCAN_EXIT.clean;
}
