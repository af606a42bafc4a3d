import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { syntheticImage } from './synthetic.js';

/**
 * The web, as far as tests are concerned: an HTTP(S) server on 127.0.0.1
 * whose pages, images and misbehaviours the test generates. Nothing comes
 * from the internet; images are synthetic (test/support/synthetic.ts)
 * encoded by sharp.
 *
 *   const web = await startWebFixture();
 *   web.route('/page', html('<img src="/a.jpg">'));
 *   web.route('/a.jpg', bytes(await syntheticImageFile('jpeg', 1), 'image/jpeg'));
 *   await fetcher.fetch(web.url('/page'));
 *   await web.close();
 */

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface RequestRecord {
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly at: number;
}

export interface WebFixture {
  readonly port: number;
  /** http(s)://127.0.0.1:<port><path>, or with another host name (resolved by the test's resolver). */
  url(path: string, host?: string): string;
  route(path: string, handler: Handler): void;
  /** Every request received, in order. */
  readonly requests: RequestRecord[];
  /** Most requests handled at the same time so far. */
  readonly maxConcurrent: number;
  close(): Promise<void>;
}

export async function startWebFixture(
  options: { tls?: { key: string; cert: string } } = {},
): Promise<WebFixture> {
  const routes = new Map<string, Handler>();
  const requests: RequestRecord[] = [];
  const sockets = new Set<Socket>();
  let concurrent = 0;
  let maxConcurrent = 0;
  const listener: http.RequestListener = (req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://fixture').pathname;
    requests.push({ path: req.url ?? '/', headers: req.headers, at: performance.now() });
    concurrent += 1;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    res.on('close', () => (concurrent -= 1));
    const handler = routes.get(pathname) ?? routes.get(req.url ?? '/');
    if (handler === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
      return;
    }
    Promise.resolve(handler(req, res)).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });
  };
  const server = options.tls
    ? https.createServer(options.tls, listener)
    : http.createServer(listener);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = options.tls ? 'https' : 'http';
  return {
    port,
    url: (p, host = '127.0.0.1') => `${scheme}://${host}:${port}${p}`,
    route: (p, handler) => routes.set(p, handler),
    requests,
    get maxConcurrent() {
      return maxConcurrent;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---- responders -------------------------------------------------------

export function bytes(
  body: Uint8Array | string,
  contentType: string,
  headers: http.OutgoingHttpHeaders = {},
): Handler {
  return (_req, res) => {
    res.writeHead(200, {
      'content-type': contentType,
      'content-length': Buffer.byteLength(body),
      ...headers,
    });
    res.end(body);
  };
}

export const html = (markup: string): Handler => bytes(markup, 'text/html; charset=utf-8');

export function status(code: number, headers: http.OutgoingHttpHeaders = {}): Handler {
  return (_req, res) =>
    void res.writeHead(code, { 'content-type': 'text/plain', ...headers }).end(`status ${code}`);
}

export const redirect = (location: string, code = 302): Handler => status(code, { location });

/** Waits before answering at all (headers included). */
export function delayed(ms: number, then: Handler): Handler {
  return (req, res) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => resolve(then(req, res)), ms);
      res.on('close', () => clearTimeout(timer));
    });
}

/** Sends `chunks` pieces of `size` bytes, `everyMs` apart: never idle for long, but slow in total. */
export function trickle(
  chunks: number,
  size: number,
  everyMs: number,
  contentType = 'application/octet-stream',
): Handler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': contentType });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(Buffer.alloc(size, 0x61));
      sent += 1;
      if (sent >= chunks) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

/** `total` bytes, streamed without Content-Length (chunked) unless `declare`. Records how much was sent. */
export function huge(
  total: number,
  options: { declare?: boolean; contentType?: string; sent?: { bytes: number } } = {},
): Handler {
  return (_req, res) => {
    res.writeHead(200, {
      'content-type': options.contentType ?? 'application/octet-stream',
      ...(options.declare ? { 'content-length': total } : {}),
    });
    const chunk = Buffer.alloc(64 * 1024, 0x62);
    let left = total;
    const pump = () => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(chunk.length, left));
        left -= piece.length;
        if (options.sent) options.sent.bytes += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('error', () => undefined);
    pump();
  };
}

/** A body compressed with `encoding`, e.g. a bomb: megabytes of zeros in a few kilobytes. */
export function encoded(
  body: Uint8Array,
  encoding: 'gzip' | 'deflate' | 'br',
  contentType: string,
): Handler {
  const packed =
    encoding === 'gzip'
      ? zlib.gzipSync(body, { level: 9 })
      : encoding === 'deflate'
        ? zlib.deflateSync(body, { level: 9 })
        : zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  return bytes(packed, contentType, { 'content-encoding': encoding });
}

/** Accepts the connection, then hangs up without answering. */
export const hangUp: Handler = (req) => void req.socket.destroy();

// ---- content ------------------------------------------------------------

const imageCache = new Map<string, Buffer>();

/** A synthetic image (seeded shapes and gradients) encoded by sharp. */
export async function syntheticImageFile(
  format: 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif',
  seed: number,
  width = 64,
  height = 48,
): Promise<Buffer> {
  const key = `${format}-${seed}-${width}x${height}`;
  const cached = imageCache.get(key);
  if (cached) return cached;
  const raw = syntheticImage(width, height, seed);
  const file = await sharp(Buffer.from(raw.data), {
    raw: { width, height, channels: raw.channels },
  })
    .toFormat(format)
    .toBuffer();
  imageCache.set(key, file);
  return file;
}

/** A generated HTML page. */
export function page(body: string, head = ''): string {
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>fixture</title>${head}</head><body>${body}</body></html>\n`;
}

// ---- TLS ----------------------------------------------------------------

const run = promisify(execFile);

/**
 * A self-signed certificate for localhost/127.0.0.1, made now by the
 * openssl binary (node:crypto cannot make certificates; Debian ships openssl).
 */
export async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'takedown-tls-'));
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path.join(dir, 'key.pem'),
      '-out',
      path.join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ]);
    return {
      key: await fs.readFile(path.join(dir, 'key.pem'), 'utf8'),
      cert: await fs.readFile(path.join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
