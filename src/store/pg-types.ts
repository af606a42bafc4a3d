import pg from 'pg';

/**
 * How column values become JavaScript values, for every connection we open:
 * the PostgreSQL server pool, the embedded database in-process, and commands
 * that reach the embedded database through the running server. All three
 * parse the same text wire format with these parsers, so a query returns the
 * same values on PGlite and on PostgreSQL (the contract tests check it).
 *
 * Passed per pool/client, never installed globally with `pg.types.setTypeParser`,
 * so nothing else in the process changes behaviour because we were imported.
 */

const INT8 = 20; // bigint, count(*), sum(int)
const INT8_ARRAY = 1016;
const DATE = 1082;
const DATE_ARRAY = 1182;
const TEXT_ARRAY = 1009;

/**
 * bigint -> number. Counts and identity ids are bigint in PostgreSQL; as
 * strings (pg's default) they are a trap in arithmetic and comparisons. Ids and
 * counts here stay far below 2^53, and a value that does not fit throws rather
 * than silently losing digits (pg reports it as the query's error).
 */
export function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(
      `bigint value ${text} does not fit a JavaScript number; select it as text (::text) instead`,
    );
  }
  return value;
}

/** 1-D arrays only: our schema has no multi-dimensional bigint or date arrays. */
function arrayOf<T>(parse: (text: string) => T): (text: string) => Array<T | null> {
  const parseTextArray = (pg.types.getTypeParser as (oid: number) => unknown)(TEXT_ARRAY) as (
    text: string,
  ) => Array<string | null>;
  return (text) => parseTextArray(text).map((item) => (item === null ? null : parse(item)));
}

const identity = (text: string): string => text;

/**
 * `date` stays 'YYYY-MM-DD': pg's default turns it into a Date at local
 * midnight, which shifts the day in any time zone west of UTC.
 */
const OVERRIDES: ReadonlyMap<number, (text: string) => unknown> = new Map<
  number,
  (text: string) => unknown
>([
  [INT8, parseInt8],
  [INT8_ARRAY, arrayOf(parseInt8)],
  [DATE, identity],
  [DATE_ARRAY, arrayOf(identity)],
]);

/** The `types` option for `pg.Pool` / `pg.Client`. */
export const PG_TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary') {
      const override = OVERRIDES.get(oid);
      if (override !== undefined) return override;
    }
    return (pg.types.getTypeParser as (oid: number, format: string) => unknown)(
      oid,
      format ?? 'text',
    );
  }) as pg.CustomTypesConfig['getTypeParser'],
};
