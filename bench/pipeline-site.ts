/**
 * The benchmark's web site: N pages with 1-5 synthetic images each (JPEG or
 * PNG, 320x240 to 800x600), generated once into a cache folder with a
 * manifest, and a loopback HTTP server for it (run as its own process, so
 * that serving does not compete with the pipeline's event loop).
 *
 * Images are drawn by libvips from an SVG of random shapes over Gaussian
 * noise (fast, and files of realistic size); never photographs, nothing
 * downloaded. A seeded share of them is "known": the manifest carries their
 * PDQ and MD5 for the bank.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { hashBytes } from '../src/hash/file/hash-file.js';
import { rng } from '../test/support/synthetic.js';

export interface SiteImage {
  readonly file: string;
  readonly known: boolean;
}

export interface SiteManifest {
  readonly version: 1;
  readonly pages: ReadonlyArray<{ readonly images: readonly SiteImage[] }>;
  /** "type,value" lines for the bank: PDQ and MD5 of every known image. */
  readonly bankLines: readonly string[];
  readonly knownShare: number;
}

const MANIFEST = 'manifest.json';

export async function ensureSite(
  dir: string,
  pages: number,
  knownShare: number,
  log: (line: string) => void,
): Promise<SiteManifest> {
  const file = path.join(dir, MANIFEST);
  let earlier: SiteManifest | undefined;
  if (existsSync(file)) {
    const manifest = JSON.parse(await readFile(file, 'utf8')) as SiteManifest;
    if (manifest.knownShare === knownShare) {
      if (manifest.pages.length >= pages) return manifest;
      earlier = manifest;
    }
  }
  await mkdir(path.join(dir, 'i'), { recursive: true });
  const random = rng(20261123);
  const plan = Array.from({ length: pages }, () =>
    Array.from({ length: 1 + Math.floor(random() * 5) }, () => ({
      png: random() < 0.3,
      width: 320 + Math.floor(random() * 481),
      height: 240 + Math.floor(random() * 361),
      known: random() < knownShare,
      seed: Math.floor(random() * 2 ** 31),
    })),
  );
  const all = plan.flat();
  // A smaller site made earlier is the start of this one (same seeded plan):
  // its images and bank lines are kept and only the new pages are drawn.
  const kept = earlier?.pages.reduce((sum, p) => sum + p.images.length, 0) ?? 0;
  const bankLines: string[] = [...(earlier?.bankLines ?? [])];
  const started = Date.now();
  let done = 0;
  const work = all.map((spec, n) => ({ spec, n })).slice(kept);
  if (kept > 0) log(`  keeping the ${kept} images of the first ${earlier?.pages.length} pages`);
  const next = async (): Promise<void> => {
    for (let task = work.shift(); task !== undefined; task = work.shift()) {
      const { spec, n } = task;
      const name = `${n}.${spec.png ? 'png' : 'jpg'}`;
      const bytes = await drawImage(spec.width, spec.height, spec.seed, spec.png);
      await writeFile(path.join(dir, 'i', name), bytes);
      if (spec.known) {
        const hashed = await hashBytes(bytes);
        if (hashed.pdq === undefined || hashed.md5 === undefined)
          throw new Error(`no PDQ for ${name}`);
        bankLines.push(`pdq,${hashed.pdq}`, `md5,${hashed.md5}`);
      }
      done += 1;
      if (done % 2000 === 0)
        log(`  ${done}/${all.length} images (${Math.round((Date.now() - started) / 1000)} s)`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, next));
  let n = 0;
  const manifest: SiteManifest = {
    version: 1,
    knownShare,
    bankLines,
    pages: plan.map((images) => ({
      images: images.map((spec) => ({
        file: `${n++}.${spec.png ? 'png' : 'jpg'}`,
        known: spec.known,
      })),
    })),
  };
  await writeFile(file, JSON.stringify(manifest));
  return manifest;
}

async function drawImage(
  width: number,
  height: number,
  seed: number,
  png: boolean,
): Promise<Buffer> {
  const random = rng(seed);
  const colour = () =>
    `rgb(${Math.floor(random() * 256)},${Math.floor(random() * 256)},${Math.floor(random() * 256)})`;
  const shapes: string[] = [];
  for (let i = 0, count = 6 + Math.floor(random() * 8); i < count; i++) {
    const x = Math.floor(random() * width);
    const y = Math.floor(random() * height);
    shapes.push(
      random() < 0.5
        ? `<circle cx="${x}" cy="${y}" r="${Math.floor((0.05 + random() * 0.3) * Math.min(width, height))}" fill="${colour()}"/>`
        : `<rect x="${x}" y="${y}" width="${Math.floor((0.1 + random() * 0.4) * width)}" height="${Math.floor((0.1 + random() * 0.4) * height)}" fill="${colour()}" transform="rotate(${Math.floor(random() * 90)} ${x} ${y})"/>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" y1="0" x2="${random().toFixed(2)}" y2="1">
      <stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs>
    <g opacity="0.9"><rect width="100%" height="100%" fill="url(#g)"/>${shapes.join('')}</g></svg>`;
  const image = sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 24 },
    },
  }).composite([{ input: Buffer.from(svg), blend: 'over' }]);
  return png
    ? image.png({ compressionLevel: 6 }).toBuffer()
    : image.jpeg({ quality: 70 + Math.floor(random() * 25) }).toBuffer();
}

/** Loopback addresses the site answers on: each is a "host", as image hosts are many. */
export const SITE_HOSTS = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 1}`);

/** The host page `n` lives on (its images are on the same host). */
export function pageHost(n: number): string {
  return SITE_HOSTS[n % SITE_HOSTS.length];
}

/** Serves /p/<n> (a page) and /i/<file> (an image) from the cache on every SITE_HOSTS address; prints the port. */
export async function serveSite(dir: string): Promise<void> {
  const manifest = JSON.parse(await readFile(path.join(dir, MANIFEST), 'utf8')) as SiteManifest;
  const handler: http.RequestListener = (req, res) => {
    const url = req.url ?? '/';
    const pageMatch = /^\/p\/(\d+)$/.exec(url);
    if (pageMatch !== null) {
      const entry = manifest.pages[Number(pageMatch[1])];
      if (entry === undefined) return void res.writeHead(404).end();
      const body = `<!doctype html><html><head><meta charset="utf-8"><title>gallery ${pageMatch[1]}</title></head><body>
<h1>Image host: gallery ${pageMatch[1]}</h1>
${entry.images.map((img) => `<div class="thumb"><a href="/view/${img.file.replace(/\.\w+$/, '')}"><img src="/i/${img.file}" alt=""></a></div>`).join('\n')}
<footer>Upload your pictures! <a href="/terms">Terms</a></footer></body></html>`;
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-length': Buffer.byteLength(body),
      });
      return void res.end(body);
    }
    const imageMatch = /^\/i\/(\d+\.(jpg|png))$/.exec(url);
    if (imageMatch === null) return void res.writeHead(404).end();
    readFile(path.join(dir, 'i', imageMatch[1])).then(
      (bytes) => {
        res.writeHead(200, {
          'content-type': imageMatch[2] === 'png' ? 'image/png' : 'image/jpeg',
          'content-length': bytes.length,
        });
        res.end(bytes);
      },
      () => res.writeHead(404).end(),
    );
  };
  let port = 0;
  for (const host of SITE_HOSTS) {
    const server = http.createServer(handler);
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    port = (server.address() as AddressInfo).port;
  }
  process.stdout.write(`port ${port}\n`);
}
