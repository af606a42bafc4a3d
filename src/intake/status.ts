import type { CaseState } from './tables.js';

/**
 * What a reporter may learn from their tracking code: one word for the whole
 * report, and nothing else (no URLs, counts, classifications or dates).
 * Derived on every look-up from the state of the report's cases and their
 * items, so no stage has to remember to update it. Pure.
 */

export const REPORT_STATUSES = [
  'received',
  'in progress',
  'assessed',
  'action taken',
  'closed',
] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

/** What the status needs to know about one case of the report. */
export interface CaseProgress {
  readonly state: CaseState;
  /** A fetch was tried (a pending case with attempts is being worked on). */
  readonly fetchAttempts: number;
  /** Items still waiting for the machine or for an analyst. */
  readonly openItems: number;
  readonly actionTakenAt: Date | null;
  readonly closedAt: Date | null;
}

const RANK: Readonly<Record<ReportStatus, number>> = {
  received: 0,
  'in progress': 1,
  assessed: 2,
  'action taken': 3,
  closed: 4,
};

export function caseStatus(progress: CaseProgress): ReportStatus {
  if (progress.closedAt !== null) return 'closed';
  if (progress.actionTakenAt !== null) return 'action taken';
  switch (progress.state) {
    case 'pending':
      return progress.fetchAttempts > 0 ? 'in progress' : 'received';
    case 'queued':
      return 'in progress';
    case 'fetched':
      return progress.openItems > 0 ? 'in progress' : 'assessed';
    case 'classified':
      return 'assessed';
    case 'unavailable':
      // Nothing could be looked at; such cases are closed when recorded.
      return 'closed';
  }
}

/**
 * The report is as far as its least advanced URL: "assessed" only when every
 * URL is, "received" only while nothing has started on any of them.
 */
export function reportStatus(cases: readonly CaseProgress[]): ReportStatus {
  if (cases.length === 0) return 'received';
  const statuses = cases.map(caseStatus);
  if (statuses.every((status) => status === 'received')) return 'received';
  const least = statuses.reduce((a, b) => (RANK[b] < RANK[a] ? b : a));
  return least === 'received' ? 'in progress' : least;
}
