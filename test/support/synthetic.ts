/**
 * Synthetic test images: gradients, shapes and seeded noise, generated in
 * code. Never real photographs, never anything downloaded.
 */

/** A small seeded PRNG (mulberry32) so every run sees the same pixels. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RawImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

/**
 * A "photo-like" RGB image: smooth gradients, a few filled discs and
 * rectangles in random colours, plus light noise. Seed picks the layout.
 */
export function syntheticImage(
  width: number,
  height: number,
  seed: number,
  channels: 3 | 4 = 3,
): RawImage {
  const random = rng(seed);
  const data = new Uint8Array(width * height * channels);
  const shapes = Array.from({ length: 6 + Math.floor(random() * 6) }, () => ({
    kind: random() < 0.5 ? 'disc' : 'rect',
    x: random() * width,
    y: random() * height,
    r: (0.05 + random() * 0.3) * Math.min(width, height),
    w: (0.1 + random() * 0.4) * width,
    h: (0.1 + random() * 0.4) * height,
    color: [random() * 255, random() * 255, random() * 255],
  }));
  const g0 = [random() * 255, random() * 255, random() * 255];
  const g1 = [random() * 255, random() * 255, random() * 255];
  const angle = random() * Math.PI * 2;
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  const noise = 4 + random() * 12;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = Math.min(1, Math.max(0, 0.5 + ((x / width - 0.5) * ca + (y / height - 0.5) * sa)));
      let c = [
        g0[0] + (g1[0] - g0[0]) * t,
        g0[1] + (g1[1] - g0[1]) * t,
        g0[2] + (g1[2] - g0[2]) * t,
      ];
      for (const s of shapes) {
        const inside =
          s.kind === 'disc'
            ? (x - s.x) ** 2 + (y - s.y) ** 2 < s.r * s.r
            : x >= s.x && x < s.x + s.w && y >= s.y && y < s.y + s.h;
        if (inside) c = s.color;
      }
      const p = (y * width + x) * channels;
      for (let k = 0; k < 3; k++) {
        data[p + k] = Math.max(0, Math.min(255, Math.round(c[k] + (random() - 0.5) * noise)));
      }
      if (channels === 4) data[p + 3] = 255;
    }
  }
  return { width, height, channels, data };
}

/** Uniform noise: worst case for the hash's float arithmetic. */
export function noiseImage(
  width: number,
  height: number,
  seed: number,
  channels: 1 | 3 | 4 = 3,
): RawImage {
  const random = rng(seed);
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
  return { width, height, channels, data };
}
