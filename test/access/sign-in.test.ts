import { beforeAll, beforeEach, expect, it } from 'vitest';
import type { ApiApp } from '../../src/api/types.js';
import { searchAudit } from '../../src/audit/search.js';
import { verifyAuditChain } from '../../src/audit/verify.js';
import { totpCode } from '../../src/users/totp.js';
import { Browser, TestClock, makeAccount, testApp } from '../support/accounts.js';
import type { TestAccount } from '../support/accounts.js';
import { describeEachDatabase } from '../support/db.js';

/** Accounts and sessions through the HTTP API, as a browser and an administrator use them. */

describeEachDatabase('sign-in and sessions', (t) => {
  const clock = new TestClock();
  let app: ApiApp;
  let admin: TestAccount;
  const adminBrowser = new Browser();

  beforeAll(async () => {
    app = testApp(t.db, clock);
    admin = await makeAccount(t.db, 'admin');
  });
  // Tests move the clock by hours: the administrator signs in afresh for each.
  beforeEach(() => adminBrowser.signIn(app, clock, admin));

  it('takes a new account from one-time password through enrolment to its own password', async () => {
    const created = await adminBrowser.send(app, 'POST', '/v1/users', {
      json: { email: ' New.Analyst@Hotline.Example ', role: 'analyst' },
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({
      email: 'new.analyst@hotline.example',
      role: 'analyst',
      twoFactor: false,
      mustChangePassword: true,
    });
    const oneTime: string = created.body.oneTimePassword;
    expect(oneTime).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);

    const browser = new Browser();
    const login = await browser.send(app, 'POST', '/v1/session/login', {
      json: { email: 'new.analyst@hotline.example', password: oneTime },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ state: 'signing-in', step: 'enrol' });
    const cookie = login.headers.getSetCookie().join('\n');
    expect(cookie).toMatch(/^__Host-takedown-session=[\w-]{43}; .*HttpOnly/m);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);

    // Half signed in holds no role: the analyst's routes are still closed.
    expect((await browser.send(app, 'GET', '/v1/me')).status).toBe(401);
    expect(
      (await browser.send(app, 'POST', '/v1/session/second-factor', { json: { code: '123456' } }))
        .body,
    ).toMatchObject({
      error: { code: 'wrong-sign-in-step' },
    });

    const enrol = await browser.send(app, 'POST', '/v1/session/enrolment');
    expect(enrol.status).toBe(200);
    expect(enrol.body.otpauthUri).toMatch(
      /^otpauth:\/\/totp\/Takedown:new\.analyst%40hotline\.example\?/,
    );
    const secret: string = enrol.body.secret;
    const wrong = await browser.send(app, 'POST', '/v1/session/enrolment/confirm', {
      json: { code: '000000' },
    });
    expect(wrong.status).toBe(401);
    const confirmed = await browser.send(app, 'POST', '/v1/session/enrolment/confirm', {
      json: { code: totpCode(secret, clock.now()) },
    });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.session).toMatchObject({ state: 'signing-in', step: 'password' });
    expect(confirmed.body.recoveryCodes).toHaveLength(10);

    const weak = await browser.send(app, 'POST', '/v1/session/password', {
      json: { newPassword: 'short' },
    });
    expect(weak.body.error.code).toBe('weak-password');
    const same = await browser.send(app, 'POST', '/v1/session/password', {
      json: { newPassword: oneTime },
    });
    expect(same.body.error.code).toBe('same-password');
    const done = await browser.send(app, 'POST', '/v1/session/password', {
      json: { newPassword: 'a passphrase of my own' },
    });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({
      state: 'signed-in',
      user: { email: 'new.analyst@hotline.example', role: 'analyst' },
    });
    const me = await browser.send(app, 'GET', '/v1/me');
    expect(me.body).toMatchObject({ role: 'analyst', twoFactor: true });
    expect(me.body.permissions).toContain('queue:work');

    // A recovery code works once.
    const other = new Browser();
    const account = {
      id: created.body.user.id,
      email: 'new.analyst@hotline.example',
      password: 'a passphrase of my own',
    };
    await other.send(app, 'POST', '/v1/session/login', { json: account });
    const recovery = confirmed.body.recoveryCodes[0].toUpperCase();
    const viaRecovery = await other.send(app, 'POST', '/v1/session/second-factor', {
      json: { recoveryCode: recovery },
    });
    expect(viaRecovery.body.state).toBe('signed-in');
    const again = new Browser();
    await again.send(app, 'POST', '/v1/session/login', { json: account });
    const reused = await again.send(app, 'POST', '/v1/session/second-factor', {
      json: { recoveryCode: recovery },
    });
    expect(reused.status).toBe(401);

    const trail = await searchAudit(t.db, { actor: `user:${account.id}`, limit: 50 });
    const actions = trail.entries.map((e) => `${e.action}:${e.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'session.password:allowed',
        'user.2fa-enrol:failed',
        'user.2fa-enrol:allowed',
        'user.password-change:allowed',
        'session.login:allowed',
        'session.second-factor:failed',
      ]),
    );
    expect(
      (await searchAudit(t.db, { action: 'user.create', objectId: String(account.id), limit: 1 }))
        .entries[0],
    ).toMatchObject({
      actor_kind: 'user',
      actor_id: admin.id,
      ip: '203.0.113.10',
      user_agent: 'test-browser',
    });
  });

  it('refuses a TOTP code the second time (replay)', async () => {
    const account = await makeAccount(t.db, 'auditor');
    clock.advance(30_000);
    const code = totpCode(account.totpSecret, clock.now());
    const first = new Browser();
    await first.send(app, 'POST', '/v1/session/login', { json: account });
    expect(
      (await first.send(app, 'POST', '/v1/session/second-factor', { json: { code } })).status,
    ).toBe(200);
    const second = new Browser();
    await second.send(app, 'POST', '/v1/session/login', { json: account });
    const replay = await second.send(app, 'POST', '/v1/session/second-factor', { json: { code } });
    expect(replay.status).toBe(401);
    const entry = (
      await searchAudit(t.db, {
        actor: `user:${account.id}`,
        action: 'session.second-factor',
        outcome: 'failed',
        limit: 1,
      })
    ).entries[0];
    expect(entry?.details).toMatchObject({ reason: 'code-already-used' });
  });

  it('ends a session on sign-out: the copied cookie is refused afterwards', async () => {
    const account = await makeAccount(t.db, 'supervisor');
    const victim = new Browser();
    await victim.signIn(app, clock, account);
    const thief = new Browser();
    thief.cookie = victim.cookie;
    thief.csrf = victim.csrf;
    thief.address = '198.51.100.66';
    expect((await thief.send(app, 'GET', '/v1/me')).status).toBe(200);

    const out = await victim.send(app, 'POST', '/v1/session/logout');
    expect(out.status).toBe(200);
    expect(victim.cookie).toBeUndefined();
    const stolen = await thief.send(app, 'GET', '/v1/me');
    expect(stolen.status).toBe(401);
    expect(stolen.body.error.code).toBe('session-ended');
    const denial = (await searchAudit(t.db, { action: 'access.denied', limit: 1 })).entries[0];
    expect(denial).toMatchObject({
      ip: '198.51.100.66',
      details: { code: 'session-ended', reason: { reason: 'revoked' } },
    });
    // On a public route the dead cookie is ignored, so signing in again just works.
    expect((await thief.send(app, 'GET', '/v1/session')).body).toEqual({ state: 'anonymous' });
  });

  it('ends idle sessions, and every session at its absolute limit', async () => {
    const account = await makeAccount(t.db, 'analyst');
    const browser = new Browser();
    await browser.signIn(app, clock, account);
    clock.advance(29 * 60_000);
    expect((await browser.send(app, 'GET', '/v1/me')).status).toBe(200);
    clock.advance(31 * 60_000);
    const idle = await browser.send(app, 'GET', '/v1/me');
    expect(idle.status).toBe(401);

    const busy = new Browser();
    await busy.signIn(app, clock, account);
    for (let hour = 0; hour < 12; hour++) {
      clock.advance(20 * 60_000);
      expect((await busy.send(app, 'GET', '/v1/me')).status).toBe(200);
      clock.advance(20 * 60_000);
      expect((await busy.send(app, 'GET', '/v1/me')).status).toBe(200);
      clock.advance(20 * 60_000);
      const res = await busy.send(app, 'GET', '/v1/me');
      if (hour === 11) expect(res.status).toBe(401);
      else expect(res.status).toBe(200);
    }
  });

  it('ends all other sessions on a password change, and all sessions on disable and 2FA reset', async () => {
    const account = await makeAccount(t.db, 'analyst');
    const desk = new Browser();
    const laptop = new Browser();
    await desk.signIn(app, clock, account);
    await laptop.signIn(app, clock, account);
    const wrong = await desk.send(app, 'POST', '/v1/me/password', {
      json: { currentPassword: 'not it at all', newPassword: 'another good passphrase' },
    });
    expect(wrong.status).toBe(400);
    const changed = await desk.send(app, 'POST', '/v1/me/password', {
      json: { currentPassword: account.password, newPassword: 'another good passphrase' },
    });
    expect(changed.body).toEqual({ sessionsEnded: 1 });
    expect((await desk.send(app, 'GET', '/v1/me')).status).toBe(200);
    expect((await laptop.send(app, 'GET', '/v1/me')).status).toBe(401);

    const reset = await adminBrowser.send(app, 'POST', `/v1/users/${account.id}/reset-2fa`);
    expect(reset.body).toMatchObject({ twoFactor: false });
    expect((await desk.send(app, 'GET', '/v1/me')).status).toBe(401);
    const back = new Browser();
    const login = await back.send(app, 'POST', '/v1/session/login', {
      json: { email: account.email, password: 'another good passphrase' },
    });
    expect(login.body.step).toBe('enrol');

    const disabled = await adminBrowser.send(app, 'PATCH', `/v1/users/${account.id}`, {
      json: { disabled: true },
    });
    expect(disabled.body.disabled).toBe(true);
    expect((await back.send(app, 'GET', '/v1/session')).body).toEqual({ state: 'anonymous' });
    const refused = await new Browser().send(app, 'POST', '/v1/session/login', {
      json: { email: account.email, password: 'another good passphrase' },
    });
    expect(refused.body.error.code).toBe('account-disabled');
  });

  it('changes roles (ending sessions) and never leaves the installation without an administrator', async () => {
    const account = await makeAccount(t.db, 'analyst');
    const browser = new Browser();
    await browser.signIn(app, clock, account);
    const promoted = await adminBrowser.send(app, 'PATCH', `/v1/users/${account.id}`, {
      json: { role: 'supervisor' },
    });
    expect(promoted.body.role).toBe('supervisor');
    expect((await browser.send(app, 'GET', '/v1/me')).status).toBe(401);
    const entry = (
      await searchAudit(t.db, {
        action: 'user.role-change',
        objectId: String(account.id),
        limit: 1,
      })
    ).entries[0];
    expect(entry?.details).toMatchObject({ from: { role: 'analyst' }, to: { role: 'supervisor' } });

    const provider = await adminBrowser.send(app, 'PATCH', `/v1/users/${account.id}`, {
      json: { role: 'provider' },
    });
    expect(provider.body.error.code).toBe('provider-required');

    const admins = (await adminBrowser.send(app, 'GET', '/v1/users')).body.users.filter(
      (u: { role: string; disabled: boolean }) => u.role === 'admin' && !u.disabled,
    );
    for (const other of admins.filter((u: { id: number }) => u.id !== admin.id)) {
      await adminBrowser.send(app, 'PATCH', `/v1/users/${other.id}`, { json: { disabled: true } });
    }
    const last = await adminBrowser.send(app, 'PATCH', `/v1/users/${admin.id}`, {
      json: { role: 'auditor' },
    });
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('last-admin');
  });

  it('issues a new one-time password that ends the old sessions', async () => {
    const account = await makeAccount(t.db, 'auditor');
    const browser = new Browser();
    await browser.signIn(app, clock, account);
    const reset = await adminBrowser.send(app, 'POST', `/v1/users/${account.id}/reset-password`);
    expect(reset.status).toBe(200);
    expect((await browser.send(app, 'GET', '/v1/me')).status).toBe(401);
    const old = await new Browser().send(app, 'POST', '/v1/session/login', { json: account });
    expect(old.status).toBe(401);
    const fresh = await new Browser().send(app, 'POST', '/v1/session/login', {
      json: { email: account.email, password: reset.body.oneTimePassword },
    });
    expect(fresh.body).toMatchObject({ state: 'signing-in', step: 'totp' });
    clock.advance(8 * 86_400_000);
    const expired = await new Browser().send(app, 'POST', '/v1/session/login', {
      json: { email: account.email, password: reset.body.oneTimePassword },
    });
    expect(expired.body.error.code).toBe('one-time-password-expired');
  });

  it('leaves an intact audit chain behind', async () => {
    expect((await verifyAuditChain(t.db)).kind).toBe('intact');
  });
});
