import { z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { assertProviderScope } from '../../src/access/permissions.js';
import { secureRoute } from '../../src/api/access.js';
import { jsonContent } from '../../src/api/openapi.js';
import { ROUTE_MODULES } from '../../src/api/routes.js';
import type { ApiApp, RouteModule } from '../../src/api/types.js';
import { searchAudit } from '../../src/audit/search.js';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { addProvider, createKey } from '../../src/providers/queries.js';
import { Browser, TestClock, makeAccount, sessionFor, testApp } from '../support/accounts.js';
import type { TestAccount } from '../support/accounts.js';
import { describeEachDatabase } from '../support/db.js';

/** The attacks issue 4 lists, tried for real against the app on both databases. */

/** A provider-scoped route as the notices feature will have: a provider sees only its own. */
const providerNotices = secureRoute('notices:own', {
  method: 'get',
  path: '/v1/test-providers/{providerId}/notices',
  request: { params: z.object({ providerId: z.coerce.number().int() }) },
  responses: { 200: jsonContent(z.object({ providerId: z.number() }), 'Notices.') },
});
const scoped: RouteModule = {
  name: 'provider-scope-test',
  register(app) {
    app.openapi(providerNotices, (c) => {
      const { providerId } = c.req.valid('param');
      assertProviderScope(c.get('principal'), providerId);
      return c.json({ providerId }, 200);
    });
  },
};

const INJECTIONS = [
  `' OR '1'='1`,
  `'; DROP TABLE app_user; --`,
  `" OR ""="`,
  `1; UPDATE app_user SET role='admin'`,
  `$$; DROP TABLE audit_entry; $$`,
  `\\'; SELECT pg_sleep(3); --`,
  `%_*' UNION SELECT password_hash FROM app_user --`,
];

describeEachDatabase('attacks', (t) => {
  const clock = new TestClock();
  let app: ApiApp;
  let admin: TestAccount;
  const adminBrowser = new Browser();

  beforeAll(async () => {
    app = testApp(t.db, clock, { modules: [...ROUTE_MODULES, scoped] });
    admin = await makeAccount(t.db, 'admin');
  });
  beforeEach(() => adminBrowser.signIn(app, clock, admin));

  it('throttles guessed passwords, then locks the account, the same way for unknown accounts', async () => {
    const account = await makeAccount(t.db, 'analyst');
    const guess = (email: string, password: string, address: string) => {
      const b = new Browser();
      b.address = address;
      return b.send(app, 'POST', '/v1/session/login', { json: { email, password } });
    };
    const outcomes = async (email: string, address: string) => {
      const answers = [];
      for (let i = 0; i < 6; i++) answers.push(await guess(email, `guess number ${i}`, address));
      return answers;
    };
    const known = await outcomes(account.email, '192.0.2.50');
    const unknown = await outcomes('nobody@hotline.example', '192.0.2.51');
    for (const answers of [known, unknown]) {
      expect(answers.slice(0, 5).map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
      expect(answers[5]?.status).toBe(429);
    }
    // Nothing tells the two apart but the time.
    expect(known[0]?.body).toEqual(unknown[0]?.body);
    const strip = (b: { error: { message: string } }) =>
      b.error.message.replace(/after \S+\./, 'after T.');
    expect(strip(known[5]?.body)).toEqual(strip(unknown[5]?.body));
    expect(known[5]?.body.error).toMatchObject({
      code: 'sign-in-locked',
      message: expect.stringMatching(/Try again after 2026-03-01T\d\d:\d\d:\d\d\.\d{3}Z\./),
    });
    expect(known[5]?.headers.get('retry-after')).toBe('900');

    // Locked means locked: even the right password, from another address.
    expect((await guess(account.email, account.password, '192.0.2.52')).status).toBe(429);
    // Guessing on after the lock-out ends: the next one lasts twice as long.
    clock.advance(15 * 60_000 + 1000);
    for (let i = 0; i < 5; i++) await guess(account.email, `again ${i}`, '192.0.2.53');
    const second = await guess(account.email, 'again 6', '192.0.2.53');
    expect(second.headers.get('retry-after')).toBe('1800');
    // Once it ends, the right password works and wipes the slate.
    clock.advance(30 * 60_000 + 1000);
    await new Browser().signIn(app, clock, account);
    expect(
      await t.db
        .selectFrom('login_throttle')
        .select('key')
        .where('key', '=', `account:${account.email}`)
        .execute(),
    ).toEqual([]);

    const locked = await searchAudit(t.db, {
      action: 'session.password',
      outcome: 'denied',
      limit: 20,
    });
    expect(locked.entries.some((e) => e.actor_label === 'nobody@hotline.example')).toBe(true);
    expect(locked.entries.some((e) => e.actor_id === account.id)).toBe(true);
  });

  it('counts guesses sent in parallel before checking them', async () => {
    const account = await makeAccount(t.db, 'analyst');
    const answers = await Promise.all(
      Array.from({ length: 15 }, (_, i) => {
        const b = new Browser();
        b.address = `192.0.2.${100 + i}`;
        return b.send(app, 'POST', '/v1/session/login', {
          json: { email: account.email, password: `parallel ${i}` },
        });
      }),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  });

  it('locks an address that tries many accounts', async () => {
    const spray = async (i: number, address: string) => {
      const b = new Browser();
      b.address = address;
      return (
        await b.send(app, 'POST', '/v1/session/login', {
          json: { email: `spray${i}@hotline.example`, password: 'Winter2026!' },
        })
      ).status;
    };
    const statuses = [];
    for (let i = 0; i < 21; i++) statuses.push(await spray(i, '198.51.100.200'));
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
    expect(statuses[20]).toBe(429);
    expect(await spray(99, '198.51.100.201')).toBe(401);
    clock.advance(16 * 60_000);
  });

  it('ends a sign-in after five wrong second-factor codes', async () => {
    const account = await makeAccount(t.db, 'auditor');
    const browser = new Browser();
    await browser.send(app, 'POST', '/v1/session/login', { json: account });
    const answers = [];
    for (let i = 0; i < 5; i++) {
      answers.push(
        await browser.send(app, 'POST', '/v1/session/second-factor', {
          json: { code: String(100000 + i) },
        }),
      );
    }
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401, 401]);
    expect(answers[4]?.body.error.details).toEqual({ sessionEnded: true });
    const after = await browser.send(app, 'POST', '/v1/session/second-factor', {
      json: { code: '123456' },
    });
    expect(after.status).toBe(401);
    // The account has now had five failures: the next attempt is refused outright.
    const next = await new Browser().send(app, 'POST', '/v1/session/login', { json: account });
    expect(next.status).toBe(429);
    clock.advance(16 * 60_000);
  });

  it('refuses cookie-authenticated writes without the CSRF token, and records them', async () => {
    const victim = await makeAccount(t.db, 'analyst');
    const before = await adminBrowser.send(app, 'GET', `/v1/users/${victim.id}`);
    // A forged cross-site form: the browser sends the cookie, but the page cannot know the token.
    const forged = await adminBrowser.send(app, 'PATCH', `/v1/users/${victim.id}`, {
      json: { role: 'admin' },
      csrf: false,
      headers: { origin: 'https://evil.example' },
    });
    expect(forged.status).toBe(403);
    expect(forged.body.error.code).toBe('csrf-token-invalid');
    const wrong = await adminBrowser.send(app, 'PATCH', `/v1/users/${victim.id}`, {
      json: { role: 'admin' },
      csrf: false,
      headers: { 'x-csrf-token': 'guessed-token' },
    });
    expect(wrong.status).toBe(403);
    expect((await adminBrowser.send(app, 'GET', `/v1/users/${victim.id}`)).body).toEqual(
      before.body,
    );
    const entry = (
      await searchAudit(t.db, { action: 'access.denied', actor: `user:${admin.id}`, limit: 1 })
    ).entries[0];
    expect(entry).toMatchObject({
      outcome: 'denied',
      details: { code: 'csrf-token-invalid', method: 'PATCH' },
    });

    // Signing out without the token does nothing (the cookie is ignored), rather than failing.
    const logout = await adminBrowser.send(app, 'POST', '/v1/session/logout', { csrf: false });
    expect(logout.status).toBe(200);
    expect((await adminBrowser.send(app, 'GET', '/v1/me')).status).toBe(200);
  });

  it("refuses a provider's user and key another provider's data (403, recorded)", async () => {
    const mine = await addProvider(t.db, { name: 'Own Hosting' });
    const theirs = await addProvider(t.db, { name: 'Other Hosting' });
    const staff = await makeAccount(t.db, 'provider', { providerId: mine.id });
    const browser = await sessionFor(t.db, clock, staff.id);
    const url = (id: number) => `/v1/test-providers/${id}/notices`;
    expect((await browser.send(app, 'GET', url(mine.id))).status).toBe(200);
    const other = await browser.send(app, 'GET', url(theirs.id));
    expect(other.status).toBe(403);
    expect(other.body.error.code).toBe('forbidden-provider');
    const denial = (
      await searchAudit(t.db, { action: 'access.denied', actor: `user:${staff.id}`, limit: 1 })
    ).entries[0];
    expect(denial).toMatchObject({
      actor_role: 'provider',
      actor_provider_id: mine.id,
      object_id: 'GET /v1/test-providers/:providerId/notices',
      details: { code: 'forbidden-provider', path: url(theirs.id) },
    });

    // The same with the provider's API key (the real key authenticator of src/providers).
    const key = await createKey(t.db, mine.name);
    const withKey = (id: number) =>
      app.request(url(id), { headers: { authorization: `Bearer ${key.key}` } });
    expect((await withKey(mine.id)).status).toBe(200);
    const keyed = await withKey(theirs.id);
    expect(keyed.status).toBe(403);
    const keyDenial = (await searchAudit(t.db, { actor: `key:${key.id}`, limit: 1 })).entries[0];
    expect(keyDenial).toMatchObject({
      action: 'access.denied',
      actor_kind: 'api-key',
      actor_provider_id: mine.id,
    });
    // A key never manages accounts, whatever its role, and a revoked key is refused and recorded.
    expect(
      (await app.request('/v1/me', { headers: { authorization: `Bearer ${key.key}` } })).status,
    ).toBe(403);
    // The last character changed (a key ends in 'x' one time in 62).
    const forgedKey = key.key.slice(0, -1) + (key.key.endsWith('x') ? 'y' : 'x');
    const forged = await app.request(url(mine.id), {
      headers: { authorization: `Bearer ${forgedKey}` },
    });
    expect(forged.status).toBe(401);
    const invalid = (
      await searchAudit(t.db, { action: 'access.denied', actor: 'anonymous', limit: 1 })
    ).entries[0];
    expect(invalid?.details).toMatchObject({ code: 'invalid-api-key' });
  });

  it('records a flood of made-up keys only up to a budget per address, counting the rest', async () => {
    const flood = (n: number) =>
      app.request('/v1/me', {
        headers: {
          authorization: `Bearer tdk_${'x'.repeat(40)}${n}`,
          'x-forwarded-for': '198.51.100.99',
        },
      });
    for (let i = 0; i < 30; i++) expect((await flood(i)).status).toBe(401);
    const recorded = await t.db
      .selectFrom('audit_entry')
      .select('details')
      .where('action', '=', 'access.denied')
      .where('ip', '=', '198.51.100.99')
      .execute();
    expect(recorded).toHaveLength(20);
  });

  it('stores SQL-injection strings in every text field as text, with no effect', async () => {
    const usersBefore = await t.db
      .selectFrom('app_user')
      .select(['id', 'role'])
      .orderBy('id')
      .execute();
    for (const [i, payload] of INJECTIONS.entries()) {
      const b = new Browser();
      b.address = `192.0.2.${200 + i}`;
      const hostile = { 'user-agent': payload };
      // Login: e-mail and password.
      const login = await b.send(app, 'POST', '/v1/session/login', {
        json: { email: payload, password: payload },
        headers: hostile,
      });
      expect(login.status).toBe(401);
      // A new account whose address carries the payload (e-mail addresses may contain quotes).
      const email = `${payload.replace(/\s+/g, '')}@hotline.example`;
      const created = await adminBrowser.send(app, 'POST', '/v1/users', {
        json: { email, role: 'analyst' },
        headers: hostile,
      });
      expect([201, 400]).toContain(created.status);
      if (created.status === 201) expect(created.body.user.email).toBe(email.toLowerCase());
      // Codes.
      const half = new Browser();
      half.address = `192.0.2.${220 + i}`;
      const account = await makeAccount(t.db, 'analyst');
      await half.send(app, 'POST', '/v1/session/login', { json: account });
      expect(
        (
          await half.send(app, 'POST', '/v1/session/second-factor', {
            json: { recoveryCode: payload },
          })
        ).status,
      ).toBe(401);
      expect(
        (
          await half.send(app, 'POST', '/v1/session/second-factor', {
            json: { code: payload.slice(0, 16) },
          })
        ).status,
      ).toBe(401);
      // One's own account: current and new password, recovery-code renewal; a forged address header.
      const own = await sessionFor(t.db, clock, account.id);
      own.address = payload;
      const change = await own.send(app, 'POST', '/v1/me/password', {
        json: { currentPassword: payload, newPassword: `${payload} but longer` },
      });
      expect(change.body.error.code).toBe('wrong-password');
      const renew = await own.send(app, 'POST', '/v1/me/recovery-codes', {
        json: { code: payload.slice(0, 16) },
      });
      expect(renew.status).toBe(400);
      // Enrolment.
      const enrolling = await sessionFor(t.db, clock, account.id, 'enrol');
      await enrolling.send(app, 'POST', '/v1/session/enrolment');
      const confirm = await enrolling.send(app, 'POST', '/v1/session/enrolment/confirm', {
        json: { code: payload.slice(0, 16) },
      });
      expect(confirm.status).toBe(401);
      // Audit filters.
      const auditor = await sessionFor(t.db, clock, (await makeAccount(t.db, 'auditor')).id);
      const query = new URLSearchParams({
        actor: payload,
        action: payload,
        objectType: payload,
        objectId: payload,
      });
      const search = await auditor.send(app, 'GET', `/v1/audit?${query}`);
      expect(search.status).toBe(200);
      expect(search.body.entries).toEqual([]);
    }
    // Every table is still there, nobody gained a role, and the payloads sit in the trail verbatim.
    const usersAfter = await t.db
      .selectFrom('app_user')
      .select(['id', 'role'])
      .orderBy('id')
      .execute();
    expect(usersAfter.slice(0, usersBefore.length)).toEqual(usersBefore);
    expect(usersAfter.filter((u) => u.role === 'admin')).toHaveLength(
      usersBefore.filter((u) => u.role === 'admin').length,
    );
    await sql`select count(*) from app_user, audit_entry, user_session limit 1`.execute(t.db);
    const stored = await searchAudit(t.db, {
      action: 'session.password',
      outcome: 'failed',
      limit: 200,
    });
    const changes = await searchAudit(t.db, {
      action: 'user.password-change',
      outcome: 'failed',
      limit: 200,
    });
    for (const payload of INJECTIONS) {
      // A forged X-Forwarded-For is not an address: not believed, not stored.
      expect(changes.entries.some((e) => e.ip === payload.toLowerCase().slice(0, 64))).toBe(false);
      expect(stored.entries.some((e) => e.user_agent === payload)).toBe(true);
      // Not an e-mail address (perhaps a password typed into the wrong field): not kept.
      expect(stored.entries.some((e) => e.actor_label === payload.trim().toLowerCase())).toBe(
        false,
      );
    }
    expect((await verifyAuditChain(t.db)).kind).toBe('intact');
  });
});
