import { createHash } from 'node:crypto';
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { TakedownError } from './errors.js';

/**
 * The only reader of process.env. Each setting is one environment variable,
 * validated once at start-up; a bad value stops the program with a sentence
 * that names the variable. Importing this module reads nothing.
 */

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().min(0);

/** "10.0.0.0/8, ::1/128, 192.0.2.7" -> CIDR strings; a bare address is one host. */
const cidrList = z.string().transform((text, ctx) => {
  const ranges: string[] = [];
  for (const item of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)) {
    const cidr = item.includes('/')
      ? item
      : `${item}/${ipaddr.isValid(item) && ipaddr.parse(item).kind() === 'ipv6' ? 128 : 32}`;
    if (!ipaddr.isValidCIDR(cidr)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${item}" is not an address range like 127.0.0.0/8`,
      });
      return z.NEVER;
    }
    ranges.push(cidr);
  }
  return ranges;
});

/**
 * An AES-256 key: 32 bytes written as 64 hex characters or as base64. Its id
 * (the first 8 bytes of its SHA-256, in hex) goes into every blob's header,
 * so that after a key change the blob says which key opens it.
 */
export interface MediaKey {
  readonly id: string;
  readonly bytes: Buffer;
}

export function parseMediaKey(text: string): MediaKey | string {
  const value = text.trim();
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(value)) bytes = Buffer.from(value, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) bytes = Buffer.from(value, 'base64');
  if (bytes === undefined || bytes.length !== 32)
    return 'it must be 32 bytes written as 64 hex characters or as base64 (e.g. the output of `openssl rand -hex 32`)';
  const id = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  // Not enumerable: a config object that reaches a log or JSON.stringify shows no key.
  return Object.freeze(
    Object.defineProperty({ id }, 'bytes', { value: bytes, enumerable: false }),
  ) as MediaKey;
}

const mediaKey = z.string().transform((text, ctx) => {
  const parsed = parseMediaKey(text);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const mediaKeyList = z.string().transform((text, ctx) => {
  const keys: MediaKey[] = [];
  for (const [index, item] of text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .entries()) {
    const parsed = parseMediaKey(item);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: `key ${index + 1}: ${parsed}` });
      return z.NEVER;
    }
    keys.push(parsed);
  }
  return keys;
});

/** name -> [schema, default, description]. The README's configuration table mirrors this. */
const SETTINGS = {
  PORT: [port, '8080', 'HTTP port of `takedown serve` / `npm start`.'],
  HOST: [z.string().min(1), '127.0.0.1', 'Address the HTTP server listens on (0.0.0.0 for all).'],
  TAKEDOWN_DATA: [z.string().min(1), './data', 'Folder for the embedded database and local files.'],
  DATABASE_URL: [
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional(),
    undefined,
    'PostgreSQL server to use instead of the embedded database.',
  ],
  LOG_LEVEL: [
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'Log verbosity.',
  ],
  TAKEDOWN_DB_POOL_SIZE: [
    positiveInt,
    '10',
    'Most connections each process opens to the PostgreSQL server of DATABASE_URL.',
  ],
  TAKEDOWN_MAX_BODY_BYTES: [
    positiveInt,
    String(2 * 1024 * 1024),
    'Largest HTTP request body the API accepts, unless a route sets its own limit (image uploads do).',
  ],
  TAKEDOWN_SHUTDOWN_GRACE_MS: [
    z.coerce.number().int().min(0),
    '10000',
    'On SIGTERM/SIGINT, how long the server lets in-flight requests and database sessions finish.',
  ],
  TAKEDOWN_MAX_PIXELS: [
    positiveInt,
    '100000000',
    'Largest image (width x height) that is decoded; larger ones are refused as possible decompression bombs.',
  ],
  TAKEDOWN_MAX_IMAGE_BYTES: [
    positiveInt,
    String(256 * 1024 * 1024),
    'Largest image file that is decoded; larger files still get their exact hashes.',
  ],
  TAKEDOWN_JOBS_CONCURRENCY: [
    positiveInt,
    '16',
    'Background jobs one worker process runs at once (most wait on the network or the database).',
  ],
  TAKEDOWN_JOBS_POLL_MS: [
    positiveInt,
    '100',
    'Longest pause between looks for new jobs when a worker is idle: how soon a job enqueued by another process starts.',
  ],
  TAKEDOWN_JOBS_LEASE_MS: [
    z.coerce.number().int().min(500),
    '30000',
    'How long a running job stays claimed without a heartbeat from its worker (renewed every third of it); after a worker dies, its jobs run again once this passes.',
  ],
  TAKEDOWN_FETCH_ALLOW: [
    cidrList,
    '',
    'Comma-separated address ranges (CIDR) that fetching may reach although they are private or special, e.g. 127.0.0.0/8 for tests against a local web server. Empty in production. Cloud metadata addresses stay refused.',
  ],
  TAKEDOWN_FETCH_MAX_BYTES: [
    positiveInt,
    String(64 * 1024 * 1024),
    'Largest response body fetched from a reported URL, after decompression; larger ones are recorded as too large.',
  ],
  TAKEDOWN_FETCH_TIMEOUT_MS: [
    positiveInt,
    '30000',
    'Longest a fetch may take in total, redirects included.',
  ],
  TAKEDOWN_FETCH_IDLE_TIMEOUT_MS: [
    positiveInt,
    '10000',
    'Longest a fetch waits for the next byte (connecting included).',
  ],
  TAKEDOWN_FETCH_MAX_REDIRECTS: [
    nonNegativeInt,
    '5',
    'Redirects a fetch follows; each target is checked like the first URL.',
  ],
  TAKEDOWN_FETCH_PER_HOST: [
    positiveInt,
    '4',
    'Requests one process sends to the same host at once.',
  ],
  TAKEDOWN_FETCH_USER_AGENT: [
    z.string().min(1),
    'Mozilla/5.0 (compatible; Takedown/0.1; hotline content verification)',
    'User-Agent header of every fetch.',
  ],
  TAKEDOWN_SESSION_IDLE_MINUTES: [
    z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 60),
    '30',
    'A signed-in session ends after this many minutes without a request.',
  ],
  TAKEDOWN_SESSION_MAX_HOURS: [
    z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 7),
    '12',
    'A signed-in session ends this many hours after sign-in, however active.',
  ],
  TAKEDOWN_COOKIE_SECURE: [
    z.enum(['true', 'false']).transform((value) => value === 'true'),
    'true',
    'Mark the session cookie Secure (sent over HTTPS only; browsers also accept it on http://localhost). Set false only to test over plain HTTP on another address.',
  ],
  TAKEDOWN_TRUSTED_PROXY_HOPS: [
    z.coerce.number().int().min(0).max(5),
    '0',
    'How many reverse proxies in front of the server append to X-Forwarded-For. The client address (for sign-in throttling and the audit trail) is taken that many entries from the right; 0 ignores the header.',
  ],
  TAKEDOWN_CHECK_HASHES_PER_SECOND: [
    positiveInt,
    '2000',
    'Hashes per second one API key may check through the hash-check API (per server process), unless the key has its own limit (`takedown key create --hashes-per-second`).',
  ],
  TAKEDOWN_CHECK_BURST_HASHES: [
    z.coerce.number().int().min(10_000),
    '20000',
    'How many hashes a key may check at once after a quiet spell (the token bucket size); at least 10000, one full batch.',
  ],
  TAKEDOWN_CHECK_IMAGES_PER_SECOND: [
    positiveInt,
    '5',
    'Images per second one API key may upload to POST /v1/check/image (per server process), unless the key has its own limit.',
  ],
  TAKEDOWN_CHECK_BURST_IMAGES: [
    positiveInt,
    '20',
    'How many images a key may upload at once after a quiet spell.',
  ],
  TAKEDOWN_CHECK_MAX_UPLOAD_BYTES: [
    positiveInt,
    String(20 * 1024 * 1024),
    'Largest image POST /v1/check/image accepts; larger uploads get 413. Uploads are hashed in memory and never stored.',
  ],
  TAKEDOWN_CHANGES_POLL_MS: [
    z.coerce.number().int().min(10).max(60_000),
    '250',
    'How often each server process looks for bank changes (entries added or removed, banks disabled, keys revoked) made by other processes.',
  ],
  TAKEDOWN_MATCHER_SNAPSHOT: [
    z.enum(['true', 'false']).transform((value) => value === 'true'),
    'true',
    'Keep a snapshot of the in-memory matcher in TAKEDOWN_DATA/matcher, so that a restart loads it instead of every bank entry.',
  ],
  TAKEDOWN_API_KEY: [
    z.string().min(1).optional(),
    undefined,
    'API key for `takedown scan --server` (the hash-check service); --key overrides it. Keep it out of shell history and scripts: set it in the environment.',
  ],
  TAKEDOWN_PIPELINE: [
    z.enum(['on', 'off']),
    'on',
    'Whether `takedown serve` also runs the report pipeline (fetch, hash, match, classify) in its own process. off: the server only accepts reports, and `takedown worker` processes (here or on other machines) do the work.',
  ],
  TAKEDOWN_MEDIA_KEY: [
    mediaKey.optional(),
    undefined,
    'Key that encrypts evidence media at rest (AES-256-GCM): 32 random bytes as 64 hex characters or base64, e.g. from `openssl rand -hex 32`. Required wherever the report pipeline runs; keep it outside the data folder and its backups.',
  ],
  TAKEDOWN_MEDIA_OLD_KEYS: [
    mediaKeyList,
    '',
    'Earlier values of TAKEDOWN_MEDIA_KEY, comma-separated, still needed to read media stored before a key change. New media always uses TAKEDOWN_MEDIA_KEY.',
  ],
  TAKEDOWN_MEDIA_DIR: [
    z.string().min(1).optional(),
    undefined,
    'Folder for encrypted evidence media (default: TAKEDOWN_DATA/media).',
  ],
  TAKEDOWN_MEDIA_RETENTION_DAYS: [
    z.coerce.number().positive().max(3650),
    '90',
    'Evidence media is deleted this many days after it was stored; the items keep their hashes, matches and decisions.',
  ],
  TAKEDOWN_REPORT_MAX_URLS: [
    z.coerce.number().int().min(1).max(1000),
    '20',
    'Most URLs one report may carry (public form, partner batch and CSV import alike).',
  ],
  TAKEDOWN_REPORT_RATE_PER_MINUTE: [
    z.coerce.number().positive(),
    '10',
    'Public reports (POST /v1/reports) one client address may submit per minute, per server process, after its burst.',
  ],
  TAKEDOWN_REPORT_BURST: [
    positiveInt,
    '20',
    'Public reports one client address may submit at once after a quiet spell.',
  ],
  TAKEDOWN_STATUS_RATE_PER_MINUTE: [
    z.coerce.number().positive(),
    '60',
    'Tracking-code look-ups (GET /v1/reports/<code>) one client address may make per minute, per server process (bursts up to the same number).',
  ],
  TAKEDOWN_FETCH_RETRIES: [
    z.coerce.number().int().min(0).max(20),
    '3',
    'How often the pipeline tries a reported URL or a media URL again after a passing failure (unreachable, timeout, 5xx, 429) before it records the failure.',
  ],
  TAKEDOWN_FETCH_RETRY_DELAY_MS: [
    positiveInt,
    '30000',
    'Wait before the first such retry; it doubles for each further one (with jitter).',
  ],
  TAKEDOWN_HASH_THREADS: [
    z.coerce.number().int().min(0).max(256).optional(),
    undefined,
    'Worker threads that hash fetched media in each pipeline process, beside the event loop (default: one per core; 0 hashes on the event loop). With threads, kept media is also encrypted and written on a thread of its own.',
  ],
  TAKEDOWN_PDQ_VARIANTS: [
    z.enum(['true', 'false']).transform((value) => value === 'true'),
    'true',
    'Match fetched images against the banks in all 8 rotations and mirror images, so that a flipped or rotated copy of known material is still found.',
  ],
} as const satisfies Record<string, readonly [z.ZodType, string | undefined, string]>;

type Settings = typeof SETTINGS;

/** Never repeated in error messages: they would reach terminals and logs. */
const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  'TAKEDOWN_MEDIA_KEY',
  'TAKEDOWN_MEDIA_OLD_KEYS',
]);
export type ConfigName = keyof Settings;

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly logLevel: z.infer<Settings['LOG_LEVEL'][0]>;
  readonly dbPoolSize: number;
  readonly maxBodyBytes: number;
  readonly shutdownGraceMs: number;
  readonly maxPixels: number;
  readonly maxImageBytes: number;
  readonly jobsConcurrency: number;
  readonly jobsPollMs: number;
  readonly jobsLeaseMs: number;
  /** CIDR ranges fetching may reach despite being special (tests only). */
  readonly fetchAllow: readonly string[];
  readonly fetchMaxBytes: number;
  readonly fetchTimeoutMs: number;
  readonly fetchIdleTimeoutMs: number;
  readonly fetchMaxRedirects: number;
  readonly fetchPerHost: number;
  readonly fetchUserAgent: string;
  readonly sessionIdleMinutes: number;
  readonly sessionMaxHours: number;
  readonly cookieSecure: boolean;
  readonly trustedProxyHops: number;
  /** `takedown scan --server`'s key, when not given with --key. */
  readonly apiKey: string | undefined;
  readonly checkHashesPerSecond: number;
  readonly checkBurstHashes: number;
  readonly checkImagesPerSecond: number;
  readonly checkBurstImages: number;
  readonly checkMaxUploadBytes: number;
  readonly changesPollMs: number;
  readonly matcherSnapshot: boolean;
  /** Whether `takedown serve` runs the report pipeline's jobs in its own process. */
  readonly pipeline: 'on' | 'off';
  /** Encrypts evidence media; required where the pipeline runs (see requireMediaKey). */
  readonly mediaKey: MediaKey | undefined;
  readonly mediaOldKeys: readonly MediaKey[];
  /** Folder of the encrypted evidence media. */
  readonly mediaDir: string;
  readonly mediaRetentionDays: number;
  readonly reportMaxUrls: number;
  readonly reportRatePerMinute: number;
  readonly reportBurst: number;
  readonly statusRatePerMinute: number;
  readonly fetchRetries: number;
  readonly fetchRetryDelayMs: number;
  readonly pdqVariants: boolean;
  /** undefined: the default for this machine (src/pipeline/service.ts). */
  readonly hashThreads: number | undefined;
}

/** Reads and validates the environment. Throws `invalid-config` naming the variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const read = <K extends ConfigName>(name: K): z.infer<Settings[K][0]> => {
    const [schema, fallback] = SETTINGS[name];
    const raw = env[name] === undefined || env[name] === '' ? fallback : env[name];
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (!parsed.success) {
      const reason = parsed.error.issues[0]?.message ?? 'invalid value';
      throw new TakedownError(
        'invalid-config',
        `Environment variable ${name}=${SECRET_SETTINGS.has(name) ? '(value not shown)' : JSON.stringify(raw)} is not valid: ${reason}. ${SETTINGS[name][2]}`,
        { details: { variable: name } },
      );
    }
    return parsed.data as z.infer<Settings[K][0]>;
  };
  return Object.freeze({
    port: read('PORT'),
    host: read('HOST'),
    dataDir: path.resolve(read('TAKEDOWN_DATA')),
    databaseUrl: read('DATABASE_URL'),
    logLevel: read('LOG_LEVEL'),
    dbPoolSize: read('TAKEDOWN_DB_POOL_SIZE'),
    maxBodyBytes: read('TAKEDOWN_MAX_BODY_BYTES'),
    shutdownGraceMs: read('TAKEDOWN_SHUTDOWN_GRACE_MS'),
    maxPixels: read('TAKEDOWN_MAX_PIXELS'),
    maxImageBytes: read('TAKEDOWN_MAX_IMAGE_BYTES'),
    jobsConcurrency: read('TAKEDOWN_JOBS_CONCURRENCY'),
    jobsPollMs: read('TAKEDOWN_JOBS_POLL_MS'),
    jobsLeaseMs: read('TAKEDOWN_JOBS_LEASE_MS'),
    fetchAllow: Object.freeze(read('TAKEDOWN_FETCH_ALLOW')),
    fetchMaxBytes: read('TAKEDOWN_FETCH_MAX_BYTES'),
    fetchTimeoutMs: read('TAKEDOWN_FETCH_TIMEOUT_MS'),
    fetchIdleTimeoutMs: read('TAKEDOWN_FETCH_IDLE_TIMEOUT_MS'),
    fetchMaxRedirects: read('TAKEDOWN_FETCH_MAX_REDIRECTS'),
    fetchPerHost: read('TAKEDOWN_FETCH_PER_HOST'),
    fetchUserAgent: read('TAKEDOWN_FETCH_USER_AGENT'),
    sessionIdleMinutes: read('TAKEDOWN_SESSION_IDLE_MINUTES'),
    sessionMaxHours: read('TAKEDOWN_SESSION_MAX_HOURS'),
    cookieSecure: read('TAKEDOWN_COOKIE_SECURE'),
    trustedProxyHops: read('TAKEDOWN_TRUSTED_PROXY_HOPS'),
    apiKey: read('TAKEDOWN_API_KEY'),
    checkHashesPerSecond: read('TAKEDOWN_CHECK_HASHES_PER_SECOND'),
    checkBurstHashes: read('TAKEDOWN_CHECK_BURST_HASHES'),
    checkImagesPerSecond: read('TAKEDOWN_CHECK_IMAGES_PER_SECOND'),
    checkBurstImages: read('TAKEDOWN_CHECK_BURST_IMAGES'),
    checkMaxUploadBytes: read('TAKEDOWN_CHECK_MAX_UPLOAD_BYTES'),
    changesPollMs: read('TAKEDOWN_CHANGES_POLL_MS'),
    matcherSnapshot: read('TAKEDOWN_MATCHER_SNAPSHOT'),
    pipeline: read('TAKEDOWN_PIPELINE'),
    mediaKey: read('TAKEDOWN_MEDIA_KEY'),
    mediaOldKeys: Object.freeze(read('TAKEDOWN_MEDIA_OLD_KEYS')),
    mediaDir: path.resolve(read('TAKEDOWN_MEDIA_DIR') ?? path.join(read('TAKEDOWN_DATA'), 'media')),
    mediaRetentionDays: read('TAKEDOWN_MEDIA_RETENTION_DAYS'),
    reportMaxUrls: read('TAKEDOWN_REPORT_MAX_URLS'),
    reportRatePerMinute: read('TAKEDOWN_REPORT_RATE_PER_MINUTE'),
    reportBurst: read('TAKEDOWN_REPORT_BURST'),
    statusRatePerMinute: read('TAKEDOWN_STATUS_RATE_PER_MINUTE'),
    fetchRetries: read('TAKEDOWN_FETCH_RETRIES'),
    fetchRetryDelayMs: read('TAKEDOWN_FETCH_RETRY_DELAY_MS'),
    pdqVariants: read('TAKEDOWN_PDQ_VARIANTS'),
    hashThreads: read('TAKEDOWN_HASH_THREADS'),
  });
}

/** For documentation: every variable with its default and meaning. */
export function describeSettings(): Array<{
  name: string;
  default: string | undefined;
  description: string;
}> {
  return Object.entries(SETTINGS).map(([name, [, fallback, description]]) => ({
    name,
    default: fallback,
    description,
  }));
}
