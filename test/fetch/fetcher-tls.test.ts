import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetcher, staticResolver } from '../../src/fetch/index.js';
import { bytes, selfSignedCertificate, startWebFixture } from '../support/web-fixture.js';
import type { WebFixture } from '../support/web-fixture.js';

/**
 * TLS failures are their own outcome (an analyst reads "TLS: self-signed
 * certificate", not "unreachable"). The certificate is made at test time by
 * the openssl binary.
 */
describe('fetching over TLS', () => {
  let secure: WebFixture;
  let plain: WebFixture;
  const fetcher = createFetcher({
    allow: ['127.0.0.0/8'],
    maxBytes: 1024 * 1024,
    timeoutMs: 2_000,
    idleTimeoutMs: 1_000,
    maxRedirects: 5,
    perHost: 4,
    userAgent: 'test',
    resolver: staticResolver({ localhost: ['127.0.0.1'], 'wrong-name.example': ['127.0.0.1'] }),
  });

  beforeAll(async () => {
    secure = await startWebFixture({ tls: await selfSignedCertificate() });
    secure.route('/a', bytes('hello', 'text/plain'));
    plain = await startWebFixture();
  });
  afterAll(async () => {
    await secure?.close();
    await plain?.close();
  });

  it('reports an untrusted (self-signed) certificate as tls-error', async () => {
    const outcome = await fetcher.fetch(secure.url('/a', 'localhost'));
    expect(outcome).toMatchObject({ kind: 'tls-error', code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(outcome.kind !== 'ok' && outcome.message).toMatch(/^TLS: self[- ]signed certificate/);
    expect(secure.requests).toHaveLength(0); // the request itself was never sent
  });

  it('reports a server that does not speak TLS as tls-error', async () => {
    const outcome = await fetcher.fetch(plain.url('/a').replace('http:', 'https:'));
    expect(outcome.kind).toBe('tls-error');
  });
});
