import { describe, expect, it } from 'vitest';
import { DenialBudget } from './denial-budget.js';

describe('the budget for recording refusals of unidentified callers', () => {
  it('records a few per address and minute, then reports how many it left out', () => {
    const budget = new DenialBudget(3);
    const taken = Array.from({ length: 6 }, (_, i) => budget.take('192.0.2.1', i));
    expect(taken.map((t) => t.record)).toEqual([true, true, true, false, false, false]);
    expect(budget.take('192.0.2.2', 10).record).toBe(true);
    expect(budget.take('192.0.2.1', 60_000)).toEqual({ record: true, suppressed: 3 });
    expect(budget.take('192.0.2.1', 60_001)).toEqual({ record: true, suppressed: 0 });
  });

  it('keeps its memory bounded', () => {
    const budget = new DenialBudget(1, 100);
    for (let i = 0; i < 1000; i++) budget.take(`10.0.${i >> 8}.${i & 255}`, 0);
    expect(budget.take('10.0.3.231', 0).record).toBe(false);
  });
});
