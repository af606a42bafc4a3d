import { planFiles } from './folders.js';
import type { ScanPlan } from './plan.js';
import { ScanSession } from './session.js';
import type { SiteScanOptions } from './site/site-scan.js';
import { scanSite } from './site/site-scan.js';
import { readStateFile } from './state-file.js';

export interface DryRunCounts {
  /** Files or images that a scan would read. */
  read: number;
  unchanged: number;
  /** Already done in the state of an interrupted scan (`--resume`). */
  done: number;
  problems: number;
  pages: number;
}

/**
 * `--dry-run`: lists every file (or image URL) a scan would read, and reads
 * none of them. Nothing is hashed, nothing is sent to any checker, no state
 * or report is written. A site's pages are still fetched (the images they
 * show cannot be known otherwise); its images are not.
 */
export async function dryRun(
  plan: ScanPlan,
  site: Omit<SiteScanOptions, 'resume' | 'signal' | 'notice' | 'listOnly'>,
  io: { list: (line: string) => void; notice: (text: string) => void; signal?: AbortSignal },
): Promise<DryRunCounts> {
  const counts: DryRunCounts = { read: 0, unchanged: 0, done: 0, problems: 0, pages: 0 };
  const state = plan.resume ? await readStateFile(plan.stateFile) : undefined;
  const since = state?.header.sinceAt ? new Date(state.header.sinceAt) : plan.since?.at;
  if (plan.source.kind === 'folders') {
    const decisions = planFiles(plan.source.roots, {
      since,
      resume: state?.entries,
      signal: io.signal,
    });
    for await (const decision of decisions) {
      if (decision.kind === 'hash') {
        counts.read++;
        io.list(decision.path);
      } else if (decision.kind === 'unchanged') counts.unchanged++;
      else if (decision.kind === 'resumed') counts.done++;
      else counts.problems++;
    }
    return counts;
  }
  const session = new ScanSession({
    checker: {
      maxBatch: 1,
      target: { kind: 'bank-file', path: '(dry run)', entries: 0 },
      check: () => Promise.reject(new Error('A dry run checks nothing.')),
    },
    threshold: 0,
    minPdqQuality: 0,
    rows: { add: () => undefined },
  });
  await scanSite(plan.source.url, session, {
    ...site,
    resume: state?.entries,
    signal: io.signal,
    notice: io.notice,
    listOnly: (url, page) => {
      counts.read++;
      io.list(`${url}\t(on ${page})`);
    },
  });
  counts.pages = session.counts.pages;
  counts.problems = session.counts.errors + session.counts.skipped;
  counts.done = state?.entries.size ?? 0;
  return counts;
}
