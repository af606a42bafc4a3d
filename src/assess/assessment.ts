import { ICCAM_CLASSIFICATIONS } from '../classify/classify.js';

/**
 * What an analyst's assessment does to a queued media item. Pure: the
 * route loads the item's review state, asks `decideAssessment`, and writes
 * what it says.
 *
 * The rules (README "The analyst queue"):
 *
 * - Anyone who may work the queue may assess an item nobody holds; an item
 *   someone else holds (an unexpired claim) is theirs to assess (409).
 * - Nobody assesses the same item twice before it is decided (409).
 * - Four eyes off: the assessment decides the item.
 * - Four eyes on: an illegal assessment (baseline or national) of an item
 *   assessed by nobody yet asks for a second opinion; the item stays in the
 *   queue. Doubtful and not illegal decide at once.
 * - A second opinion that also says illegal decides the item, with the
 *   second assessment's fields; one that says doubtful or not illegal
 *   disputes it: the item stays queued, flagged for a supervisor.
 * - A disputed item is decided by the next assessment of someone holding
 *   `assessments:approve` (a supervisor), whatever it says; others get 403.
 *
 * Whether four eyes is on is read when an item gets its first assessment:
 * an item already waiting for a second opinion keeps waiting if the
 * setting is turned off meanwhile.
 */

export const CLASSIFICATIONS = ICCAM_CLASSIFICATIONS;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const AGE_GROUPS = ['not-determined', 'infant', 'pre-pubescent', 'pubescent'] as const;
export type AgeGroup = (typeof AGE_GROUPS)[number];

export const GENDERS = ['not-determined', 'female', 'male', 'both'] as const;
export type Gender = (typeof GENDERS)[number];

export const SITE_TYPES = [
  'website',
  'image-host',
  'file-host',
  'forum',
  'image-board',
  'social-network',
  'video-host',
  'other',
] as const;
export type SiteType = (typeof SITE_TYPES)[number];

/** first: no assessment yet. second-opinion: one illegal assessment, waiting for another person. disputed: two disagree; a supervisor decides. */
export const REVIEW_STAGES = ['first', 'second-opinion', 'disputed'] as const;
export type ReviewStage = (typeof REVIEW_STAGES)[number];

export type AssessmentEffect = 'final' | 'second-opinion' | 'disputed';

/** How long a claim holds unless renewed (by claiming again). */
export const CLAIM_MINUTES = 30;

export interface AssessmentFields {
  readonly classification: Classification;
  readonly ageGroup: AgeGroup;
  readonly gender: Gender;
  readonly virtual: boolean;
  readonly siteType: SiteType;
  readonly commercial: boolean;
  readonly note?: string | undefined;
}

/** Baseline (illegal everywhere, INTERPOL criteria) and national (illegal here) are illegal. */
export function isIllegal(classification: string): classification is 'baseline' | 'national' {
  return classification === 'baseline' || classification === 'national';
}

export interface ReviewState {
  readonly stage: ReviewStage;
  readonly claimedBy: string | null;
  readonly claimedLabel: string | null;
  readonly claimedUntil: Date | null;
  /** Everyone who assessed the item so far (it is undecided, so this round). */
  readonly assessors: readonly string[];
}

export interface Assessor {
  /** describePrincipal(): "user:12", "key:7". */
  readonly id: string;
  /** Holds `assessments:approve`. */
  readonly supervisor: boolean;
}

export type AssessDecision =
  | {
      readonly kind: 'accepted';
      readonly effect: AssessmentEffect;
      /** The stage the item moves to; undefined once the item is decided. */
      readonly nextStage: ReviewStage | undefined;
    }
  | {
      readonly kind: 'refused';
      readonly code: string;
      readonly message: string;
      readonly errorKind: 'conflict' | 'forbidden';
      readonly details?: Record<string, unknown>;
    };

export function decideAssessment(
  state: ReviewState,
  assessor: Assessor,
  classification: Classification,
  options: { readonly fourEyes: boolean; readonly now: Date },
): AssessDecision {
  const held = heldByOther(state, assessor.id, options.now);
  if (held !== undefined) return held;
  if (state.assessors.includes(assessor.id)) {
    return {
      kind: 'refused',
      code: 'already-assessed',
      message:
        state.stage === 'second-opinion'
          ? 'You assessed this item already: the second opinion must come from someone else.'
          : 'You assessed this item already; it waits for someone else.',
      errorKind: 'conflict',
      details: { stage: state.stage },
    };
  }
  const final = { kind: 'accepted', effect: 'final', nextStage: undefined } as const;
  switch (state.stage) {
    case 'first':
      return options.fourEyes && isIllegal(classification)
        ? { kind: 'accepted', effect: 'second-opinion', nextStage: 'second-opinion' }
        : final;
    case 'second-opinion':
      return isIllegal(classification)
        ? final
        : { kind: 'accepted', effect: 'disputed', nextStage: 'disputed' };
    case 'disputed':
      if (assessor.supervisor) return final;
      return {
        kind: 'refused',
        code: 'supervisor-required',
        message:
          'Two analysts disagreed about this item: a supervisor (permission "assessments:approve") decides it.',
        errorKind: 'forbidden',
        details: { stage: state.stage },
      };
  }
}

/** The refusal for an item someone else holds, if it is held. */
export function heldByOther(
  state: Pick<ReviewState, 'claimedBy' | 'claimedLabel' | 'claimedUntil'>,
  who: string,
  now: Date,
): AssessDecision | undefined {
  if (state.claimedBy === null || state.claimedUntil === null) return undefined;
  if (state.claimedBy === who || state.claimedUntil.getTime() <= now.getTime()) return undefined;
  return {
    kind: 'refused',
    code: 'claimed-by-other',
    message: `${state.claimedLabel ?? state.claimedBy} is working on this item until ${state.claimedUntil.toISOString()}.`,
    errorKind: 'conflict',
    details: {
      claimedBy: state.claimedBy,
      claimedByName: state.claimedLabel,
      claimedUntil: state.claimedUntil.toISOString(),
    },
  };
}
