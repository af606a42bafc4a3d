import { TakedownError } from '../errors.js';
import { normalizeUrl } from './normalize-url.js';
import type { NormalizedUrl, UrlProblem } from './normalize-url.js';
import type { ReporterContact } from './tables.js';

/**
 * What every way in (public form, partner batch, CSV import) checks before a
 * report is stored: its URLs normalized and de-duplicated, within the limit,
 * its text cleaned. Pure; problems are values (`invalid`) so that a batch or
 * an import can say which report or line is wrong and keep the rest.
 */

export interface ReportInput {
  readonly urls: readonly string[];
  readonly description?: string;
  readonly contact?: ReporterContact;
  readonly isVictim?: boolean;
  /** The sender's own reference (partners, CSV). */
  readonly reference?: string;
}

export interface PreparedUrl {
  readonly url: NormalizedUrl;
  /** Lower-case host name (IPv6 without brackets). */
  readonly host: string;
}

export interface PreparedReport {
  /** Distinct, in the order given. */
  readonly urls: readonly PreparedUrl[];
  readonly description: string;
  /** Undefined when the reporter left nothing (no contact, not a victim). */
  readonly contact: { readonly details: ReporterContact; readonly isVictim: boolean } | undefined;
  readonly reference: string | undefined;
}

export interface UrlIssue {
  /** Position in `urls`. */
  readonly index: number;
  readonly problem: UrlProblem | 'too-many';
  readonly message: string;
}

export type PrepareResult =
  | { readonly kind: 'ok'; readonly report: PreparedReport }
  | { readonly kind: 'invalid'; readonly message: string; readonly issues: readonly UrlIssue[] };

export const MAX_DESCRIPTION_CHARS = 10_000;
export const MAX_REFERENCE_CHARS = 200;

export function prepareReport(
  input: ReportInput,
  limits: { readonly maxUrls: number },
): PrepareResult {
  if (input.urls.length === 0) {
    return invalid('A report needs at least one URL.', []);
  }
  const issues: UrlIssue[] = [];
  const seen = new Map<string, PreparedUrl>();
  input.urls.forEach((raw, index) => {
    const result = normalizeUrl(raw);
    if (result.kind === 'invalid') {
      issues.push({ index, problem: result.problem, message: result.message });
      return;
    }
    if (!seen.has(result.url)) seen.set(result.url, { url: result.url, host: hostOf(result.url) });
  });
  if (issues.length > 0) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more; see details)` : '';
    return invalid(`urls[${first.index}]: ${first.message}${more}`, issues);
  }
  if (seen.size > limits.maxUrls) {
    return invalid(
      `A report may name at most ${limits.maxUrls} different URLs; this one has ${seen.size}. Split it into several reports.`,
      [{ index: limits.maxUrls, problem: 'too-many', message: 'over the limit' }],
    );
  }
  const contact = cleanContact(input.contact);
  return {
    kind: 'ok',
    report: {
      urls: [...seen.values()],
      description: cleanText(input.description ?? '').slice(0, MAX_DESCRIPTION_CHARS),
      contact:
        contact === undefined && input.isVictim !== true
          ? undefined
          : { details: contact ?? {}, isVictim: input.isVictim === true },
      reference: emptyToUndefined(cleanText(input.reference ?? '').slice(0, MAX_REFERENCE_CHARS)),
    },
  };
}

/** As prepareReport, but an invalid report is a 400 naming the problem (single reports). */
export function prepareReportOrThrow(
  input: ReportInput,
  limits: { readonly maxUrls: number },
): PreparedReport {
  const result = prepareReport(input, limits);
  if (result.kind === 'ok') return result.report;
  const tooMany = result.issues.some((issue) => issue.problem === 'too-many');
  throw new TakedownError(tooMany ? 'too-many-urls' : 'invalid-url', result.message, {
    details: {
      issues: result.issues.map((i) => ({
        path: `urls.${i.index}`,
        problem: i.problem,
        message: i.message,
      })),
      ...(tooMany ? { limit: limits.maxUrls } : {}),
    },
  });
}

export function hostOf(url: NormalizedUrl): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Control characters out (tabs and newlines stay), ends trimmed. */
export function cleanText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '').trim();
}

function cleanContact(contact: ReporterContact | undefined): ReporterContact | undefined {
  if (contact === undefined) return undefined;
  const cleaned: Record<string, string> = {};
  for (const field of ['name', 'email', 'phone'] as const) {
    const value = contact[field];
    if (value !== undefined && cleanText(value) !== '') cleaned[field] = cleanText(value);
  }
  return Object.keys(cleaned).length === 0 ? undefined : cleaned;
}

function emptyToUndefined(text: string): string | undefined {
  return text === '' ? undefined : text;
}

function invalid(message: string, issues: readonly UrlIssue[]): PrepareResult {
  return { kind: 'invalid', message, issues };
}
