import { describe, expect, it } from 'vitest';
import { extractBits } from './mih-build.js';
import { flipMasks } from './mih-search.js';
import { ballVolume, binom, planChunks, planThresholds } from './mih-plan.js';

describe('multi-index plan', () => {
  it('splits all 256 bits, in chunks near log2(n) bits for big banks', () => {
    for (const n of [2048, 50_000, 1_000_000, 10_000_000]) {
      const chunks = planChunks(n);
      expect(chunks.reduce((bits, c) => bits + c.width, 0)).toBe(256);
      chunks.forEach((c, i) =>
        expect(c.start).toBe(i === 0 ? 0 : chunks[i - 1].start + chunks[i - 1].width),
      );
    }
    const widths = planChunks(10_000_000).map((c) => c.width);
    expect(Math.max(...widths)).toBeLessThanOrEqual(26);
    expect(Math.min(...widths)).toBeGreaterThanOrEqual(18);
  });

  it('gives thresholds that satisfy the pigeonhole bound, Σ(τ+1) = r+1, at every radius', () => {
    for (const n of [3000, 1_000_000]) {
      const chunks = planChunks(n);
      for (let radius = 0; radius <= 256; radius++) {
        const tau = planThresholds(chunks, n, radius, false);
        expect(tau).not.toBeNull();
        const units = [...(tau ?? [])].reduce((sum, t) => sum + t + 1, 0);
        expect(units).toBe(radius + 1);
        for (const t of tau ?? []) expect(t).toBeGreaterThanOrEqual(-1);
      }
    }
  });

  it('falls back to scanning when that is cheaper', () => {
    const chunks = planChunks(3000);
    expect(planThresholds(chunks, 3000, 31)).not.toBeNull();
    expect(planThresholds(chunks, 3000, 120)).toBeNull();
    expect(planThresholds(planChunks(10_000_000), 10_000_000, 52)).not.toBeNull();
  });

  it('counts and enumerates bit flips', () => {
    expect(binom(23, 2)).toBe(253);
    expect(ballVolume(23, 2)).toBe(277);
    for (const [bits, weight] of [
      [18, 0],
      [18, 1],
      [18, 2],
      [12, 4],
      [6, 6],
    ]) {
      const masks = flipMasks(bits, weight);
      expect(masks.length).toBe(binom(bits, weight));
      expect(new Set(masks).size).toBe(masks.length);
      for (const m of masks) {
        expect(m).toBeLessThan(2 ** bits);
        expect(m.toString(2).replaceAll('0', '').length).toBe(weight);
      }
    }
  });

  it('reads bit ranges in hex order, across word boundaries', () => {
    const words = Uint32Array.from([0x80000001, 0xf0000000, 0, 0, 0, 0, 0, 0xffffffff]);
    expect(extractBits(words, 0, 0, 1)).toBe(1);
    expect(extractBits(words, 0, 31, 5)).toBe(0b11111);
    expect(extractBits(words, 0, 0, 32)).toBe(0x80000001);
    expect(extractBits(words, 0, 224, 32)).toBe(0xffffffff);
    expect(extractBits(words, 0, 230, 26)).toBe(2 ** 26 - 1);
  });
});
