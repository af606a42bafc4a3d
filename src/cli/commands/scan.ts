import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import Table from 'cli-table3';
import pc from 'picocolors';
import { packageVersion } from '../../api/version.js';
import { MAX_PDQ_THRESHOLD } from '../../banks/banks.js';
import { loadConfig } from '../../config.js';
import { isTakedownError } from '../../errors.js';
import { countEntries } from '../../hash/file/walk.js';
import { DEFAULT_PDQ_RADIUS } from '../../match/types.js';
import { SCAN_EXIT } from '../../scan/outcome.js';
import type { ScanFlags, ScanPlan } from '../../scan/plan.js';
import { planScan } from '../../scan/plan.js';
import { DEFAULT_MIN_PDQ_QUALITY } from '../../scan/queries.js';
import { REPORT_FORMATS } from '../../scan/report-rows.js';
import type { ScanSettings } from '../../scan/run.js';
import type { ScanSummary } from '../../scan/summary.js';
import { summaryRows } from '../../scan/summary.js';
import type { ReportRow } from '../../scan/types.js';
import type { Progress } from '../progress.js';
import { startProgress } from '../progress.js';

/** The streams and signals the command uses: the process's, or a test's. */
export interface ScanCommandIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: Record<string, string | undefined>;
  readonly cwd: string;
  readonly signal?: AbortSignal;
}

/** Matches listed on the terminal; the report has them all. */
const SHOWN_MATCHES = 20;

export function registerScan(program: Command): void {
  program
    .command('scan')
    .description(
      'Check your own storage or website for known abuse material. Files are hashed on this machine; only hashes are checked, never the files.',
    )
    .argument('[dirs...]', 'folders to scan (recursively)')
    .option('--site <url>', 'crawl this website (its own host only) instead of folders')
    .option('--server <url>', 'check hashes with this hash-check service (needs an API key)')
    .option('--key <key>', 'API key for --server (better: set TAKEDOWN_API_KEY)')
    .option('--bank <file>', 'check against a bank export file, on this machine only')
    .option(
      '--threshold <bits>',
      `largest PDQ distance that matches (default: ${DEFAULT_PDQ_RADIUS} with --bank; each bank's own with --server)`,
      bits,
    )
    .option(
      '--min-quality <n>',
      'skip PDQ for images of lower quality',
      quality,
      DEFAULT_MIN_PDQ_QUALITY,
    )
    .option('--report <file>', 'write every match and problem to FILE (.json or .csv)')
    .addOption(new Option('--report-format <format>', 'report format').choices(REPORT_FORMATS))
    .option(
      '--state <file>',
      'state file for --resume (default: next to the report, or ./takedown-scan.state.jsonl)',
    )
    .option('--resume', 'continue an interrupted scan; files it finished are not read again')
    .option(
      '--since <time>',
      'only files changed since: an ISO date (2025-03-01) or an age (7d, 12h)',
    )
    .option('--dry-run', 'list what would be read; read nothing, send nothing')
    .option(
      '--exact-only',
      'exact hashes only (MD5, SHA-1, SHA-256): no decoding, much faster, misses altered copies',
    )
    .option('--jobs <n>', 'worker threads (default: one per core)', positiveInt)
    .option(
      '--retries <n>',
      'retries when the server is unreachable or fails (429 waits are extra)',
      wholeNumber,
      5,
    )
    .option('--max-pages <n>', 'site: most pages to crawl', positiveInt, 1000)
    .option('--rate <n>', 'site: requests per second', positiveNumber, 2)
    .addOption(
      new Option('--concurrency <n>', 'site: requests at once').choices(['1', '2']).default('1'),
    )
    .option(
      '--allow-private',
      'site: allow private and internal addresses (your own site on an internal network)',
    )
    .option('--include-host <host...>', 'site: also crawl these hosts (e.g. your image CDN)')
    .option('--ignore-robots', "site: crawl pages that robots.txt disallows (it's your site)")
    .addHelpText(
      'after',
      `
Examples:
  TAKEDOWN_API_KEY=… takedown scan /srv/www --server https://hotline.example --report scan.csv
  takedown scan /srv/uploads --bank banks.jsonl --since 7d --report scan.json
  takedown scan --site https://example.com --bank banks.jsonl

Exit status: 0 complete, no matches; 1 complete, matches found; 2 incomplete
(a folder could not be read, the server could not be used, interrupted) or
bad usage. Files that cannot be read or decoded are listed as errors and do
not make a scan incomplete. Only hashes leave this machine.`,
    )
    .action(async (dirs: string[], flags: Record<string, unknown>) => {
      const controller = new AbortController();
      const onSigint = () => {
        if (controller.signal.aborted) process.exit(SCAN_EXIT.incomplete);
        process.stderr.write(
          '\nStopping: finishing the files in progress (Ctrl-C again stops at once)…\n',
        );
        controller.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        process.exitCode = await runScanCommand(dirs, toFlags(flags), {
          stdout: process.stdout,
          stderr: process.stderr,
          env: process.env,
          cwd: process.cwd(),
          signal: controller.signal,
        });
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
}

function toFlags(raw: Record<string, unknown>): ScanFlags {
  return { ...(raw as unknown as ScanFlags), concurrency: Number(raw.concurrency ?? 1) };
}

/** Runs `takedown scan` and returns its exit code; every failure is a sentence on stderr and exit 2. */
export async function runScanCommand(
  dirs: readonly string[],
  flags: ScanFlags,
  io: ScanCommandIo,
): Promise<number> {
  let progress: Progress | undefined;
  const notice = (text: string) => {
    progress?.clearLine();
    io.stderr.write(`${text}\n`);
  };
  try {
    const config = loadConfig(io.env);
    const plan = planScan(dirs, flags, { cwd: io.cwd, now: new Date(), envKey: config.apiKey });
    const version = packageVersion();
    const settings: ScanSettings = {
      threshold: flags.threshold,
      minPdqQuality: flags.minQuality,
      hashOptions: { maxPixels: config.maxPixels, maxImageBytes: config.maxImageBytes },
      retry: { retries: flags.retries },
      version,
      site: {
        maxPages: flags.maxPages,
        rate: flags.rate,
        concurrency: flags.concurrency,
        allowPrivate: flags.allowPrivate === true,
        allow: config.fetchAllow,
        includeHosts: flags.includeHost ?? [],
        ignoreRobots: flags.ignoreRobots === true,
        userAgent: `Mozilla/5.0 (compatible; TakedownScan/${version}; self-scan of this site by its host)`,
        timeoutMs: config.fetchTimeoutMs,
        idleTimeoutMs: config.fetchIdleTimeoutMs,
        maxRedirects: config.fetchMaxRedirects,
        maxPageBytes: Math.min(config.fetchMaxBytes, 16 * 1024 * 1024),
        maxImageBytes: Math.min(config.fetchMaxBytes, config.maxImageBytes),
        hashOptions: { maxPixels: config.maxPixels, maxImageBytes: config.maxImageBytes },
      },
    };
    if (plan.dryRun) return await runDryRun(plan, settings, io, notice);
    // Loaded here, not at start-up: other commands need no sharp, fetcher or workers.
    const [{ runScan }, { EXACT_WORKER_URL }, { HashWorkerPool }] = await Promise.all([
      import('../../scan/run.js'),
      import('../../scan/exact-file.js'),
      import('../../hash/file/pool.js'),
    ]);

    let matched = 0;
    const shown: ReportRow[] = [];
    if (io.stderr.isTTY) {
      const roots = plan.source.kind === 'folders' ? plan.source.roots : undefined;
      progress = startProgress(io.stderr, {
        unit: roots ? 'files' : 'images',
        ...(roots ? { count: (signal: AbortSignal) => countEntries(roots, { signal }) } : {}),
        status: () => (matched > 0 ? `${matched} matched` : ''),
      });
    }
    let result;
    try {
      result = await runScan(plan, settings, {
        notice,
        onSettled: (_location, failed) => progress?.tick(failed),
        onRow: (row) => {
          if (row.status !== 'match') return;
          matched++;
          if (shown.length < SHOWN_MATCHES) shown.push(row);
        },
        signal: io.signal,
        hasher: () =>
          new HashWorkerPool({
            jobs: flags.jobs,
            ...(plan.mode === 'exact-only' ? { workerUrl: EXACT_WORKER_URL } : {}),
          }),
      });
    } finally {
      progress?.stop();
      progress = undefined;
    }
    io.stdout.write(renderSummary(result.summary, plan, shown));
    if (result.stateKept) {
      io.stderr.write(
        `The scan is incomplete. What was done is saved in ${plan.stateFile}: run the same command with --resume to continue.\n`,
      );
    }
    return result.exitCode;
  } catch (error) {
    progress?.stop();
    if (!isTakedownError(error)) throw error;
    io.stderr.write(`takedown: ${error.message}\n`);
    // Every failure that stops a scan means it is incomplete (1 would say "matches found").
    return SCAN_EXIT.incomplete;
  }
}

async function runDryRun(
  plan: ScanPlan,
  settings: ScanSettings,
  io: ScanCommandIo,
  notice: (text: string) => void,
): Promise<number> {
  const { dryRun } = await import('../../scan/dry-run.js');
  const counts = await dryRun(plan, settings.site, {
    list: (line) => io.stdout.write(`${line}\n`),
    notice,
    signal: io.signal,
  });
  const items = plan.source.kind === 'site' ? 'images' : 'files';
  const extra = [
    counts.unchanged > 0 ? `${counts.unchanged} unchanged since ${plan.since?.text}` : '',
    counts.done > 0 ? `${counts.done} already done (--resume)` : '',
    counts.problems > 0 ? `${counts.problems} that cannot be read or are not files` : '',
    plan.source.kind === 'site' ? `${counts.pages} pages crawled` : '',
  ].filter(Boolean);
  notice(
    `Dry run: a scan would read ${counts.read} ${items}${extra.length ? ` (besides: ${extra.join(', ')})` : ''}. Nothing was hashed, checked or sent.`,
  );
  return SCAN_EXIT.clean;
}

function renderSummary(summary: ScanSummary, plan: ScanPlan, shown: readonly ReportRow[]): string {
  const kind = plan.source.kind;
  const table = new Table({ style: { head: [], border: [] } });
  for (const [label, value] of summaryRows(summary, kind)) {
    const paint =
      label === 'Matched' && summary.counts.matchedItems > 0
        ? pc.red
        : label === 'INCOMPLETE'
          ? pc.yellow
          : (text: string) => text;
    table.push([pc.bold(label), paint(value)]);
  }
  let out = `${table.toString()}\n`;
  if (shown.length > 0) {
    const matches = new Table({
      head: [kind === 'site' ? 'IMAGE' : 'FILE', 'BANK', 'CATEGORY', 'BY', 'DISTANCE'],
      style: { head: ['bold'], border: [] },
    });
    for (const row of shown) {
      if (row.status !== 'match') continue;
      const where = row.location.kind === 'file' ? row.location.path : row.location.url;
      matches.push([
        where,
        row.match.bank,
        row.match.category,
        row.match.type,
        String(row.match.distance),
      ]);
    }
    out += `${matches.toString()}\n`;
    const more = summary.counts.matches - shown.length;
    if (more > 0)
      out += `… and ${more} more matches${plan.report ? ` in ${plan.report.file}` : ''}.\n`;
  }
  if (plan.report) out += `Report: ${plan.report.file}\n`;
  else if (summary.counts.matches + summary.counts.errors > 0) {
    out += 'Add --report scan.csv (or .json) for every match and error with its hashes.\n';
  }
  return out;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('must be a whole number of at least 1.');
  }
  return n;
}

function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError('must be a whole number (0 or more).');
  }
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 100) {
    throw new InvalidArgumentError('must be a number above 0 and at most 100.');
  }
  return n;
}

function bits(value: string): number {
  const n = wholeNumber(value);
  if (n > MAX_PDQ_THRESHOLD) {
    throw new InvalidArgumentError(
      `must be from 0 to ${MAX_PDQ_THRESHOLD} bits (the default, ${DEFAULT_PDQ_RADIUS}, is Meta's).`,
    );
  }
  return n;
}

function quality(value: string): number {
  const n = wholeNumber(value);
  if (n > 100) throw new InvalidArgumentError('must be from 0 to 100.');
  return n;
}
