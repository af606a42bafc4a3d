import { TakedownError, isTakedownError } from '../errors.js';
import { DEFAULT_PDQ_RADIUS } from '../match/types.js';
import type { HashOptions } from '../hash/file/hash-file.js';
import type { FileHasher } from '../hash/file/pool.js';
import { bankFileChecker, loadBankFile } from './bank-file.js';
import { scanFolders } from './folders.js';
import { exitCode } from './outcome.js';
import type { ScanPlan } from './plan.js';
import { ReportFile } from './report-file.js';
import type { RetryPolicy } from './server-checker.js';
import { DEFAULT_RETRY, serverChecker } from './server-checker.js';
import { ScanSession } from './session.js';
import type { SiteScanOptions } from './site/site-scan.js';
import { scanSite } from './site/site-scan.js';
import type { StateEntry, StateHeader } from './state.js';
import { checkResumable } from './state.js';
import { StateWriter, lockState, readStateFile, removeStateFile } from './state-file.js';
import type { ScanSummary } from './summary.js';
import type { HashChecker, ItemLocation, ReportRow } from './types.js';

/** Settings beyond the plan: how to match, how hard to retry, how to crawl. */
export interface ScanSettings {
  /**
   * --threshold when given. Unset, a bank file matches at Meta's 31, and a
   * server applies each bank's own threshold.
   */
  readonly threshold: number | undefined;
  readonly minPdqQuality: number;
  readonly hashOptions: HashOptions;
  readonly retry?: Partial<RetryPolicy>;
  readonly site: Omit<SiteScanOptions, 'resume' | 'signal' | 'notice'>;
  readonly version: string;
}

/** The outside world of a scan, injected (the CLI passes the process's). */
export interface ScanRunIo {
  /** A line for the person watching (standard error). */
  readonly notice: (text: string) => void;
  readonly onSettled?: (location: ItemLocation, failed: boolean) => void;
  readonly onRow?: (row: ReportRow) => void;
  readonly signal?: AbortSignal;
  /** Hashes files: the worker pool of the scan's mode. Closed by the caller. */
  readonly hasher: () => FileHasher;
  readonly fetch?: typeof globalThis.fetch;
  readonly now?: () => Date;
}

export interface ScanRunResult {
  readonly summary: ScanSummary;
  readonly exitCode: number;
  /** The state file is kept (incomplete scan) for `--resume`, or was removed. */
  readonly stateKept: boolean;
}

/**
 * Runs a planned scan (not a dry run): takes the state file's lock, loads
 * the state for `--resume`, prepares the checker, scans, checks, writes the
 * report, and removes the state once the scan is complete.
 */
export async function runScan(
  plan: ScanPlan,
  settings: ScanSettings,
  io: ScanRunIo,
): Promise<ScanRunResult> {
  const now = io.now ?? (() => new Date());
  const started = now();
  const header: StateHeader = {
    takedownScanState: 1,
    source: plan.source,
    mode: plan.mode,
    since: plan.since?.text ?? null,
    sinceAt: plan.since?.at.toISOString() ?? null,
    startedAt: started.toISOString(),
  };
  const unlock = await lockState(plan.stateFile);
  let state: StateWriter | undefined;
  let report: ReportFile | undefined;
  try {
    const resumed = plan.resume ? await readStateFile(plan.stateFile) : undefined;
    let since = plan.since?.at;
    if (resumed) {
      checkResumable(plan.stateFile, resumed.header, header);
      // An age ("7d") means the time the scan first started, not now.
      since = resumed.header.sinceAt ? new Date(resumed.header.sinceAt) : undefined;
      io.notice(
        `Resuming the scan in ${plan.stateFile}: ${resumed.entries.size.toLocaleString('en')} items are done and will not be read again.`,
      );
    } else if (plan.resume) {
      io.notice(`No state file at ${plan.stateFile}: starting a new scan.`);
    }
    const checker = await makeChecker(plan, settings, io);
    report = plan.report ? new ReportFile(plan.report.file, plan.report.format) : undefined;
    state = StateWriter.open(plan.stateFile, resumed?.header ?? header, resumed !== undefined);
    const sink = report;
    const session = new ScanSession({
      checker,
      threshold: settings.threshold,
      minPdqQuality: settings.minPdqQuality,
      rows: {
        add: (row) => {
          sink?.add(row);
          io.onRow?.(row);
        },
      },
      state,
      onSettled: io.onSettled,
    });
    const incomplete = await scanAndCheck(plan, settings, io, session, {
      resume: resumed?.entries,
      since,
    });
    const summary: ScanSummary = {
      counts: session.counts,
      seconds: (now().getTime() - started.getTime()) / 1000,
      complete: incomplete === undefined,
      ...(incomplete ? { incomplete } : {}),
      target: checker.target,
      hashesSent: session.hashesSent,
      requests: session.requests,
    };
    await report?.finish({
      version: settings.version,
      complete: summary.complete,
      ...(incomplete ? { incomplete } : {}),
      startedAt: started.toISOString(),
      finishedAt: now().toISOString(),
      source: plan.source,
      mode: plan.mode,
      ...(plan.since ? { since: plan.since.text, sinceAt: since?.toISOString() } : {}),
      checkedAgainst: checker.target,
      threshold:
        settings.threshold ??
        (checker.target.kind === 'bank-file' ? DEFAULT_PDQ_RADIUS : "each bank's own"),
      minPdqQuality: settings.minPdqQuality,
      summary: {
        ...summary.counts,
        hashesSent: summary.hashesSent,
        requests: summary.requests,
        seconds: Number(summary.seconds.toFixed(3)),
      },
    });
    report = undefined;
    state.close();
    state = undefined;
    if (summary.complete) await removeStateFile(plan.stateFile);
    return {
      summary,
      exitCode: exitCode({ complete: summary.complete, matchedItems: summary.counts.matchedItems }),
      stateKept: !summary.complete,
    };
  } finally {
    state?.close();
    await report?.discard();
    await unlock();
  }
}

/** Scans and checks; returns why the scan is incomplete, or undefined when it is complete. */
async function scanAndCheck(
  plan: ScanPlan,
  settings: ScanSettings,
  io: ScanRunIo,
  session: ScanSession,
  options: { resume?: ReadonlyMap<string, StateEntry>; since?: Date },
): Promise<string | undefined> {
  const reasons: string[] = [];
  try {
    if (plan.source.kind === 'folders') {
      const hasher = io.hasher();
      try {
        const result = await scanFolders(plan.source.roots, session, {
          ...options,
          hasher,
          hashOptions: settings.hashOptions,
          // exact-file.ts compares the open file before and after reading it.
          hasherSeesChanges: plan.mode === 'exact-only',
          signal: io.signal,
        });
        if (result.unreadableRoots.length > 0) {
          reasons.push(`could not read ${result.unreadableRoots.join(', ')}`);
        }
      } finally {
        await hasher.close();
      }
    } else {
      const result = await scanSite(plan.source.url, session, {
        ...settings.site,
        resume: options.resume,
        signal: io.signal,
        notice: io.notice,
      });
      if (result.startFailed) reasons.push(result.startFailed);
    }
    if (io.signal?.aborted) reasons.push('it was interrupted');
    await session.finish();
  } catch (error) {
    if (!isTakedownError(error) || error.kind === 'bad-input' || error.kind === 'internal') {
      throw error;
    }
    // Checking failed (server gone, key refused): what was hashed is in the state.
    reasons.push(error.message);
    io.notice(error.message);
  }
  return reasons.length > 0 ? capitalise(reasons.join('; ')) : undefined;
}

async function makeChecker(
  plan: ScanPlan,
  settings: ScanSettings,
  io: ScanRunIo,
): Promise<HashChecker> {
  switch (plan.check.kind) {
    case 'bank-file': {
      const loaded = await loadBankFile(plan.check.file);
      const unknown = Object.entries(loaded.unknownTypes);
      io.notice(
        `Loaded ${loaded.index.size.toLocaleString('en')} hashes from ${plan.check.file}${unknown.length > 0 ? ` (skipped hash types this version does not check: ${unknown.map(([t, n]) => `${n} ${t}`).join(', ')})` : ''}.`,
      );
      if (loaded.index.size === 0) {
        throw new TakedownError(
          'empty-bank-file',
          `The bank file ${plan.check.file} holds no hashes this version can check: nothing could match.`,
        );
      }
      return bankFileChecker(plan.check.file, loaded, settings.threshold ?? DEFAULT_PDQ_RADIUS);
    }
    case 'server':
      return serverChecker({
        server: plan.check.server,
        apiKey: plan.check.key,
        threshold: settings.threshold,
        policy: { ...DEFAULT_RETRY, ...settings.retry },
        userAgent: `takedown-scan/${settings.version}`,
        fetch: io.fetch,
        onWait: (ms, reason, detail) =>
          io.notice(
            reason === 'rate-limited'
              ? `The hash-check server asks to slow down (429): waiting ${Math.ceil(ms / 1000)} s.`
              : `The hash-check server did not answer (${detail}): trying again in ${Math.ceil(ms / 1000)} s.`,
          ),
      });
    case 'none':
      throw new TakedownError('internal', 'A dry run checks nothing.', { kind: 'internal' });
  }
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
