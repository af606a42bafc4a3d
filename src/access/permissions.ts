import { TakedownError } from '../errors.js';
import type { Principal, Role } from './principal.js';

/**
 * Every route declares one permission; this file is the only place that says
 * which roles hold which permission. A feature adds its permissions here, with
 * a sentence saying what they allow, and grants them to roles below.
 *
 * `public` needs no credentials (the report form, tracking-code status,
 * public statistics, health probes, the API reference).
 */
export const PERMISSIONS = {
  public: 'Anyone, without credentials.',
  'hashes:check': 'Check hashes or an image against the banks (the hash-check service).',
  'banks:read': 'List banks and read their entries.',
  'banks:write': 'Create, change and disable banks; add and remove entries.',
  'providers:manage': 'Create and change hosting-provider accounts.',
  'keys:manage': 'Create and revoke API keys for any provider.',
  'users:manage': 'Create, disable and change staff accounts and their roles.',
  'audit:read': 'Search and export the audit trail.',
  'stats:read': 'Read internal statistics (matches, queues, response times).',
  'reports:submit-batch': 'Submit reports in batches as an intake partner.',
  'reports:read': 'Read reports and their items.',
  'reports:contact':
    'See the contact details a reporter left and whether they said they are the person shown (each look is recorded).',
  'queue:work': 'Work the analyst queue: claim items, view their media, submit assessments.',
  'assessments:approve': 'Give the second opinion on illegal decisions ("four eyes").',
  'rules:manage': 'Set domain rules (do not fetch, not illegal, force a hoster).',
  'notices:own': "Read and answer one's own provider's notices.",
  'account:self': "See and change one's own account: password, two-factor codes, sessions.",
  'sign-in:continue':
    'Finish signing in: give the second factor, enrol it, or replace a one-time password.',
} as const satisfies Record<string, string>;

export type Permission = keyof typeof PERMISSIONS;

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSIONS, value);
}

const STAFF_READ: readonly Permission[] = ['banks:read', 'reports:read', 'stats:read'];

/**
 * Permissions only a signed-in person holds, never an API key, whatever the
 * key's role: one's own account has no meaning for a key, and managing staff
 * accounts must not bypass the second factor.
 */
export const PERSON_ONLY: ReadonlySet<Permission> = new Set<Permission>([
  'account:self',
  'users:manage',
]);

/** Which role holds which permission (besides `public`, which everyone holds). */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: [
    ...STAFF_READ,
    'banks:write',
    'providers:manage',
    'keys:manage',
    'users:manage',
    'audit:read',
    'hashes:check',
    'rules:manage',
    'account:self',
  ],
  supervisor: [
    ...STAFF_READ,
    'reports:contact',
    'banks:write',
    'queue:work',
    'assessments:approve',
    'rules:manage',
    'hashes:check',
    'account:self',
  ],
  analyst: [...STAFF_READ, 'queue:work', 'hashes:check', 'account:self'],
  provider: ['hashes:check', 'notices:own', 'reports:submit-batch', 'account:self'],
  auditor: ['audit:read', 'stats:read', 'account:self'],
};

/** Whether this principal may do what the permission names. */
export function allows(principal: Principal, permission: Permission): boolean {
  if (permission === 'public') return true;
  switch (principal.kind) {
    case 'anonymous':
      return false;
    case 'signing-in':
      return permission === 'sign-in:continue';
    case 'api-key':
      return !PERSON_ONLY.has(permission) && ROLE_PERMISSIONS[principal.role].includes(permission);
    case 'user':
      return ROLE_PERMISSIONS[principal.role].includes(permission);
  }
}

/**
 * Object-level scope for provider principals (staff and keys): they may touch
 * only their own provider's notices, checks and reports. Staff roles are not
 * scoped. Handlers call this after loading the object; the TakedownError it
 * throws becomes a 403 and an `access.denied` audit entry.
 */
export function assertProviderScope(principal: Principal, providerId: number | null): void {
  if (principal.kind !== 'user' && principal.kind !== 'api-key') return;
  if (principal.role !== 'provider') return;
  if (principal.providerId !== null && principal.providerId === providerId) return;
  throw new TakedownError(
    'forbidden-provider',
    "This belongs to another provider; a provider's credentials reach only its own data.",
    { kind: 'forbidden', details: { reason: 'provider-scope' } },
  );
}
