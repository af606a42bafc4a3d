import type { Kysely, Transaction } from 'kysely';
import { userInfo } from 'node:os';
import type { Principal } from '../access/principal.js';
import type { Database } from '../store/database.js';
import { cleanText, storable } from './canonical.js';
import { entryHash } from './chain.js';
import type { AuditContent } from './chain.js';
import type { AuditActorKind, AuditEntryRow, AuditOutcome } from './tables.js';

/**
 * The one function every feature calls to write to the audit trail:
 *
 *   await recordAudit(trx, {
 *     actor: c.get('principal'),          // or systemActor() from the CLI
 *     request: auditRequest(c, deps),     // ip, user agent, request id
 *     action: 'bank.entries-add',
 *     object: { type: 'bank', id: bank.name },
 *     outcome: 'allowed',
 *     details: { added: 120 },
 *   });
 *
 * Pass the transaction that makes the change, so the entry commits with it
 * or not at all; pass `db` for an event that changes nothing (a denial, a
 * view). Appends are serialized on the chain head row: call it last in the
 * transaction, which then holds that lock only for its commit.
 */

export interface AuditActor {
  readonly kind: AuditActorKind;
  readonly id: number | null;
  readonly label: string | null;
  readonly role: string | null;
  readonly providerId: number | null;
}

/** Where a request came from; all null for the CLI. */
export interface AuditRequest {
  readonly ip: string | null;
  readonly userAgent: string | null;
  readonly requestId: string | null;
}

export interface AuditEvent {
  readonly actor: AuditActor | Principal;
  readonly request?: AuditRequest;
  /** "<object type>.<verb>", e.g. "session.login", "bank.update", "media.view". */
  readonly action: string;
  readonly object?: { readonly type: string; readonly id: string | number | null };
  readonly outcome: AuditOutcome;
  /** Facts worth keeping; JSON values. Never secrets, passwords or media. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Defaults to now. */
  readonly at?: Date;
}

/** Longest text kept per field: user agents and ids come from callers. */
const MAX_TEXT = 512;

export function actorOf(who: AuditActor | Principal): AuditActor {
  if (isAuditActor(who)) return who;
  switch (who.kind) {
    case 'anonymous':
      return { kind: 'anonymous', id: null, label: null, role: null, providerId: null };
    case 'api-key':
      return {
        kind: 'api-key',
        id: who.keyId,
        label: null,
        role: who.role,
        providerId: who.providerId,
      };
    case 'user':
      return {
        kind: 'user',
        id: who.userId,
        label: who.email,
        role: who.role,
        providerId: who.providerId,
      };
    case 'signing-in':
      return { kind: 'user', id: who.userId, label: who.email, role: null, providerId: null };
  }
}

function isAuditActor(who: AuditActor | Principal): who is AuditActor {
  return 'label' in who && 'id' in who;
}

/** The operator at the command line, named by their OS account. */
export function systemActor(label: string): AuditActor {
  return { kind: 'system', id: null, label, role: null, providerId: null };
}

/** `takedown …` commands: the actor "cli:<OS user>" and a request with no address. */
export function cliAudit(): { actor: AuditActor; request: AuditRequest } {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (some containers): still recorded as the CLI
  }
  return {
    actor: systemActor(`cli:${name}`),
    request: { ip: null, userAgent: 'takedown-cli', requestId: null },
  };
}

const text = (value: string | null | undefined): string | null =>
  value === null || value === undefined ? null : cleanText(value).slice(0, MAX_TEXT);

/** The row to write at `seq` after `prevHash` (pure). */
export function buildEntry(event: AuditEvent, seq: number, prevHash: string): AuditEntryRow {
  const actor = actorOf(event.actor);
  const at = event.at ?? new Date();
  const content: AuditContent = {
    seq,
    // Millisecond precision, exactly what a JS Date carries back from timestamptz.
    at: new Date(at.getTime()),
    actor_kind: actor.kind,
    actor_id: actor.id,
    actor_label: text(actor.label),
    actor_role: text(actor.role),
    actor_provider_id: actor.providerId,
    ip: text(event.request?.ip),
    user_agent: text(event.request?.userAgent),
    request_id: text(event.request?.requestId),
    action: text(event.action) ?? '',
    object_type: text(event.object?.type),
    object_id:
      event.object?.id === null || event.object === undefined
        ? null
        : text(String(event.object.id)),
    outcome: event.outcome,
    details: (storable(event.details ?? {}) ?? {}) as Record<string, unknown>,
  };
  return { ...content, prev_hash: prevHash, hash: entryHash(prevHash, content) };
}

/** Appends one entry and returns it. See the comment at the top of this file. */
export async function recordAudit(
  db: Kysely<Database> | Transaction<Database>,
  event: AuditEvent,
): Promise<AuditEntryRow> {
  if (db.isTransaction) return append(db as Transaction<Database>, event);
  return db.transaction().execute((trx) => append(trx, event));
}

async function append(trx: Transaction<Database>, event: AuditEvent): Promise<AuditEntryRow> {
  // The row lock on the head makes concurrent writers (any process, any
  // machine) take turns, so the chain never forks. The insert trigger checks
  // the link and moves the head.
  const head = await trx
    .selectFrom('audit_chain_head')
    .select(['seq', 'hash'])
    .where('id', '=', 1)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const entry = buildEntry(event, head.seq + 1, head.hash);
  await trx
    .insertInto('audit_entry')
    .values({ ...entry, details: JSON.stringify(entry.details) })
    .execute();
  return entry;
}

/**
 * Runs `work` in a transaction and records what it did in the same one:
 * the change and its audit entry commit together or not at all. For
 * features whose functions take a `db` and open their own transaction
 * (`inTransaction` accepts a transaction and joins it):
 *
 *   const key = await audited(
 *     db,
 *     (trx) => createKey(trx, provider, options),
 *     (key) => ({ actor, request, action: 'key.create', object: { type: 'api-key', id: key.id },
 *                 outcome: 'allowed', details: { provider: key.provider, prefix: key.prefix } }),
 *   );
 */
export async function audited<T>(
  db: Kysely<Database>,
  work: (trx: Transaction<Database>) => Promise<T>,
  describe: (result: T) => AuditEvent,
): Promise<T> {
  const run = async (trx: Transaction<Database>): Promise<T> => {
    const result = await work(trx);
    await recordAudit(trx, describe(result));
    return result;
  };
  return db.isTransaction ? run(db as Transaction<Database>) : db.transaction().execute(run);
}
