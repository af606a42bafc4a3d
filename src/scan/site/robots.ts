/**
 * robots.txt, as far as a polite crawler of one's own site needs it: the
 * `Sitemap:` lines, and the `Allow`/`Disallow` rules of the group for our
 * agent (else `*`), longest match winning, `*` and `$` patterns (RFC 9309).
 * Pure.
 */

export interface Robots {
  readonly sitemaps: readonly string[];
  readonly rules: readonly Rule[];
}

interface Rule {
  readonly allow: boolean;
  readonly pattern: string;
  readonly regex: RegExp;
}

export const NO_ROBOTS: Robots = { sitemaps: [], rules: [] };

export function parseRobots(text: string, agent: string): Robots {
  const sitemaps: string[] = [];
  const groups: { agents: string[]; rules: Rule[] }[] = [];
  let current: { agents: string[]; rules: Rule[] } | undefined;
  let lastWasAgent = false;
  for (const raw of text.split(/\r?\n|\r/)) {
    const line = raw.replace(/#.*/, '').trim();
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const field = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (field === 'sitemap') {
      if (value) sitemaps.push(value);
      continue;
    }
    if (field === 'user-agent') {
      // Consecutive user-agent lines share one group.
      if (!lastWasAgent || current === undefined) {
        current = { agents: [], rules: [] };
        groups.push(current);
      }
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if ((field === 'allow' || field === 'disallow') && current !== undefined) {
      // "Disallow:" with nothing allows everything: no rule.
      if (value === '') continue;
      current.rules.push({ allow: field === 'allow', pattern: value, regex: patternRegex(value) });
    }
  }
  const name = agent.toLowerCase();
  const mine = groups.filter((g) => g.agents.some((a) => a !== '*' && name.includes(a)));
  const chosen = mine.length > 0 ? mine : groups.filter((g) => g.agents.includes('*'));
  return { sitemaps, rules: chosen.flatMap((g) => g.rules) };
}

function patternRegex(pattern: string): RegExp {
  const anchored = pattern.endsWith('$');
  const body = (anchored ? pattern.slice(0, -1) : pattern)
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}${anchored ? '$' : ''}`);
}

/** Whether a URL's path (and query) may be fetched: the longest matching rule decides, Allow on a tie. */
export function robotsAllow(robots: Robots, url: URL): boolean {
  const target = `${url.pathname}${url.search}`;
  let best: Rule | undefined;
  for (const rule of robots.rules) {
    if (!rule.regex.test(target)) continue;
    if (
      best === undefined ||
      rule.pattern.length > best.pattern.length ||
      (rule.pattern.length === best.pattern.length && rule.allow)
    ) {
      best = rule;
    }
  }
  return best === undefined || best.allow;
}
