import { describe, expect, it } from 'vitest';
import { decideAssessment } from './assessment.js';
import type { ReviewState } from './assessment.js';
import { ownBankLines } from './own-bank.js';

const now = new Date('2026-03-01T10:00:00Z');
const open: ReviewState = {
  stage: 'first',
  claimedBy: null,
  claimedLabel: null,
  claimedUntil: null,
  assessors: [],
};
const analyst = { id: 'user:1', supervisor: false };
const other = { id: 'user:2', supervisor: false };
const supervisor = { id: 'user:9', supervisor: true };

describe('decideAssessment', () => {
  it('decides at once without four eyes, and for legal verdicts with it', () => {
    expect(decideAssessment(open, analyst, 'baseline', { fourEyes: false, now })).toEqual({
      kind: 'accepted',
      effect: 'final',
      nextStage: undefined,
    });
    for (const c of ['doubtful', 'not-illegal'] as const)
      expect(decideAssessment(open, analyst, c, { fourEyes: true, now })).toMatchObject({
        effect: 'final',
      });
  });

  it('asks for a second opinion on an illegal verdict with four eyes', () => {
    for (const c of ['baseline', 'national'] as const)
      expect(decideAssessment(open, analyst, c, { fourEyes: true, now })).toEqual({
        kind: 'accepted',
        effect: 'second-opinion',
        nextStage: 'second-opinion',
      });
  });

  it('finalizes on agreement, disputes on disagreement, refuses the same person', () => {
    const waiting: ReviewState = { ...open, stage: 'second-opinion', assessors: ['user:1'] };
    expect(decideAssessment(waiting, other, 'national', { fourEyes: false, now })).toMatchObject({
      effect: 'final',
    });
    expect(decideAssessment(waiting, other, 'not-illegal', { fourEyes: true, now })).toEqual({
      kind: 'accepted',
      effect: 'disputed',
      nextStage: 'disputed',
    });
    expect(decideAssessment(waiting, analyst, 'baseline', { fourEyes: true, now })).toMatchObject({
      kind: 'refused',
      code: 'already-assessed',
      errorKind: 'conflict',
    });
  });

  it('lets only a supervisor decide a disputed item', () => {
    const disputed: ReviewState = { ...open, stage: 'disputed', assessors: ['user:1', 'user:2'] };
    expect(
      decideAssessment(disputed, { id: 'user:3', supervisor: false }, 'baseline', {
        fourEyes: true,
        now,
      }),
    ).toMatchObject({ kind: 'refused', code: 'supervisor-required', errorKind: 'forbidden' });
    expect(
      decideAssessment(disputed, supervisor, 'not-illegal', { fourEyes: true, now }),
    ).toMatchObject({ effect: 'final' });
  });

  it('refuses while someone else holds an unexpired claim', () => {
    const held: ReviewState = {
      ...open,
      claimedBy: 'user:2',
      claimedLabel: 'b@hotline.example',
      claimedUntil: new Date(now.getTime() + 60_000),
    };
    expect(decideAssessment(held, analyst, 'baseline', { fourEyes: false, now })).toMatchObject({
      kind: 'refused',
      code: 'claimed-by-other',
      details: { claimedBy: 'user:2', claimedByName: 'b@hotline.example' },
    });
    expect(decideAssessment(held, other, 'baseline', { fourEyes: false, now })).toMatchObject({
      kind: 'accepted',
    });
    const later = new Date(now.getTime() + 120_000);
    expect(
      decideAssessment(held, analyst, 'baseline', { fourEyes: false, now: later }),
    ).toMatchObject({ kind: 'accepted' });
  });
});

describe('ownBankLines', () => {
  const item = {
    id: 7,
    md5: Buffer.alloc(16, 1),
    sha1: Buffer.alloc(20, 2),
    sha256: Buffer.alloc(32, 3),
    pdq: Buffer.alloc(32, 4),
    pdq_quality: 49,
  };
  it('adds exact hashes always and PDQ only from quality 50', () => {
    const types = (q: number) =>
      ownBankLines({ ...item, pdq_quality: q }, 1).map(
        (l) => (JSON.parse(l) as { type: string }).type,
      );
    expect(types(49)).toEqual(['sha256', 'md5', 'sha1']);
    expect(types(50)).toEqual(['sha256', 'md5', 'sha1', 'pdq']);
  });
});
