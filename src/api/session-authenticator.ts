import type { Principal } from '../access/principal.js';
import { TakedownError } from '../errors.js';
import { sameSecret } from '../users/secrets.js';
import {
  findSession,
  judgeSession,
  sessionPolicy,
  sessionPrincipal,
  touchSession,
} from '../users/sessions.js';
import type { AuthenticatorFactory } from './access.js';
import { clearSessionCookie, hasSessionCookie, readSessionCookie } from './session-cookie.js';

/**
 * Session cookies to principals: a signed-in person ('user') or one half-way
 * through signing in ('signing-in'). An ended session (signed out, expired,
 * idle, revoked, account disabled) is refused with 401 and its cookie
 * cleared; on public routes it is ignored instead, so that a stale cookie
 * never stands in the way of signing in again.
 */
export const sessionAuthenticator: AuthenticatorFactory = (deps) => {
  const policy = sessionPolicy(deps.config);
  // The CSRF token of the session behind each principal this request produced.
  const csrfTokens = new WeakMap<Principal, string>();
  return {
    name: 'session',
    async authenticate(c, { permission }) {
      if (!hasSessionCookie(c, deps.config)) return undefined;
      const token = readSessionCookie(c, deps.config);
      const now = deps.clock.now();
      const session = token === undefined ? undefined : await findSession(deps.db, token);
      const judgement =
        session === undefined
          ? ({ kind: 'ended', reason: 'unknown' } as const)
          : judgeSession(session, now, policy);
      if (session === undefined || judgement.kind === 'ended') {
        clearSessionCookie(c, deps.config);
        if (permission === 'public') return undefined;
        throw new TakedownError(
          'session-ended',
          'Your session has ended (signed out, expired, or ended by an administrator); sign in again.',
          {
            kind: 'unauthorized',
            details: { reason: judgement.kind === 'ended' ? judgement.reason : 'unknown' },
          },
        );
      }
      if (judgement.touch) await touchSession(deps.db, session.id, now);
      const principal = sessionPrincipal(session);
      csrfTokens.set(principal, session.csrf_token);
      return principal;
    },
    checkCsrf(c, principal) {
      const expected = csrfTokens.get(principal);
      const given = c.req.header('x-csrf-token');
      return expected !== undefined && given !== undefined && sameSecret(given, expected);
    },
  };
};
