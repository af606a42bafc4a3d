import { describe, expect, it } from 'vitest';
import { canonicalJson, storable } from './canonical.js';
import { CHAIN_START, GENESIS_HASH, checkLink, entryHash } from './chain.js';
import { buildEntry } from './record.js';
import { likePrefix, parseActor, safeCell } from './search.js';

const event = {
  actor: { kind: 'system' as const, id: null, label: 'cli:root', role: null, providerId: null },
  action: 'user.create',
  object: { type: 'user', id: 1 },
  outcome: 'allowed' as const,
  details: { b: 1, a: ['x', { d: null, c: true }] },
  at: new Date('2026-01-02T03:04:05.678Z'),
};

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 'é' }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"x":"é","z":1}]},"b":1}',
    );
  });

  it('refuses values JSON cannot carry', () => {
    expect(() => canonicalJson(Number.NaN)).toThrow();
    expect(() => canonicalJson(() => 1)).toThrow();
  });

  it('makes values storable: NUL replaced, dates as ISO strings', () => {
    expect(storable({ a: 'x\u0000y', when: new Date(0), n: Infinity, u: undefined })).toEqual({
      a: 'x\uFFFDy',
      when: '1970-01-01T00:00:00.000Z',
      n: 'Infinity',
    });
  });
});

describe('the hash chain', () => {
  it('links each entry to the previous hash and its own content', () => {
    const first = buildEntry(event, 1, GENESIS_HASH);
    expect(first.prev_hash).toBe(GENESIS_HASH);
    expect(first.hash).toBe(entryHash(GENESIS_HASH, first));
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    const second = buildEntry({ ...event, action: 'user.disable' }, 2, first.hash);
    const link1 = checkLink(CHAIN_START, first);
    expect(link1.kind).toBe('ok');
    if (link1.kind !== 'ok') return;
    expect(checkLink(link1.position, second)).toEqual({
      kind: 'ok',
      position: { seq: 2, hash: second.hash },
    });
  });

  it('names what broke: changed content, a changed predecessor, a gap', () => {
    const first = buildEntry(event, 1, GENESIS_HASH);
    expect(checkLink(CHAIN_START, { ...first, outcome: 'denied' })).toMatchObject({
      kind: 'broken',
      seq: 1,
      reason: expect.stringMatching(/content does not match/),
    });
    const second = buildEntry(event, 2, first.hash);
    expect(checkLink({ seq: 1, hash: 'f'.repeat(64) }, second)).toMatchObject({
      kind: 'broken',
      seq: 2,
      reason: expect.stringMatching(/predecessor/),
    });
    expect(checkLink(CHAIN_START, second)).toMatchObject({
      kind: 'broken',
      seq: 2,
      reason: expect.stringMatching(/entries 1 to 1 are missing/),
    });
  });

  it('hashes the same content the same way whatever the key order of details', () => {
    const a = buildEntry({ ...event, details: { x: 1, y: 2 } }, 1, GENESIS_HASH);
    const b = buildEntry({ ...event, details: { y: 2, x: 1 } }, 1, GENESIS_HASH);
    expect(a.hash).toBe(b.hash);
  });

  it('turns principals into actors', () => {
    const entry = buildEntry(
      {
        ...event,
        actor: {
          kind: 'user',
          userId: 7,
          email: 'a@b.example',
          role: 'analyst',
          providerId: null,
          sessionId: 's',
        },
      },
      1,
      GENESIS_HASH,
    );
    expect(entry).toMatchObject({
      actor_kind: 'user',
      actor_id: 7,
      actor_label: 'a@b.example',
      actor_role: 'analyst',
    });
  });
});

describe('audit search helpers', () => {
  it('parses actor filters', () => {
    expect(parseActor('user:12')).toEqual({ kind: 'user', id: 12 });
    expect(parseActor('key:3')).toEqual({ kind: 'api-key', id: 3 });
    expect(parseActor('anonymous')).toEqual({ kind: 'anonymous' });
    expect(parseActor('A@B.example')).toEqual({ kind: 'label', label: 'a@b.example' });
  });

  it('escapes LIKE wildcards in prefixes', () => {
    expect(likePrefix('a_b%c\\')).toBe('a\\_b\\%c\\\\%');
  });

  it('defuses spreadsheet formulas in CSV cells', () => {
    expect(safeCell('=HYPERLINK("x")')).toBe('\'=HYPERLINK("x")');
    expect(safeCell('@SUM(1)')).toBe("'@SUM(1)");
    expect(safeCell('plain')).toBe('plain');
  });
});
