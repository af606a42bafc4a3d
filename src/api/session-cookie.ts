import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../config.js';
import type { AppEnv } from './types.js';

/**
 * The session cookie: HttpOnly (page scripts cannot read it), SameSite=Strict
 * (other sites' pages do not send it), Secure with the __Host- prefix
 * (HTTPS only, this host only, whole site) unless TAKEDOWN_COOKIE_SECURE=false
 * for plain-HTTP testing. It expires with the session's absolute lifetime;
 * idle expiry and revocation are enforced on the server.
 */

type CookieConfig = Pick<Config, 'cookieSecure'>;

const NAME = 'takedown-session';

export function readSessionCookie(c: Context<AppEnv>, config: CookieConfig): string | undefined {
  const value = config.cookieSecure ? getCookie(c, NAME, 'host') : getCookie(c, NAME);
  // Our tokens are 43 base64url characters; anything else is not worth a query.
  return value !== undefined && /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
}

export function hasSessionCookie(c: Context<AppEnv>, config: CookieConfig): boolean {
  return (config.cookieSecure ? getCookie(c, NAME, 'host') : getCookie(c, NAME)) !== undefined;
}

export function writeSessionCookie(
  c: Context<AppEnv>,
  config: CookieConfig,
  token: string,
  expiresAt: Date,
): void {
  setCookie(c, NAME, token, {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    expires: expiresAt,
    ...(config.cookieSecure ? { secure: true, prefix: 'host' as const } : {}),
  });
}

export function clearSessionCookie(c: Context<AppEnv>, config: CookieConfig): void {
  setCookie(c, NAME, '', {
    httpOnly: true,
    sameSite: 'Strict',
    path: '/',
    maxAge: 0,
    ...(config.cookieSecure ? { secure: true, prefix: 'host' as const } : {}),
  });
}

/** The cookie's name as a client sends it, for tests and documentation. */
export function sessionCookieName(config: CookieConfig): string {
  return config.cookieSecure ? `__Host-${NAME}` : NAME;
}
