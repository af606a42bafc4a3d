import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { Role } from '../access/principal.js';
import { inTransaction, recordChange } from '../changes/changes.js';
import { TakedownError } from '../errors.js';
import type { Database } from '../store/database.js';
import type { NewKey } from './keys.js';
import { generateKey } from './keys.js';

/**
 * Providers and their API keys. One function per action (add a provider,
 * create a key, revoke a key) so each can be audited; pass a transaction as
 * `db` to add an audit record to the same commit.
 */

export interface Provider {
  readonly id: number;
  readonly name: string;
  readonly contactEmail: string | null;
  readonly createdAt: Date;
}

export interface ProviderSummary extends Provider {
  readonly activeKeys: number;
}

export function parseProviderName(value: string): string {
  const name = value.trim();
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new TakedownError(
      'invalid-provider-name',
      `${JSON.stringify(value)} is not a usable provider name: 1 to 100 printable characters, e.g. "acme" or "Acme Hosting B.V.".`,
    );
  }
  return name;
}

export function parseEmail(value: string): string {
  const email = value.trim();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email) || email.length > 254) {
    throw new TakedownError('invalid-email', `${JSON.stringify(value)} is not an e-mail address.`);
  }
  return email;
}

export async function addProvider(
  db: Kysely<Database>,
  input: { readonly name: string; readonly contactEmail?: string },
): Promise<Provider> {
  const existing = await findProvider(db, input.name);
  if (existing !== undefined) {
    throw new TakedownError(
      'provider-exists',
      `There is already a provider named "${existing.name}".`,
      {
        kind: 'conflict',
        details: { provider: existing.name },
      },
    );
  }
  const row = await db
    .insertInto('provider')
    .values({ name: input.name, contact_email: input.contactEmail ?? null })
    .returningAll()
    .executeTakeFirstOrThrow()
    .catch((error: unknown) => {
      // Two commands adding the same name at once: the unique index decides.
      if ((error as { code?: string }).code === '23505') {
        throw new TakedownError(
          'provider-exists',
          `There is already a provider named "${input.name}".`,
          {
            kind: 'conflict',
          },
        );
      }
      throw error;
    });
  return { id: row.id, name: row.name, contactEmail: row.contact_email, createdAt: row.created_at };
}

/** By name, regardless of case. */
export async function findProvider(
  db: Kysely<Database>,
  name: string,
): Promise<Provider | undefined> {
  const row = await db
    .selectFrom('provider')
    .selectAll()
    .where(sql<string>`lower(name)`, '=', name.toLowerCase())
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      name: row.name,
      contactEmail: row.contact_email,
      createdAt: row.created_at,
    }
  );
}

export async function getProvider(db: Kysely<Database>, name: string): Promise<Provider> {
  const provider = await findProvider(db, name);
  if (provider !== undefined) return provider;
  throw new TakedownError(
    'provider-not-found',
    `There is no provider named "${name}"; add it with \`takedown provider add ${JSON.stringify(name)}\`.`,
    { kind: 'not-found', details: { provider: name } },
  );
}

export async function listProviders(db: Kysely<Database>): Promise<ProviderSummary[]> {
  const rows = await db
    .selectFrom('provider')
    .leftJoin('api_key', (join) =>
      join.onRef('api_key.provider_id', '=', 'provider.id').on('api_key.revoked_at', 'is', null),
    )
    .select(['provider.id', 'provider.name', 'provider.contact_email', 'provider.created_at'])
    .select((eb) => eb.fn.count<number>('api_key.id').as('active_keys'))
    .groupBy('provider.id')
    .orderBy('provider.name')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    contactEmail: r.contact_email,
    createdAt: r.created_at,
    activeKeys: r.active_keys,
  }));
}

export interface KeyLimits {
  /** Hashes per second this key may check; undefined = the default. */
  readonly hashesPerSecond?: number;
  readonly imagesPerSecond?: number;
}

export interface ApiKeyInfo {
  readonly id: number;
  readonly prefix: string;
  readonly provider: string;
  readonly providerId: number;
  readonly role: Role;
  readonly label: string | null;
  readonly hashesPerSecond: number | null;
  readonly imagesPerSecond: number | null;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
}

/** Creates a key; the result's `key` is the only time anyone sees it. */
export async function createKey(
  db: Kysely<Database>,
  providerName: string,
  options: KeyLimits & {
    readonly label?: string;
    readonly random?: (n: number) => Uint8Array;
  } = {},
): Promise<ApiKeyInfo & { readonly key: string }> {
  const provider = await getProvider(db, providerName);
  for (let attempt = 0; ; attempt++) {
    const fresh: NewKey = generateKey(options.random);
    const row = await db
      .insertInto('api_key')
      .values({
        provider_id: provider.id,
        role: 'provider',
        prefix: fresh.prefix,
        secret_hash: fresh.secretHash,
        label: options.label ?? null,
        hashes_per_second: options.hashesPerSecond ?? null,
        images_per_second: options.imagesPerSecond ?? null,
      })
      // A prefix collision (47 random bits: practically never) draws a new key.
      .onConflict((oc) => oc.column('prefix').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row !== undefined) {
      return {
        key: fresh.key,
        id: row.id,
        prefix: row.prefix,
        provider: provider.name,
        providerId: provider.id,
        role: row.role,
        label: row.label,
        hashesPerSecond: row.hashes_per_second,
        imagesPerSecond: row.images_per_second,
        createdAt: row.created_at,
        revokedAt: row.revoked_at,
      };
    }
    if (attempt >= 3) throw new Error('could not draw an unused key prefix');
  }
}

export async function listKeys(
  db: Kysely<Database>,
  options: { readonly provider?: string; readonly id?: number } = {},
): Promise<ApiKeyInfo[]> {
  const provider =
    options.provider === undefined ? undefined : await getProvider(db, options.provider);
  let query = db
    .selectFrom('api_key')
    .innerJoin('provider', 'provider.id', 'api_key.provider_id')
    .selectAll('api_key')
    .select('provider.name as provider_name')
    .orderBy('api_key.id');
  if (provider !== undefined) query = query.where('api_key.provider_id', '=', provider.id);
  if (options.id !== undefined) query = query.where('api_key.id', '=', options.id);
  const rows = await query.execute();
  return rows.map((r) => ({
    id: r.id,
    prefix: r.prefix,
    provider: r.provider_name,
    providerId: r.provider_id,
    role: r.role,
    label: r.label,
    hashesPerSecond: r.hashes_per_second,
    imagesPerSecond: r.images_per_second,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  }));
}

/**
 * Revokes a key: every server process refuses it within a second (they
 * follow the change log). Revoking a revoked key changes nothing.
 */
export async function revokeKey(db: Kysely<Database>, id: number): Promise<ApiKeyInfo> {
  return inTransaction(db, async (trx) => {
    const row = await trx
      .updateTable('api_key')
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
      .where('id', '=', id)
      .returning(['id', 'revoked_at'])
      .executeTakeFirst();
    if (row === undefined) {
      throw new TakedownError(
        'key-not-found',
        `There is no API key with id ${id}; \`takedown key list\` shows them.`,
        {
          kind: 'not-found',
          details: { key: id },
        },
      );
    }
    await recordChange(trx, { kind: 'key-revoked', keyId: id });
    const [info] = await listKeys(trx, { id });
    return info;
  });
}

/** What the authenticator needs of a key, found by its prefix. */
export interface StoredKey {
  readonly id: number;
  readonly providerId: number;
  readonly role: Role;
  readonly secretHash: Buffer;
  readonly hashesPerSecond: number | null;
  readonly imagesPerSecond: number | null;
  readonly revokedAt: Date | null;
}

export async function keyByPrefix(
  db: Kysely<Database>,
  prefix: string,
): Promise<StoredKey | undefined> {
  const row = await db
    .selectFrom('api_key')
    .select([
      'id',
      'provider_id',
      'role',
      'secret_hash',
      'hashes_per_second',
      'images_per_second',
      'revoked_at',
    ])
    .where('prefix', '=', prefix)
    .executeTakeFirst();
  return (
    row && {
      id: row.id,
      providerId: row.provider_id,
      role: row.role,
      secretHash: row.secret_hash,
      hashesPerSecond: row.hashes_per_second,
      imagesPerSecond: row.images_per_second,
      revokedAt: row.revoked_at,
    }
  );
}
