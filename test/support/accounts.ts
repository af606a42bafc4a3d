import type { Kysely } from 'kysely';
import pino from 'pino';
import type { Role } from '../../src/access/principal.js';
import { createApp } from '../../src/api/app.js';
import { createMetrics } from '../../src/api/metrics.js';
import type { Authenticator } from '../../src/api/access.js';
import { AUTHENTICATORS } from '../../src/api/authenticators.js';
import { Readiness } from '../../src/api/readiness.js';
import type { ApiApp, AppDeps, RouteModule } from '../../src/api/types.js';
import { ROUTE_MODULES } from '../../src/api/routes.js';
import { systemActor } from '../../src/audit/record.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/store/database.js';
import { createUser } from '../../src/users/accounts.js';
import { argon2Hasher } from '../../src/users/passwords.js';
import { createSession, sessionPolicy } from '../../src/users/sessions.js';
import { newTotpSecret, totpCode } from '../../src/users/totp.js';
import type { SessionStage } from '../../src/users/tables.js';

/**
 * Accounts, sessions and a cookie-keeping client for tests of the access
 * layer against the real app. Time is a settable clock, so TOTP codes and
 * session expiry are exact.
 */

export const hasher = argon2Hasher();

export class TestClock {
  constructor(private current = new Date('2026-03-01T09:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export const TEST_ENV = {
  // Tests set X-Forwarded-For to play clients at different addresses.
  TAKEDOWN_TRUSTED_PROXY_HOPS: '1',
} as const;

export interface TestAppOptions {
  readonly modules?: readonly RouteModule[];
  readonly env?: Record<string, string>;
  /** Tried before the real authenticators (e.g. a stand-in for API keys). */
  readonly authenticators?: readonly Authenticator[];
}

export function testApp(
  db: Kysely<Database>,
  clock: TestClock,
  options: TestAppOptions = {},
): ApiApp {
  const config = loadConfig({ ...TEST_ENV, ...options.env });
  const logger = pino({ level: 'silent' });
  const metrics = createMetrics({ processMetrics: false });
  const deps: AppDeps = {
    db,
    config,
    logger,
    clock,
    metrics,
    readiness: new Readiness(),
    version: 'test',
  };
  return createApp(
    {
      db,
      config,
      logger,
      metrics,
      clock,
      authenticators: [
        ...(options.authenticators ?? []),
        ...AUTHENTICATORS.map((make) => make(deps)),
      ],
    },
    options.modules ?? ROUTE_MODULES,
  );
}

export interface TestAccount {
  readonly id: number;
  readonly email: string;
  readonly password: string;
  readonly totpSecret: string;
  readonly role: Role;
}

let counter = 0;

/** An account that has finished its first sign-in: own password, TOTP enrolled. */
/** A provider row with this id (tests name providers by id). */
export async function ensureProvider(db: Kysely<Database>, id: number): Promise<void> {
  await db
    .insertInto('provider')
    .values({ id, name: `Test provider ${id}`, contact_email: null })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

export async function makeAccount(
  db: Kysely<Database>,
  role: Role,
  options: { providerId?: number; email?: string } = {},
): Promise<TestAccount> {
  counter += 1;
  const email = options.email ?? `${role}-${process.pid}-${counter}@hotline.example`;
  const providerId = options.providerId ?? (role === 'provider' ? 1 : null);
  if (providerId !== null) await ensureProvider(db, providerId);
  const created = await createUser(
    db,
    hasher,
    { email, role, providerId },
    { actor: systemActor('cli:test'), now: new Date() },
  );
  const password = `correct horse battery ${counter}`;
  const totpSecret = newTotpSecret();
  await db
    .updateTable('app_user')
    .set({
      password_hash: await hasher.hash(password),
      must_change_password: false,
      password_expires_at: null,
      totp_secret: totpSecret,
      totp_enabled_at: new Date(),
    })
    .where('id', '=', created.user.id)
    .execute();
  return { id: created.user.id, email, password, totpSecret, role };
}

/** A session straight in the table, skipping sign-in (for tests about what a session may do). */
export async function sessionFor(
  db: Kysely<Database>,
  clock: TestClock,
  userId: number,
  stage: SessionStage = 'active',
): Promise<Browser> {
  const session = await createSession(db, {
    userId,
    stage,
    now: clock.now(),
    policy: sessionPolicy(loadConfig({})),
    ip: null,
    userAgent: null,
  });
  const browser = new Browser();
  browser.cookie = session.token;
  browser.csrf = session.csrfToken;
  return browser;
}

export const COOKIE = '__Host-takedown-session';

export interface Sent {
  readonly status: number;
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  readonly headers: Headers;
}

/** Keeps the session cookie and CSRF token the way a browser page would. */
export class Browser {
  cookie: string | undefined;
  csrf: string | undefined;
  address = '203.0.113.10';

  async send(
    app: ApiApp,
    method: string,
    path: string,
    options: { json?: unknown; headers?: Record<string, string>; csrf?: boolean } = {},
  ): Promise<Sent> {
    const headers: Record<string, string> = {
      'x-forwarded-for': this.address,
      'user-agent': 'test-browser',
      ...options.headers,
    };
    if (this.cookie !== undefined) headers.cookie = `${COOKIE}=${this.cookie}`;
    if (options.csrf !== false && this.csrf !== undefined) headers['x-csrf-token'] = this.csrf;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const res = await app.request(path, {
      method,
      headers,
      ...(options.json === undefined ? {} : { body: JSON.stringify(options.json) }),
    });
    for (const line of res.headers.getSetCookie()) {
      const match = new RegExp(`^${COOKIE}=([^;]*)`).exec(line);
      if (match !== null) this.cookie = match[1] === '' ? undefined : match[1];
    }
    const type = res.headers.get('content-type') ?? '';
    const body: unknown = type.includes('json') ? await res.json() : await res.text();
    const csrf = body as { csrfToken?: string; session?: { csrfToken?: string } } | null;
    if (typeof csrf === 'object' && csrf !== null) {
      const token = csrf.csrfToken ?? csrf.session?.csrfToken;
      if (token !== undefined) this.csrf = token;
    }
    return { status: res.status, body, headers: res.headers };
  }

  /** Password then TOTP: a signed-in browser. */
  async signIn(app: ApiApp, clock: TestClock, account: TestAccount): Promise<void> {
    const first = await this.send(app, 'POST', '/v1/session/login', {
      json: { email: account.email, password: account.password },
    });
    if (first.status !== 200)
      throw new Error(`login: ${first.status} ${JSON.stringify(first.body)}`);
    // A code may be used once: move to the next 30-second step each time.
    clock.advance(30_000);
    const second = await this.send(app, 'POST', '/v1/session/second-factor', {
      json: { code: totpCode(account.totpSecret, clock.now()) },
    });
    if (second.status !== 200 || second.body.state !== 'signed-in') {
      throw new Error(`second factor: ${second.status} ${JSON.stringify(second.body)}`);
    }
  }
}
