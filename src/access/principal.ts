/**
 * Who is asking. Every request has exactly one principal, resolved once by
 * the API's access middleware from its credentials (an API key, a session
 * cookie) or none (anonymous).
 */

/** Staff and partner roles. The anonymous public has no role. */
export const ROLES = ['admin', 'supervisor', 'analyst', 'provider', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export type Principal =
  | { readonly kind: 'anonymous' }
  | {
      readonly kind: 'api-key';
      readonly keyId: number;
      readonly role: Role;
      /** Set for a provider's keys: the provider whose notices and checks they may touch. */
      readonly providerId: number | null;
    }
  | {
      readonly kind: 'user';
      readonly userId: number;
      /** For the audit trail: who this was at the time. */
      readonly email: string;
      readonly role: Role;
      readonly providerId: number | null;
      readonly sessionId: string;
    }
  | {
      /**
       * Half-way through signing in (password accepted, second factor or a
       * new password still due). Holds no role's permissions: only
       * `sign-in:continue` and `public`.
       */
      readonly kind: 'signing-in';
      readonly userId: number;
      readonly email: string;
      readonly sessionId: string;
      readonly step: SignInStep;
    };

/** What a signing-in session must do next: give a TOTP code, enrol one, or replace a one-time password. */
export type SignInStep = 'totp' | 'enrol' | 'password';

export const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous' });

/** A short, log-safe name: "user:12", "key:7", "anonymous" (a signing-in user is "user:12"). */
export function describePrincipal(principal: Principal): string {
  switch (principal.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'api-key':
      return `key:${principal.keyId}`;
    case 'user':
    case 'signing-in':
      return `user:${principal.userId}`;
  }
}
