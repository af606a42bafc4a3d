import { isIP } from 'node:net';
import { TakedownError } from '../errors.js';
import type { RuleAction } from './tables.js';

/**
 * Domain rules: which rule applies to a host, decided in plain code. A rule
 * for example.com covers example.com and every name under it; the most
 * specific domain wins, and of a do-not-fetch and a not-illegal rule for
 * the same domain, do-not-fetch (the cautious one: nothing is decided
 * without a person). force-hoster stands beside either.
 */

export interface Rule {
  readonly id: number;
  readonly domain: string;
  readonly action: RuleAction;
  readonly hoster: string | null;
}

export type RuleDecision =
  | { readonly kind: 'fetch'; readonly forcedHoster: ForcedHoster | undefined }
  | {
      readonly kind: 'do-not-fetch' | 'not-illegal';
      readonly rule: Rule;
      readonly forcedHoster: ForcedHoster | undefined;
    };

export interface ForcedHoster {
  readonly ruleId: number;
  readonly hoster: string;
}

/** "a.b.example.com" -> itself, "b.example.com", "example.com", "com"; an IP address is only itself. */
export function domainSuffixes(host: string): string[] {
  const name = host.toLowerCase().replace(/\.$/, '');
  if (isIP(name) !== 0) return [name];
  const labels = name.split('.');
  return labels.map((_, i) => labels.slice(i).join('.'));
}

/** What the rules say about `host`, given every live rule whose domain is one of its suffixes. */
export function decideRules(host: string, rules: readonly Rule[]): RuleDecision {
  const suffixes = domainSuffixes(host);
  const depth = (rule: Rule) => {
    const at = suffixes.indexOf(rule.domain);
    return at < 0 ? Number.POSITIVE_INFINITY : at;
  };
  const applicable = rules.filter((rule) => depth(rule) !== Number.POSITIVE_INFINITY);
  const mostSpecific = (action: RuleAction[]) =>
    applicable
      .filter((rule) => action.includes(rule.action))
      .sort(
        (a, b) =>
          depth(a) - depth(b) ||
          (a.action === b.action ? a.id - b.id : a.action === 'do-not-fetch' ? -1 : 1),
      )[0];
  const hosterRule = mostSpecific(['force-hoster']);
  const forcedHoster =
    hosterRule?.hoster == null ? undefined : { ruleId: hosterRule.id, hoster: hosterRule.hoster };
  const decisive = mostSpecific(['do-not-fetch', 'not-illegal']);
  if (decisive === undefined) return { kind: 'fetch', forcedHoster };
  return { kind: decisive.action as 'do-not-fetch' | 'not-illegal', rule: decisive, forcedHoster };
}

/**
 * What people type for a domain: "Example.COM", "*.example.com",
 * "https://example.com/page", "bücher.example" -> the name rules store
 * (lower case, punycode, no wildcard, no trailing dot).
 */
export function parseDomain(input: string): string {
  let text = input.trim().replace(/^\*\./, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    try {
      text = new URL(text).hostname;
    } catch {
      throw invalidDomain(input);
    }
  }
  let host: string;
  try {
    host = new URL(`http://${text}/`).hostname;
  } catch {
    throw invalidDomain(input);
  }
  host = host.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  const valid =
    isIP(host) !== 0 ||
    (host.length <= 253 &&
      host.includes('.') &&
      host.split('.').every((label) => /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/.test(label)));
  if (!valid || `${text}`.includes('/')) throw invalidDomain(input);
  return host;
}

export const MAX_HOSTER_CHARS = 200;
export const MAX_NOTE_CHARS = 1000;

function invalidDomain(input: string): TakedownError {
  return new TakedownError(
    'invalid-domain',
    `${JSON.stringify(input)} is not a domain name: give a name like example.com (it covers every subdomain too) or an IP address.`,
    { details: { domain: input } },
  );
}
