import type { ColumnType, Generated } from 'kysely';
import type {
  AgeGroup,
  AssessmentEffect,
  Classification,
  Gender,
  ReviewStage,
  SiteType,
} from './assessment.js';

/** Row types of the analyst queue (migration 0010-assessments). */

/**
 * Where a queued item stands with analysts. No row: first assessment due,
 * nobody holds it. A claim is exclusive until `claimed_until`; after that
 * anyone may take it.
 */
export interface ItemReviewTable {
  item_id: number;
  stage: ColumnType<ReviewStage, ReviewStage | undefined, ReviewStage>;
  /** describePrincipal() of the holder: "user:12", "key:7". */
  claimed_by: string | null;
  /** Who that is for people (an e-mail address), at the time of the claim. */
  claimed_label: string | null;
  claimed_until: Date | null;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** One analyst's assessment of one media item, with the INHOPE/ICCAM fields. */
export interface AssessmentTable {
  id: Generated<number>;
  item_id: number;
  assessor: string;
  assessor_label: string | null;
  assessor_role: string | null;
  classification: Classification;
  age_group: AgeGroup;
  gender: Gender;
  virtual: boolean;
  site_type: SiteType;
  commercial: boolean;
  note: ColumnType<string, string | undefined, string>;
  /** What it did: decided the item, asked for a second opinion, or sent it to a supervisor. */
  effect: AssessmentEffect;
  created_at: Generated<Date>;
}

export interface AssessTables {
  item_review: ItemReviewTable;
  assessment: AssessmentTable;
}
