import { describe, expect, it } from 'vitest';
import { TakedownError } from '../errors.js';
import {
  PERMISSIONS,
  PERSON_ONLY,
  ROLE_PERMISSIONS,
  allows,
  assertProviderScope,
} from './permissions.js';
import type { Permission } from './permissions.js';
import { ROLES } from './principal.js';
import type { Principal } from './principal.js';

const user = (role: (typeof ROLES)[number], providerId: number | null = null): Principal => ({
  kind: 'user',
  userId: 1,
  email: 'x@y.example',
  role,
  providerId,
  sessionId: 's',
});

describe('permissions', () => {
  it('grants only permissions that exist, and every staff role its own account', () => {
    for (const role of ROLES) {
      for (const permission of ROLE_PERMISSIONS[role])
        expect(Object.hasOwn(PERMISSIONS, permission)).toBe(true);
      expect(allows(user(role), 'account:self')).toBe(true);
    }
  });

  it('gives a half-signed-in session nothing but finishing its sign-in', () => {
    const halfway: Principal = {
      kind: 'signing-in',
      userId: 1,
      email: 'x@y.example',
      sessionId: 's',
      step: 'totp',
    };
    const held = (Object.keys(PERMISSIONS) as Permission[]).filter((p) => allows(halfway, p));
    expect(held.sort()).toEqual(['public', 'sign-in:continue']);
  });

  it('never lets an API key manage accounts, whatever its role', () => {
    for (const permission of PERSON_ONLY) {
      expect(
        allows({ kind: 'api-key', keyId: 1, role: 'admin', providerId: null }, permission),
      ).toBe(false);
    }
    expect(
      allows({ kind: 'api-key', keyId: 1, role: 'provider', providerId: 2 }, 'notices:own'),
    ).toBe(true);
  });

  it("keeps a provider's staff and keys to their own provider", () => {
    expect(() => assertProviderScope(user('provider', 2), 2)).not.toThrow();
    expect(() => assertProviderScope(user('provider', 2), 3)).toThrow(TakedownError);
    expect(() =>
      assertProviderScope({ kind: 'api-key', keyId: 1, role: 'provider', providerId: 2 }, null),
    ).toThrow(/another provider/);
    expect(() => assertProviderScope(user('supervisor'), 3)).not.toThrow();
  });
});
