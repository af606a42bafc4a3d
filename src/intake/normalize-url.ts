import { TakedownError } from '../errors.js';

/**
 * The one spelling of a reported URL, so that the same page reported twice
 * (with another case of host, a default port, a fragment, an IDN in Unicode
 * or punycode…) is recognised as the same page. Pure: no DNS, no network.
 *
 * WHATWG URL parsing (what browsers do) already converts IDN hosts to
 * punycode, lower-cases the host, drops default ports, resolves dot segments
 * and canonicalises IPv4 spellings such as 0x7f.1; on top of that we drop
 * the fragment (never sent to the server) and user:password (not part of
 * what is published, and a classic disguise: http://bank.example@evil.example/),
 * drop a trailing dot of the host and an empty query, and write
 * percent-escapes one way (unreserved characters decoded, hex in upper case,
 * as RFC 3986 section 6.2.2 allows). The query is otherwise kept as it is:
 * parameter order and case can matter to the server.
 */

export type NormalizedUrl = string & { readonly __brand: 'NormalizedUrl' };

export type UrlProblem =
  'empty' | 'too-long' | 'missing-scheme' | 'unsupported-scheme' | 'malformed';

export type NormalizeResult =
  | { readonly kind: 'ok'; readonly url: NormalizedUrl }
  | { readonly kind: 'invalid'; readonly problem: UrlProblem; readonly message: string };

/** Longer URLs are refused: no real page needs more, and they are a cheap way to bloat storage. */
export const MAX_URL_LENGTH = 8192;

export function normalizeUrl(input: string): NormalizeResult {
  const text = input.trim();
  if (text === '') return invalid('empty', 'The URL is empty.');
  if (text.length > MAX_URL_LENGTH)
    return invalid('too-long', `The URL is longer than ${MAX_URL_LENGTH} characters.`);
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(text)?.[1]?.toLowerCase();
  // "example.com/page" or "example.com:8080/page" (where "example.com" would parse as a scheme).
  if (scheme === undefined || (scheme.includes('.') && !text.includes('://')))
    return invalid(
      'missing-scheme',
      `"${shorten(text)}" has no scheme: write it with http:// or https:// in front.`,
    );
  if (scheme !== 'http' && scheme !== 'https')
    return invalid(
      'unsupported-scheme',
      `Only http and https URLs can be reported; "${shorten(text)}" is ${scheme}:.`,
    );
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return invalid('malformed', `"${shorten(text)}" is not a valid URL.`);
  }
  url.hash = '';
  url.username = '';
  url.password = '';
  if (url.hostname.endsWith('.') && url.hostname.length > 1)
    url.hostname = url.hostname.replace(/\.+$/, '');
  if (url.hostname === '') return invalid('malformed', `"${shorten(text)}" has no host name.`);
  const search = url.search === '?' ? '' : url.search;
  const normalized = `${url.protocol}//${url.host}${escapes(url.pathname)}${escapes(search)}`;
  // Parsing again canonicalises anything the escape rewrite exposed.
  const final = new URL(normalized).href;
  return { kind: 'ok', url: final as NormalizedUrl };
}

/** As normalizeUrl, but a bad URL is a 400-style TakedownError naming the problem. */
export function normalizeUrlOrThrow(input: string): NormalizedUrl {
  const result = normalizeUrl(input);
  if (result.kind === 'ok') return result.url;
  throw new TakedownError('invalid-url', result.message, {
    kind: 'bad-input',
    details: { problem: result.problem },
  });
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** %7e -> ~ (unreserved characters need no escape); %2f -> %2F (reserved ones keep theirs). */
function escapes(part: string): string {
  return part.replace(/%([0-9a-fA-F]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

function invalid(problem: UrlProblem, message: string): NormalizeResult {
  return { kind: 'invalid', problem, message };
}

function shorten(text: string): string {
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}
