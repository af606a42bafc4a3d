/**
 * The actions the audit trail records, "<object>.<verb>", with what each
 * entry means. A feature that records a new kind of event adds it here, so
 * auditors have one list to read (README "Accounts, roles and the audit
 * trail" points to it). `recordAudit` accepts any string; this list is the
 * convention, not a gate, so that an unforeseen action is still recorded.
 */
export const AUDIT_ACTIONS = {
  'session.password':
    'A password was given at sign-in (failed: wrong password or unknown account).',
  'session.second-factor': 'A TOTP or recovery code was given at sign-in.',
  'session.login': 'A sign-in completed: the session is now signed in.',
  'session.logout': 'A session was signed out.',
  'user.create': 'An account was created (details: role, provider).',
  'user.role-change': "An account's role or provider changed (details: from, to).",
  'user.disable': 'An account was disabled; its sessions ended.',
  'user.enable': 'An account was enabled again.',
  'user.reset-2fa': "An account's second factor was removed; it enrols again at next sign-in.",
  'user.reset-password': 'An account got a new one-time password; its sessions ended.',
  'user.password-change': 'A person changed their own password.',
  'user.2fa-enrol': 'A person set up two-factor sign-in.',
  'user.recovery-codes': 'A person replaced their recovery codes.',
  'access.denied':
    "A request was refused: no permission for the role, credentials not valid, a CSRF token missing, or another provider's data.",
  'audit.export': 'The audit trail was searched or exported (details: filters, format, count).',
  'media.view': 'Evidence media was shown to someone (details: revealed or blurred).',
  'classification.create': 'A media item or URL was classified.',
  'setting.change': 'An instance setting changed, e.g. four eyes (details: from, to).',
  'notice.send': 'A notice went to a provider.',
  'notice.answer': 'A provider answered a notice (received, removed, disputed).',
  'bank.create': 'A hash bank was created.',
  'bank.update': 'A hash bank was changed or disabled.',
  'bank.entries-change': 'Entries were added to or removed from a bank.',
  'bank.export': "A bank's entries were exported.",
  'provider.create': 'A hosting-provider account was created.',
  'key.create': 'An API key was created.',
  'key.revoke': 'An API key was revoked.',
} as const satisfies Record<string, string>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;
