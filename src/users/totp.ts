import { Secret, TOTP } from 'otpauth';

/**
 * TOTP second factor (RFC 6238) through the otpauth library: SHA-1, 6
 * digits, 30-second steps, the settings every authenticator app supports.
 * One step of clock drift is accepted either way, and a code is accepted
 * once: the step of the last accepted code is stored and anything at or
 * before it is refused (RFC 6238 section 5.2).
 */

export const TOTP_ISSUER = 'Takedown';
const SETTINGS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
const WINDOW = 1;

/** A new secret: 160 random bits (RFC 4226's recommended length), base32. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI an authenticator app reads from a QR code. */
export function otpauthUri(secret: string, email: string): string {
  return new TOTP({
    ...SETTINGS,
    issuer: TOTP_ISSUER,
    label: email,
    secret: Secret.fromBase32(secret),
  }).toString();
}

export type TotpCheck =
  | { readonly kind: 'ok'; readonly step: number }
  | { readonly kind: 'wrong' }
  | { readonly kind: 'replayed' };

/** Checks a code at `now` against a secret and the last step already used (pure). */
export function checkTotp(
  secret: string,
  code: string,
  now: Date,
  lastStep: number | null,
): TotpCheck {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return { kind: 'wrong' };
  const timestamp = now.getTime();
  const delta = TOTP.validate({
    ...SETTINGS,
    token,
    secret: Secret.fromBase32(secret),
    timestamp,
    window: WINDOW,
  });
  if (delta === null) return { kind: 'wrong' };
  const step = TOTP.counter({ period: SETTINGS.period, timestamp }) + delta;
  if (lastStep !== null && step <= lastStep) return { kind: 'replayed' };
  return { kind: 'ok', step };
}

/** The code an authenticator app shows at `at` (for tests and for the CLI's self-check). */
export function totpCode(secret: string, at: Date): string {
  return TOTP.generate({ ...SETTINGS, secret: Secret.fromBase32(secret), timestamp: at.getTime() });
}
