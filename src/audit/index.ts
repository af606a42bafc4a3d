/** The audit trail: record entries, verify the chain, search and export. */
export { recordAudit, audited, actorOf, systemActor, cliAudit, buildEntry } from './record.js';
export type { AuditActor, AuditEvent, AuditRequest } from './record.js';
export { recordMediaView } from './media.js';
export { verifyAuditChain } from './verify.js';
export type { VerifyResult } from './verify.js';
export { searchAudit, auditCsv, parseActor } from './search.js';
export type { AuditFilter, AuditPage } from './search.js';
export { AUDIT_ACTIONS } from './actions.js';
export type { AuditAction } from './actions.js';
export type { AuditEntryRow, AuditOutcome } from './tables.js';
