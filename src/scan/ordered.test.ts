import { describe, expect, it } from 'vitest';
import { mapOrdered } from './ordered.js';

describe('mapOrdered', () => {
  it('keeps the input order with calls overlapping, never more than the limit at once', async () => {
    let running = 0;
    let most = 0;
    async function* numbers() {
      for (let i = 0; i < 20; i++) yield i;
    }
    const out: number[] = [];
    const slowFirst = async (n: number) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, n % 3 === 0 ? 15 : 1));
      running--;
      return n * 10;
    };
    for await (const value of mapOrdered(numbers(), slowFirst, 4)) out.push(value);
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i * 10));
    expect(most).toBe(4);
  });
});
