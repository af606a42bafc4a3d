/**
 * Canonical JSON: one byte sequence per value, so that a hash computed when
 * an entry was written can be recomputed from the stored row years later by
 * any implementation. Object keys sorted by UTF-16 code units, no
 * whitespace, numbers and strings as JSON.stringify writes them (the same
 * choices as RFC 8785 for the values we store: strings, integers, booleans,
 * null, arrays and objects).
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`not a JSON number: ${value}`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`not a JSON value: ${typeof value}`);
  }
}

/**
 * Makes a value safe to store in a text or jsonb column and to hash: drops
 * undefined, turns Dates into ISO strings and NUL characters (which
 * PostgreSQL text cannot hold) into U+FFFD. Applied to every string an entry
 * carries, since many come from the request.
 */
export function storable(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return cleanText(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(storable);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[cleanText(key)] = storable(item);
    }
    return out;
  }
  return String(value);
}

export function cleanText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u0000/g, '\uFFFD');
}
