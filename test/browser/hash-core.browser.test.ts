import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, DEFAULT_MAX_PIXELS } from '../../src/hash/file/decode.js';
import { pdq } from '../../src/hash/pdq.js';
import type * as HashModule from '../../src/hash/index.js';
import type { Browser } from '../support/browser.js';
import { launchBrowser } from '../support/browser.js';
import { conformanceImage, readExpected } from '../support/conformance.js';

/**
 * The hashing core must run unchanged in a browser (a victim hashes their own
 * images on their own device). This bundles `src/hash/index.ts` for the
 * browser, serves it under a content-security policy that forbids eval and
 * WebAssembly, and checks that Chromium computes the same hashes as Node on
 * decoded conformance images — both from raw pixels and through a canvas.
 */

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IMAGES = [
  'pdq-data/bridge-mods/aaa-orig.jpg',
  'pdq-data/labelme-subset/q0291.jpg',
  'pdq-data/misc-images/pen-and-coaster.png',
  'pytx/rgb.jpeg',
];

let server: Server;
let origin: string;
let browser: Browser;
let bundle: string;

beforeAll(async () => {
  const result = await build({
    entryPoints: [path.join(ROOT, 'src/hash/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  bundle = result.outputFiles[0].text;

  server = createServer((req, res) => {
    const csp = "default-src 'self'; script-src 'self'; object-src 'none'";
    const scripts: Record<string, string> = {
      '/hash.js': bundle,
      '/page.js': "import * as hash from './hash.js'; window.takedownHash = hash;",
    };
    const script = scripts[req.url ?? ''];
    if (script !== undefined) {
      res.writeHead(200, { 'content-type': 'text/javascript', 'content-security-policy': csp });
      res.end(script);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html', 'content-security-policy': csp });
    res.end(
      '<!doctype html><title>hash</title><canvas id="c"></canvas><script type="module" src="/page.js"></script>',
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

describe('the hashing core in Chromium', () => {
  it('is bundled without any Node built-in', () => {
    expect(bundle).not.toMatch(/from\s*["']node:/);
    expect(bundle).not.toMatch(/require\(/);
  });

  for (const relative of IMAGES) {
    it(`hashes ${relative} as Node does, from raw pixels and through a canvas`, async () => {
      const image = await decodeImage(await readFile(conformanceImage(relative)), {
        maxPixels: DEFAULT_MAX_PIXELS,
      });
      const inNode = pdq(image, { variants: true });
      const expected = readExpected('fullres').find((row) => row.path === relative);
      expect(inNode.hash).toBe(expected?.hash);

      // Canvas pixels are RGBA; hand the page RGBA with an opaque alpha.
      const rgba = new Uint8Array(image.width * image.height * 4);
      for (let i = 0, p = 0; i < image.width * image.height; i++, p += image.channels) {
        rgba[i * 4] = image.data[p];
        rgba[i * 4 + 1] = image.data[p + (image.channels >= 3 ? 1 : 0)];
        rgba[i * 4 + 2] = image.data[p + (image.channels >= 3 ? 2 : 0)];
        rgba[i * 4 + 3] = 255;
      }

      const page = await browser.context.newPage();
      const cspViolations: string[] = [];
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      try {
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => 'takedownHash' in window);
        const inBrowser = await page.evaluate(
          ({ base64, width, height }) => {
            const mod = (window as unknown as { takedownHash: typeof HashModule }).takedownHash;
            const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
            const raw = mod.pdq({ width, height, channels: 4, data: bytes }, { variants: true });
            const canvas = document.getElementById('c') as HTMLCanvasElement;
            canvas.width = width;
            canvas.height = height;
            const ctx = canvas.getContext('2d', { colorSpace: 'srgb' })!;
            ctx.putImageData(new ImageData(new Uint8ClampedArray(bytes), width, height), 0, 0);
            const data = ctx.getImageData(0, 0, width, height).data;
            const viaCanvas = mod.pdq({ width, height, channels: 4, data });
            return { raw, viaCanvas: viaCanvas.hash };
          },
          {
            base64: Buffer.from(rgba).toString('base64'),
            width: image.width,
            height: image.height,
          },
        );
        expect(inBrowser.raw).toEqual(inNode);
        expect(inBrowser.viaCanvas).toBe(inNode.hash);
        expect(cspViolations).toEqual([]);
      } finally {
        await page.close();
      }
    });
  }
});
