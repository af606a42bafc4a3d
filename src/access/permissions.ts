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
  'queue:work': 'Work the analyst queue: claim items, view their media, submit assessments.',
  'assessments:approve': 'Give the second opinion on illegal decisions ("four eyes").',
  'rules:manage': 'Set domain rules (do not fetch, not illegal, force a hoster).',
  'notices:own': "Read and answer one's own provider's notices.",
} as const satisfies Record<string, string>;

export type Permission = keyof typeof PERMISSIONS;

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSIONS, value);
}

const STAFF_READ: readonly Permission[] = ['banks:read', 'reports:read', 'stats:read'];

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
  ],
  supervisor: [
    ...STAFF_READ,
    'banks:write',
    'queue:work',
    'assessments:approve',
    'rules:manage',
    'hashes:check',
  ],
  analyst: [...STAFF_READ, 'queue:work', 'hashes:check'],
  provider: ['hashes:check', 'notices:own', 'reports:submit-batch'],
  auditor: ['audit:read', 'stats:read'],
};

/** Whether this principal may do what the permission names. */
export function allows(principal: Principal, permission: Permission): boolean {
  if (permission === 'public') return true;
  if (principal.kind === 'anonymous') return false;
  return ROLE_PERMISSIONS[principal.role].includes(permission);
}
