import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback website: a map from path to content, and a log of every
 * request it served, so a test can say what the crawler fetched (and what
 * it never touched).
 */

export interface SiteResource {
  readonly type: string;
  readonly body: Buffer | string;
  readonly status?: number;
}

export interface Site {
  readonly origin: string;
  readonly requests: string[];
  /** When each request arrived (ms, performance.now), in the order of `requests`. */
  readonly times: number[];
  readonly pages: Map<string, SiteResource>;
  close(): Promise<void>;
}

export async function startSite(host = '127.0.0.1'): Promise<Site> {
  const pages = new Map<string, SiteResource>();
  const requests: string[] = [];
  const times: number[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(url.pathname + url.search);
    times.push(performance.now());
    const resource = pages.get(url.pathname);
    if (resource === undefined) {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<h1>Not found</h1>');
      return;
    }
    res.writeHead(resource.status ?? 200, { 'content-type': resource.type });
    res.end(resource.body);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    requests,
    times,
    pages,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const html = (body: string, head = '') =>
  ({
    type: 'text/html; charset=utf-8',
    body: `<!doctype html><html><head>${head}</head><body>${body}</body></html>`,
  }) as const;
export const jpeg = (body: Buffer) => ({ type: 'image/jpeg', body }) as const;
export const png = (body: Buffer) => ({ type: 'image/png', body }) as const;
