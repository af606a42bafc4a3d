/**
 * The automatic decision about one media item, from its bank matches. Pure.
 *
 * A decisive bank match classifies the item with the bank's category; with
 * several, the most serious category wins (baseline, then national, then any
 * other named category, then doubtful, then not illegal), then the closest
 * match. A PDQ match of a low-quality hash (below 50: flat or tiny images
 * whose hashes collide by chance) is kept for the analyst but decides
 * nothing. Everything else goes to the analyst queue.
 */

/** The INHOPE/ICCAM classifications (what bank categories should use). */
export const ICCAM_CLASSIFICATIONS = ['baseline', 'national', 'doubtful', 'not-illegal'] as const;
export type IccamClassification = (typeof ICCAM_CLASSIFICATIONS)[number];

export interface MatchFound {
  readonly bankId: number;
  readonly bankName: string;
  readonly category: string;
  readonly signalType: 'pdq' | 'md5' | 'sha1' | 'sha256';
  readonly distance: number;
  readonly entryId: number;
  /** False: a low-quality PDQ hash; recorded, not used to decide. */
  readonly decisive: boolean;
}

export type ItemDecision =
  | {
      readonly kind: 'classified';
      readonly classification: string;
      /** The match that decided. */
      readonly basis: MatchFound;
    }
  | { readonly kind: 'queued' };

const SEVERITY: Readonly<Record<string, number>> = {
  baseline: 0,
  national: 1,
  doubtful: 3,
  'not-illegal': 4,
};
/** Categories outside the ICCAM four (e.g. "csam" from another hotline's list). */
const OTHER = 2;

export function severity(category: string): number {
  return SEVERITY[category.trim().toLowerCase()] ?? OTHER;
}

export function classifyByMatches(matches: readonly MatchFound[]): ItemDecision {
  const decisive = matches.filter((m) => m.decisive);
  if (decisive.length === 0) return { kind: 'queued' };
  const basis = [...decisive].sort(
    (a, b) =>
      severity(a.category) - severity(b.category) ||
      a.distance - b.distance ||
      (a.bankName < b.bankName ? -1 : a.bankName > b.bankName ? 1 : 0),
  )[0];
  return { kind: 'classified', classification: basis.category, basis };
}
