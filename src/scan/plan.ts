import path from 'node:path';
import { TakedownError } from '../errors.js';
import type { ReportFormat } from './report-rows.js';
import { reportFormatFor } from './report-rows.js';
import { checkUrl } from './server-checker.js';
import { parseSince } from './since.js';
import type { ScanSource } from './state.js';
import type { ScanMode } from './types.js';

/** `takedown scan`'s options as the command line gives them. */
export interface ScanFlags {
  readonly site?: string;
  readonly server?: string;
  readonly key?: string;
  readonly bank?: string;
  /** --threshold, when given. */
  readonly threshold?: number;
  readonly minQuality: number;
  readonly report?: string;
  readonly reportFormat?: ReportFormat;
  readonly state?: string;
  readonly resume?: boolean;
  readonly since?: string;
  readonly dryRun?: boolean;
  readonly exactOnly?: boolean;
  readonly jobs?: number;
  readonly retries: number;
  readonly maxPages: number;
  readonly rate: number;
  readonly concurrency: number;
  readonly allowPrivate?: boolean;
  readonly includeHost?: readonly string[];
  readonly ignoreRobots?: boolean;
}

export type CheckPlan =
  | { readonly kind: 'server'; readonly server: string; readonly key: string }
  | { readonly kind: 'bank-file'; readonly file: string }
  /** `--dry-run`: nothing is checked, nothing is sent. */
  | { readonly kind: 'none' };

/** Everything a scan will do, decided before it does anything. */
export interface ScanPlan {
  readonly source: ScanSource;
  readonly mode: ScanMode;
  readonly since?: { readonly text: string; readonly at: Date };
  readonly check: CheckPlan;
  readonly report?: { readonly file: string; readonly format: ReportFormat };
  readonly stateFile: string;
  readonly resume: boolean;
  readonly dryRun: boolean;
}

export const DEFAULT_STATE_FILE = 'takedown-scan.state.jsonl';

/**
 * Checks the combination of options and resolves paths and times. Pure:
 * `cwd`, `now` and the key from the environment come in. Throws
 * `TakedownError` (exit 2) with what to change.
 */
export function planScan(
  dirs: readonly string[],
  flags: ScanFlags,
  context: { readonly cwd: string; readonly now: Date; readonly envKey: string | undefined },
): ScanPlan {
  const source = scanSource(dirs, flags, context.cwd);
  const dryRun = flags.dryRun === true;
  const check = checkPlan(flags, context.envKey, dryRun, context.cwd);
  if (source.kind === 'site' && flags.since !== undefined) {
    // A site's images carry no reliable change time; every image is checked.
    throw usage('--since is for folders; a site scan checks every image it finds.');
  }
  if (source.kind === 'site' && flags.exactOnly) {
    // Images fetched from a site are hashed in memory anyway; PDQ is what finds resized copies.
    throw usage('--exact-only is for folders; a site scan always computes PDQ as well.');
  }
  const report =
    flags.report === undefined
      ? undefined
      : {
          file: path.resolve(context.cwd, flags.report),
          format: reportFormatFor(flags.report, flags.reportFormat),
        };
  if (report === undefined && flags.reportFormat !== undefined) {
    throw usage('--report-format needs --report FILE.');
  }
  const stateFile = path.resolve(
    context.cwd,
    flags.state ??
      (report ? `${report.file.replace(/\.[a-z]+$/i, '')}.state.jsonl` : DEFAULT_STATE_FILE),
  );
  return {
    source,
    mode: flags.exactOnly ? 'exact-only' : 'pdq',
    ...(flags.since === undefined
      ? {}
      : { since: { text: flags.since, at: parseSince(flags.since, context.now) } }),
    check,
    ...(report ? { report } : {}),
    stateFile,
    resume: flags.resume === true,
    dryRun,
  };
}

function scanSource(dirs: readonly string[], flags: ScanFlags, cwd: string): ScanSource {
  if (flags.site !== undefined && dirs.length > 0) {
    throw usage('Scan folders or a site (--site), not both at once: run two scans.');
  }
  if (flags.site !== undefined) return { kind: 'site', url: siteUrl(flags.site) };
  if (dirs.length === 0) {
    throw usage(
      'Say what to scan: one or more folders (takedown scan /srv/www) or a website (takedown scan --site https://example.com).',
    );
  }
  // Absolute, so the report and the state say exactly which files they mean.
  return { kind: 'folders', roots: dirs.map((dir) => path.resolve(cwd, dir)) };
}

/** The site's start URL: http(s), without its fragment. */
export function siteUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`);
  } catch {
    throw usage(`--site ${JSON.stringify(text)} is not a web address, e.g. https://example.com.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usage(`--site must be an http or https address, got ${text}.`);
  }
  url.hash = '';
  return url.href;
}

function checkPlan(
  flags: ScanFlags,
  envKey: string | undefined,
  dryRun: boolean,
  cwd: string,
): CheckPlan {
  if (flags.server !== undefined && flags.bank !== undefined) {
    throw usage('Check against a server (--server) or a bank file (--bank), not both.');
  }
  if (dryRun) return { kind: 'none' };
  if (flags.bank !== undefined) return { kind: 'bank-file', file: path.resolve(cwd, flags.bank) };
  if (flags.server !== undefined) {
    checkUrl(flags.server);
    const key = flags.key ?? envKey;
    if (key === undefined || key.trim() === '') {
      throw usage(
        '--server needs an API key: set TAKEDOWN_API_KEY (or pass --key). The hotline that runs the server issues keys to providers.',
      );
    }
    return { kind: 'server', server: flags.server, key: key.trim() };
  }
  throw usage(
    'Say what to check against: --server URL (a hash-check service, with an API key) or --bank FILE (a bank export file). Add --dry-run to only list what would be read.',
  );
}

function usage(message: string): TakedownError {
  return new TakedownError('invalid-scan-options', message, { kind: 'bad-input' });
}
