import path from 'node:path';
import { z } from 'zod';
import { TakedownError } from './errors.js';

/**
 * The only reader of process.env. Each setting is one environment variable,
 * validated once at start-up; a bad value stops the program with a sentence
 * that names the variable. Importing this module reads nothing.
 */

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

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
} as const satisfies Record<string, readonly [z.ZodType, string | undefined, string]>;

type Settings = typeof SETTINGS;
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
        `Environment variable ${name}=${JSON.stringify(raw)} is not valid: ${reason}. ${SETTINGS[name][2]}`,
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
