import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createFetcher, fetcherOptionsFromConfig, staticResolver } from '../../src/fetch/index.js';
import type {
  Fetcher,
  FetcherOptions,
  FetchFailure,
  FetchOk,
  FetchOutcome,
  Resolver,
} from '../../src/fetch/index.js';
import {
  bytes,
  delayed,
  encoded,
  hangUp,
  html,
  huge,
  page,
  redirect,
  startWebFixture,
  status,
  syntheticImageFile,
  trickle,
} from '../support/web-fixture.js';
import type { WebFixture } from '../support/web-fixture.js';

/**
 * The fetcher against a loopback web server. The tests reach 127.0.0.1
 * because they allow it (TAKEDOWN_FETCH_ALLOW=127.0.0.0/8, here through the
 * same config path); names resolve through an injected resolver.
 */

let web: WebFixture;
let jpeg: Buffer;

/** The test settings: loopback allowed through config, short limits. */
function fetcherFor(
  overrides: Partial<FetcherOptions> = {},
  env: Record<string, string> = {},
): Fetcher {
  const config = loadConfig({
    TAKEDOWN_FETCH_ALLOW: '127.0.0.0/8',
    TAKEDOWN_FETCH_TIMEOUT_MS: '2000',
    TAKEDOWN_FETCH_IDLE_TIMEOUT_MS: '500',
    TAKEDOWN_FETCH_MAX_BYTES: String(1024 * 1024),
    ...env,
  });
  return createFetcher({
    ...fetcherOptionsFromConfig(config),
    resolver: staticResolver({ 'site.example': ['127.0.0.1'], 'other.example': ['127.0.0.1'] }),
    ...overrides,
  });
}

function expectKind<K extends FetchOutcome['kind']>(
  outcome: FetchOutcome,
  kind: K,
): K extends 'ok' ? FetchOk : FetchFailure {
  if (outcome.kind !== kind)
    throw new Error(
      `expected ${kind}, got ${outcome.kind}: ${'message' in outcome ? outcome.message : ''}`,
    );
  return outcome as K extends 'ok' ? FetchOk : FetchFailure;
}

beforeAll(async () => {
  web = await startWebFixture();
  jpeg = await syntheticImageFile('jpeg', 1);
  web.route('/page', html(page('<img src="/a.jpg">')));
  web.route('/a.jpg', bytes(jpeg, 'image/jpeg'));
});
afterAll(() => web.close());

describe('fetching a URL', () => {
  const fetcher = fetcherFor();

  it('returns the body, what it is by its bytes, and where it came from', async () => {
    const ok = expectKind(await fetcher.fetch(web.url('/a.jpg', 'site.example')), 'ok');
    expect(ok).toMatchObject({
      status: 200,
      contentType: 'image/jpeg',
      sniffed: { kind: 'image', format: 'jpeg' },
      address: '127.0.0.1',
      redirects: [],
      finalUrl: web.url('/a.jpg', 'site.example'),
    });
    expect(Buffer.from(ok.bytes).equals(jpeg)).toBe(true);
    const request = web.requests.at(-1);
    expect(request?.headers.host).toBe(`site.example:${web.port}`);
    expect(request?.headers['user-agent']).toMatch(/Takedown/);
    expect(expectKind(await fetcher.fetch(web.url('/page')), 'ok').sniffed).toEqual({
      kind: 'html',
    });
  });

  it('trusts the bytes, not the Content-Type', async () => {
    web.route('/disguised.html', bytes(jpeg, 'text/html'));
    web.route('/disguised.jpg', bytes(page('hello'), 'image/jpeg'));
    web.route('/meta-first', bytes('<meta charset="utf-8"><img src=x.jpg>', 'text/html'));
    web.route('/plain', bytes('<meta charset="utf-8"><img src=x.jpg>', 'text/plain'));
    expect(expectKind(await fetcher.fetch(web.url('/disguised.html')), 'ok').sniffed).toEqual({
      kind: 'image',
      format: 'jpeg',
    });
    expect(expectKind(await fetcher.fetch(web.url('/disguised.jpg')), 'ok').sniffed).toEqual({
      kind: 'html',
    });
    // Text no HTML pattern recognises counts as HTML only when the server says so.
    expect(expectKind(await fetcher.fetch(web.url('/meta-first')), 'ok').sniffed).toEqual({
      kind: 'html',
    });
    expect(expectKind(await fetcher.fetch(web.url('/plain')), 'ok').sniffed).toEqual({
      kind: 'other',
    });
  });

  it('stops early with not-media when media was expected', async () => {
    const sent = { bytes: 0 };
    web.route('/big-page', huge(50 * 1024 * 1024, { contentType: 'image/jpeg', sent }));
    web.route('/page-as-image', bytes(page('x'.repeat(2000)), 'image/jpeg'));
    const outcome = expectKind(
      await fetcher.fetch(web.url('/page-as-image'), { expect: 'media' }),
      'not-media',
    );
    expect(outcome.sniffed).toEqual({ kind: 'html' });
    expect(outcome.message).toBe('expected an image or a video, got an HTML page');
    const big = expectKind(
      await fetcher.fetch(web.url('/big-page'), { expect: 'media' }),
      'not-media',
    );
    expect(big.sniffed).toEqual({ kind: 'other' });
    expect(sent.bytes).toBeLessThan(10 * 1024 * 1024); // not downloaded to the end
    expectKind(await fetcher.fetch(web.url('/a.jpg'), { expect: 'media' }), 'ok');
  });

  it('follows redirects, checking each, up to the limit', async () => {
    for (let n = 1; n <= 7; n += 1)
      web.route(`/hop${n}`, redirect(`/hop${n + 1}`, n % 2 ? 301 : 307));
    web.route('/hop8', bytes(jpeg, 'image/jpeg'));
    web.route('/to-other-host', redirect(web.url('/a.jpg', 'other.example')));
    const ok = expectKind(await fetcher.fetch(web.url('/hop4')), 'ok');
    expect(ok.redirects).toEqual([
      web.url('/hop5'),
      web.url('/hop6'),
      web.url('/hop7'),
      web.url('/hop8'),
    ]);
    expect(ok.finalUrl).toBe(web.url('/hop8'));
    const cross = expectKind(await fetcher.fetch(web.url('/to-other-host', 'site.example')), 'ok');
    expect(cross.finalUrl).toBe(web.url('/a.jpg', 'other.example'));
    const tooMany = expectKind(await fetcher.fetch(web.url('/hop1')), 'too-many-redirects');
    expect(tooMany.redirects).toHaveLength(5);
    expect(tooMany.message).toBe('more than 5 redirects');
  });

  it('refuses a redirect to something other than http(s)', async () => {
    web.route('/to-file', redirect('file:///etc/passwd'));
    web.route('/to-gopher', redirect('gopher://example.com/'));
    for (const path of ['/to-file', '/to-gopher'])
      expect((await fetcher.fetch(web.url(path))).kind).toBe('invalid-url');
    expect((await fetcher.fetch('ftp://example.com/a.jpg')).kind).toBe('invalid-url');
    expect((await fetcher.fetch('not a url')).kind).toBe('invalid-url');
  });

  it('reports 404 and 410 as not-found, other statuses as http-error', async () => {
    web.route('/gone', status(410));
    web.route('/broken', status(500));
    web.route('/forbidden', status(403));
    web.route('/redirect-nowhere', status(302));
    expect(expectKind(await fetcher.fetch(web.url('/missing')), 'not-found').status).toBe(404);
    expect(expectKind(await fetcher.fetch(web.url('/gone')), 'not-found').status).toBe(410);
    expect(expectKind(await fetcher.fetch(web.url('/broken')), 'http-error')).toMatchObject({
      status: 500,
      message: 'HTTP 500',
    });
    expect(expectKind(await fetcher.fetch(web.url('/forbidden')), 'http-error').status).toBe(403);
    expect(
      expectKind(await fetcher.fetch(web.url('/redirect-nowhere')), 'http-error').message,
    ).toMatch(/without a Location/);
  });

  it('times out on silence (idle) and on slowness (total)', async () => {
    web.route('/silent', delayed(1_500, bytes(jpeg, 'image/jpeg')));
    web.route('/slow-drip', trickle(60, 10, 50)); // 3 s in all, 50 ms between bytes
    const idle = expectKind(await fetcher.fetch(web.url('/silent')), 'timeout');
    expect(idle.message).toBe('no data from the server for 500 ms');
    const total = expectKind(await fetcher.fetch(web.url('/slow-drip')), 'timeout');
    expect(total.message).toBe('the fetch took longer than 2000 ms');
    expect(total.elapsedMs).toBeGreaterThanOrEqual(1_900);
    expect(total.elapsedMs).toBeLessThan(2_800);
  });

  it('refuses bodies over the limit, declared or not', async () => {
    web.route('/declared', huge(2 * 1024 * 1024, { declare: true }));
    const sent = { bytes: 0 };
    web.route('/chunked', huge(20 * 1024 * 1024, { sent }));
    expect(expectKind(await fetcher.fetch(web.url('/declared')), 'too-large').message).toMatch(
      /Content-Length/,
    );
    expect(expectKind(await fetcher.fetch(web.url('/chunked')), 'too-large').message).toBe(
      'the body is larger than the limit of 1048576 bytes',
    );
    expect(sent.bytes).toBeLessThan(10 * 1024 * 1024);
    // A per-call limit can only be lower.
    expectKind(await fetcher.fetch(web.url('/a.jpg'), { maxBytes: 100 }), 'too-large');
  });

  it('decompresses gzip, deflate and brotli, and stops bombs at the limit', async () => {
    const text = Buffer.from(page('compressed '.repeat(500)));
    web.route('/gzip', encoded(text, 'gzip', 'text/html'));
    web.route('/deflate', encoded(text, 'deflate', 'text/html'));
    web.route('/br', encoded(text, 'br', 'text/html'));
    for (const path of ['/gzip', '/deflate', '/br'])
      expect(
        Buffer.from(expectKind(await fetcher.fetch(web.url(path)), 'ok').bytes).equals(text),
      ).toBe(true);
    const zeros = Buffer.alloc(16 * 1024 * 1024); // about 16 KB compressed
    for (const encoding of ['gzip', 'br'] as const) {
      web.route(`/bomb-${encoding}`, encoded(zeros, encoding, 'image/jpeg'));
      const bomb = expectKind(await fetcher.fetch(web.url(`/bomb-${encoding}`)), 'too-large');
      expect(bomb.message).toBe('the decompressed body is larger than the limit of 1048576 bytes');
    }
    web.route('/zstd', bytes(text, 'text/html', { 'content-encoding': 'zstd' }));
    expect(expectKind(await fetcher.fetch(web.url('/zstd')), 'bad-response').message).toMatch(
      /unsupported content encoding "zstd"/,
    );
    web.route(
      '/corrupt',
      bytes(
        Buffer.concat([zlib.gzipSync(text).subarray(0, 10), Buffer.alloc(100, 7)]),
        'text/html',
        { 'content-encoding': 'gzip' },
      ),
    );
    expect(expectKind(await fetcher.fetch(web.url('/corrupt')), 'bad-response').message).toMatch(
      /does not decompress/,
    );
  });

  it('reports names that do not resolve, refused connections and hang-ups as unreachable', async () => {
    expect(expectKind(await fetcher.fetch('http://nowhere.example/'), 'unreachable')).toMatchObject(
      {
        code: 'ENOTFOUND',
        message: 'nowhere.example does not resolve to any address',
      },
    );
    const closed = await startWebFixture();
    const url = closed.url('/x');
    await closed.close();
    expect(expectKind(await fetcher.fetch(url), 'unreachable')).toMatchObject({
      code: 'ECONNREFUSED',
    });
    web.route('/hang-up', hangUp);
    expectKind(await fetcher.fetch(web.url('/hang-up')), 'unreachable');
  });

  it('tries the next address when one refuses the connection', async () => {
    const fallback = fetcherFor({
      resolver: staticResolver({ 'multi.example': ['127.0.0.2', '127.0.0.1'] }),
    });
    const ok = expectKind(await fallback.fetch(web.url('/a.jpg', 'multi.example')), 'ok');
    expect(ok.address).toBe('127.0.0.1');
  });

  it('is cancelled by the caller', async () => {
    web.route('/forever', delayed(10_000, status(200)));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    expect((await fetcher.fetch(web.url('/forever'), { signal: controller.signal })).kind).toBe(
      'aborted',
    );
  });

  it('sends at most perHost requests to one host at a time', async () => {
    const limited = fetcherFor({}, { TAKEDOWN_FETCH_PER_HOST: '2' });
    const slow = await startWebFixture();
    slow.route('/slow.jpg', delayed(150, bytes(jpeg, 'image/jpeg')));
    try {
      const started = performance.now();
      const outcomes = await Promise.all(
        Array.from({ length: 6 }, () => limited.fetch(slow.url('/slow.jpg', 'site.example'))),
      );
      expect(outcomes.map((o) => o.kind)).toEqual(Array(6).fill('ok'));
      expect(slow.maxConcurrent).toBe(2);
      expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 150 - 20);
      // Another host name has its own slots.
      await Promise.all(
        ['site.example', 'site.example', 'other.example', 'other.example'].map((host) =>
          limited.fetch(slow.url('/slow.jpg', host)),
        ),
      );
      expect(slow.maxConcurrent).toBe(4);
      expect(limited.inFlight('site.example')).toBe(0);
    } finally {
      await slow.close();
    }
  });
});

describe('the SSRF guard, end to end', () => {
  it('refuses loopback by default: only TAKEDOWN_FETCH_ALLOW opens it', async () => {
    const strict = createFetcher({
      ...fetcherOptionsFromConfig(loadConfig({})),
      resolver: staticResolver({ 'innocent.example': ['127.0.0.1'] }),
    });
    const before = web.requests.length;
    const literal = expectKind(await strict.fetch(web.url('/a.jpg')), 'blocked-address');
    expect(literal.message).toBe(
      '127.0.0.1 is an address that may not be fetched: 127.0.0.1 (loopback)',
    );
    const byName = expectKind(
      await strict.fetch(web.url('/a.jpg', 'innocent.example')),
      'blocked-address',
    );
    expect(byName.message).toBe(
      'innocent.example resolves only to an address that may not be fetched: 127.0.0.1 (loopback)',
    );
    for (const host of ['[::1]', '[::ffff:127.0.0.1]', '0.0.0.0', '0x7f.1', '2130706433'])
      expect((await strict.fetch(`http://${host}:${web.port}/a.jpg`)).kind, host).toBe(
        'blocked-address',
      );
    expect(web.requests.length).toBe(before); // nothing reached the server
  });

  it('refuses a redirect to a private, link-local or metadata address', async () => {
    const resolver: Resolver = staticResolver({
      'site.example': ['127.0.0.1'],
      'intranet.example': ['10.1.2.3'],
      'metadata.example': ['169.254.169.254'],
      'v6-private.example': ['fd12:3456::1'],
    });
    // Loopback and all of link-local allowed: metadata stays refused anyway.
    const fetcher = fetcherFor({ resolver, allow: ['127.0.0.0/8', '169.254.0.0/16'] });
    const targets: Array<[string, RegExp]> = [
      ['http://10.0.0.1/', /10\.0\.0\.1 \(private network \(RFC 1918\)\)/],
      ['http://192.168.1.1/admin', /private network/],
      [
        'http://intranet.example/',
        /intranet\.example resolves only to .*10\.1\.2\.3 \(private network/,
      ],
      ['http://169.254.169.254/latest/meta-data/', /cloud metadata service/],
      ['http://metadata.example/', /cloud metadata service/],
      ['http://[fd00:ec2::254]/', /cloud metadata service \(AWS IPv6/],
      ['http://v6-private.example/', /unique local address/],
      ['http://[::1]/', /loopback/],
      ['http://100.64.0.1/', /carrier-grade NAT/],
    ];
    for (const [target, reason] of targets) {
      web.route('/bounce', redirect(target));
      const outcome = expectKind(
        await fetcher.fetch(web.url('/bounce', 'site.example')),
        'blocked-address',
      );
      expect(outcome.message, target).toMatch(reason);
      expect(outcome.redirects).toHaveLength(1);
      expect(outcome.failedUrl).toBe(new URL(target).href);
    }
  });

  it('resolves once per hop and connects to the address it checked', async () => {
    const answers = [['127.0.0.1'], ['10.0.0.1']];
    const lookups: string[] = [];
    // A rebinding name: the first answer passes the check, a second one would not.
    const rebinding: Resolver = async (hostname) => {
      lookups.push(hostname);
      const next = answers.shift() ?? ['10.0.0.1'];
      return next.map((address) => ({ address, family: 4 as const }));
    };
    const fetcher = fetcherFor({ resolver: rebinding });
    const ok = expectKind(await fetcher.fetch(web.url('/a.jpg', 'rebind.example')), 'ok');
    expect(ok.address).toBe('127.0.0.1');
    expect(lookups).toEqual(['rebind.example']);
    // The next fetch sees the private answer and is refused.
    expectKind(await fetcher.fetch(web.url('/a.jpg', 'rebind.example')), 'blocked-address');
    // Mixed answers: only the allowed address is ever used.
    const mixed = fetcherFor({
      resolver: staticResolver({ 'mixed.example': ['10.0.0.1', '127.0.0.1'] }),
    });
    expect(expectKind(await mixed.fetch(web.url('/a.jpg', 'mixed.example')), 'ok').address).toBe(
      '127.0.0.1',
    );
  });
});

describe('TAKEDOWN_FETCH_ALLOW', () => {
  it('takes CIDR ranges and single addresses, and names a bad one', () => {
    expect(loadConfig({}).fetchAllow).toEqual([]);
    expect(loadConfig({ TAKEDOWN_FETCH_ALLOW: '127.0.0.0/8, ::1 ,192.0.2.7' }).fetchAllow).toEqual([
      '127.0.0.0/8',
      '::1/128',
      '192.0.2.7/32',
    ]);
    expect(() => loadConfig({ TAKEDOWN_FETCH_ALLOW: '127.0.0.0/8,localhost' })).toThrow(
      /TAKEDOWN_FETCH_ALLOW=.*"localhost" is not an address range/,
    );
  });
});
