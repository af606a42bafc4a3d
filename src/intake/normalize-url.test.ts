import { describe, expect, it } from 'vitest';
import { TakedownError } from '../errors.js';
import { normalizeUrl, normalizeUrlOrThrow } from './normalize-url.js';

const ok = (input: string) => {
  const result = normalizeUrl(input);
  if (result.kind !== 'ok') throw new Error(`${input}: ${result.message}`);
  return result.url as string;
};

describe('normalizeUrl', () => {
  it.each([
    ['HTTP://Example.COM/Path', 'http://example.com/Path'],
    ['http://example.com', 'http://example.com/'],
    ['http://example.com:80/a', 'http://example.com/a'],
    ['https://example.com:443/a', 'https://example.com/a'],
    ['https://example.com:8443/a', 'https://example.com:8443/a'],
    ['http://example.com:443/a', 'http://example.com:443/a'],
    ['http://example.com/a#top', 'http://example.com/a'],
    ['http://example.com/a?b=1#top', 'http://example.com/a?b=1'],
    ['http://example.com/a?', 'http://example.com/a'],
    ['http://example.com./a', 'http://example.com/a'],
    ['  http://example.com/a \n', 'http://example.com/a'],
    ['http://user:secret@example.com/a', 'http://example.com/a'],
    ['http://bücher.example/straße', 'http://xn--bcher-kva.example/stra%C3%9Fe'],
    ['http://XN--BCHER-KVA.example/', 'http://xn--bcher-kva.example/'],
    ['http://example.com/a/./b/../c', 'http://example.com/a/c'],
    ['http://example.com/%7euser/%7E', 'http://example.com/~user/~'],
    ['http://example.com/a%2fb%3a', 'http://example.com/a%2Fb%3A'],
    ['http://example.com/?q=%7e&r=%2f', 'http://example.com/?q=~&r=%2F'],
    ['http://example.com/?b=2&a=1', 'http://example.com/?b=2&a=1'],
    ['http://0x7f.1/', 'http://127.0.0.1/'],
    ['http://[::FFFF:127.0.0.1]:8080/', 'http://[::ffff:7f00:1]:8080/'],
    ['http://example.com/a b', 'http://example.com/a%20b'],
  ])('%s -> %s', (input, expected) => {
    expect(ok(input)).toBe(expected);
  });

  it('is idempotent', () => {
    for (const input of [
      'HTTP://Bücher.Example.:80/%7ea/../b%2f?x=%7e&y=%41#f',
      'https://example.com/a%252F',
      'http://example.com/%2e%2E/x',
    ]) {
      const once = ok(input);
      expect(ok(once)).toBe(once);
    }
  });

  it.each([
    ['', 'empty', /empty/],
    ['   ', 'empty', /empty/],
    ['example.com/page', 'missing-scheme', /http:\/\/ or https:\/\//],
    ['example.com:8080/page', 'missing-scheme', /no scheme/],
    ['ftp://example.com/file', 'unsupported-scheme', /Only http and https.*ftp:/],
    ['javascript:alert(1)', 'unsupported-scheme', /javascript:/],
    ['data:image/png;base64,AAAA', 'unsupported-scheme', /data:/],
    ['file:///etc/passwd', 'unsupported-scheme', /file:/],
    ['http://exa mple.com/', 'malformed', /not a valid URL/],
    ['http://', 'malformed', /not a valid URL/],
    ['http://[::1/', 'malformed', /not a valid URL/],
    [`http://example.com/${'a'.repeat(9000)}`, 'too-long', /longer than 8192/],
  ])('refuses %j as %s', (input, problem, message) => {
    const result = normalizeUrl(input);
    expect(result).toMatchObject({ kind: 'invalid', problem });
    expect(result.kind === 'invalid' && result.message).toMatch(message);
  });

  it('throws a bad-input TakedownError for the API and CLI', () => {
    expect(normalizeUrlOrThrow('http://Example.com')).toBe('http://example.com/');
    const error = (() => {
      try {
        normalizeUrlOrThrow('gopher://example.com/');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TakedownError);
    expect(error).toMatchObject({
      code: 'invalid-url',
      kind: 'bad-input',
      details: { problem: 'unsupported-scheme' },
    });
  });
});
