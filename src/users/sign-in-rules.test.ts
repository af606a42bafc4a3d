import { describe, expect, it } from 'vitest';
import { passwordProblem } from './passwords.js';
import { hashRecoveryCode, newRecoveryCodes } from './recovery-codes.js';
import { sameSecret } from './secrets.js';
import { judgeSession } from './sessions.js';
import type { SessionRow } from './sessions.js';
import { stageAfter } from './sign-in.js';
import { checkTotp, newTotpSecret, otpauthUri, totpCode } from './totp.js';

const policy = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000, signInMs: 10 * 60_000 };
const now = new Date('2026-01-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

describe('sessions', () => {
  const row: SessionRow = {
    stage: 'active',
    last_seen_at: minutesAgo(5),
    expires_at: new Date(now.getTime() + 3_600_000),
    revoked_at: null,
    disabled_at: null,
  };
  it('are valid until revoked, disabled, expired or idle', () => {
    expect(judgeSession(row, now, policy)).toEqual({ kind: 'valid', touch: true });
    expect(judgeSession({ ...row, last_seen_at: minutesAgo(0.5) }, now, policy)).toEqual({
      kind: 'valid',
      touch: false,
    });
    expect(judgeSession({ ...row, revoked_at: minutesAgo(1) }, now, policy).kind).toBe('ended');
    expect(judgeSession({ ...row, disabled_at: minutesAgo(1) }, now, policy)).toEqual({
      kind: 'ended',
      reason: 'disabled',
    });
    expect(judgeSession({ ...row, expires_at: now }, now, policy)).toEqual({
      kind: 'ended',
      reason: 'expired',
    });
    expect(judgeSession({ ...row, last_seen_at: minutesAgo(31) }, now, policy)).toEqual({
      kind: 'ended',
      reason: 'idle',
    });
  });
});

describe('sign-in steps', () => {
  it('go password -> second factor (or enrol) -> new password when one-time -> active', () => {
    expect(stageAfter({ totpEnabled: false, mustChangePassword: true }, 'password')).toBe('enrol');
    expect(stageAfter({ totpEnabled: true, mustChangePassword: true }, 'password')).toBe('totp');
    expect(stageAfter({ totpEnabled: true, mustChangePassword: true }, 'second-factor')).toBe(
      'password',
    );
    expect(stageAfter({ totpEnabled: true, mustChangePassword: false }, 'second-factor')).toBe(
      'active',
    );
    expect(stageAfter({ totpEnabled: true, mustChangePassword: false }, 'new-password')).toBe(
      'active',
    );
  });
});

describe('TOTP', () => {
  it('accepts the current code and one step either side, once', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const code = totpCode(secret, now);
    const ok = checkTotp(secret, code, now, null);
    expect(ok.kind).toBe('ok');
    if (ok.kind !== 'ok') return;
    expect(checkTotp(secret, code, now, ok.step)).toEqual({ kind: 'replayed' });
    expect(
      checkTotp(secret, totpCode(secret, new Date(now.getTime() - 30_000)), now, null).kind,
    ).toBe('ok');
    expect(
      checkTotp(secret, totpCode(secret, new Date(now.getTime() - 90_000)), now, null).kind,
    ).toBe('wrong');
    expect(checkTotp(secret, 'abcdef', now, null).kind).toBe('wrong');
    expect(checkTotp(secret, `${code.slice(0, 3)} ${code.slice(3)}`, now, null).kind).toBe('ok');
  });

  it('matches RFC 6238 test vector (SHA-1, T=59)', () => {
    // RFC 6238 appendix B: secret "12345678901234567890", 8 digits 94287082; 6 digits are its last six.
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    expect(totpCode(secret, new Date(59_000))).toBe('287082');
  });

  it('writes an otpauth URI an authenticator app reads', () => {
    expect(otpauthUri('JBSWY3DPEHPK3PXP', 'a@b.example')).toBe(
      'otpauth://totp/Takedown:a%40b.example?issuer=Takedown&secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30',
    );
  });
});

describe('passwords and codes', () => {
  it('asks for long passwords that are not the e-mail address', () => {
    expect(passwordProblem('short', 'a@b.example')).toMatch(/at least 12/);
    expect(passwordProblem('aaaaaaaaaaaaaaa', 'a@b.example')).toMatch(/different characters/);
    expect(passwordProblem('someone@b.example', 'someone@b.example')).toMatch(/e-mail/);
    expect(passwordProblem('four random words here', 'a@b.example')).toBeUndefined();
    expect(passwordProblem('x'.repeat(257), 'a@b.example')).toMatch(/at most/);
  });

  it('makes recovery codes that survive retyping but not guessing', () => {
    const codes = newRecoveryCodes();
    expect(new Set(codes).size).toBe(10);
    const code = codes[0] ?? '';
    expect(code).toMatch(/^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/);
    expect(hashRecoveryCode(` ${code.toUpperCase().replace(/-/g, ' ')} `)).toBe(
      hashRecoveryCode(code),
    );
    expect(hashRecoveryCode(codes[1] ?? '')).not.toBe(hashRecoveryCode(code));
  });

  it('compares secrets without short cuts', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'abcd')).toBe(false);
  });
});
