import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BankFileEntry } from '../../src/scan/bank-file.js';
import { BankIndex } from '../../src/scan/bank-file.js';

/**
 * A loopback stand-in for the hash-check API (`POST /v1/check`), following
 * its contract: Bearer key, `{"hashes":[{type,value}]}` up to 10,000, answers
 * `results` in order with `matches: [{bank, category, distance}]`, 429 with
 * Retry-After. It records every request's raw body, so a test can prove
 * what left the scanning machine. Scripted answers (a 429, a 500) go first.
 */

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  readonly at: number;
}

export interface ScriptedAnswer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

export interface CheckServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Answers given before the bank is consulted, first come first served. */
  readonly script: ScriptedAnswer[];
  close(): Promise<void>;
}

export async function startCheckServer(options: {
  key: string;
  entries: readonly BankFileEntry[];
  radius?: number;
}): Promise<CheckServer> {
  const index = new BankIndex();
  for (const entry of options.entries) index.add(entry);
  const requests: RecordedRequest[] = [];
  const script: ScriptedAnswer[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        at: Date.now(),
      });
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(payload));
      };
      const scripted = script.shift();
      if (scripted)
        return send(
          scripted.status,
          scripted.body ?? { error: { code: 'scripted', message: 'Scripted.' } },
          scripted.headers,
        );
      if (req.method !== 'POST' || req.url !== '/v1/check') {
        return send(404, { error: { code: 'not-found', message: 'No such route.' } });
      }
      if (req.headers.authorization !== `Bearer ${options.key}`) {
        return send(
          401,
          { error: { code: 'invalid-api-key', message: 'That key is not valid.' } },
          { 'www-authenticate': 'Bearer' },
        );
      }
      const parsed = JSON.parse(body.toString('utf8')) as {
        hashes: Array<{ type: 'pdq' | 'md5' | 'sha1' | 'sha256'; value: string }>;
      };
      if (parsed.hashes.length > 10_000)
        return send(413, { error: { code: 'too-many', message: 'At most 10,000.' } });
      send(200, {
        results: parsed.hashes.map((hash) => ({
          matches: index.lookup(hash, options.radius ?? 31),
        })),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    script,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
