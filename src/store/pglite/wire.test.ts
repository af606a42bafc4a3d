import { describe, expect, it } from 'vitest';
import { BackendScanner, queryMessage, splitFrontend } from './wire.js';

const int32 = (n: number): number[] => [
  (n >>> 24) & 255,
  (n >>> 16) & 255,
  (n >>> 8) & 255,
  n & 255,
];
const startup = new Uint8Array([...int32(17), ...int32(196608), ...Buffer.from('user\0me\0\0')]);
const ssl = new Uint8Array([...int32(8), ...int32(80877103)]);
const sync = new Uint8Array([0x53, ...int32(4)]);
const readyForQuery = (status: string) => new Uint8Array([0x5a, ...int32(5), status.charCodeAt(0)]);

describe('splitFrontend', () => {
  it('answers the encryption request, then takes the startup message without a type byte', () => {
    const all = new Uint8Array([...ssl, ...startup, ...queryMessage('select 1'), ...sync]);
    const { messages, consumed, started } = splitFrontend(all, false);
    expect(messages.map((m) => (m.kind === 'message' ? m.type : m.kind))).toEqual([
      'encryption-request',
      'startup',
      'Q',
      'S',
    ]);
    expect(consumed).toBe(all.length);
    expect(started).toBe(true);
  });

  it('keeps an incomplete message for the next chunk', () => {
    const query = queryMessage('select 42');
    const first = splitFrontend(query.slice(0, 7), true);
    expect(first).toEqual({ messages: [], consumed: 0, started: true });
    const second = splitFrontend(query, true);
    expect(second.messages).toEqual([{ kind: 'message', type: 'Q', bytes: query }]);
  });

  it('flags what is not PostgreSQL', () => {
    const http = new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n');
    expect(splitFrontend(http, false).messages[0]).toMatchObject({ kind: 'invalid' });
  });
});

describe('BackendScanner', () => {
  it('finds the transaction status across chunk boundaries', () => {
    const dataRow = new Uint8Array([0x44, ...int32(11), 0, 1, ...int32(1), 0x5a]); // contains a 'Z' byte
    const stream = new Uint8Array([...dataRow, ...readyForQuery('T')]);
    for (let cut = 1; cut < stream.length; cut += 1) {
      const scanner = new BackendScanner();
      scanner.feed(stream.slice(0, cut));
      scanner.feed(stream.slice(cut));
      expect(scanner.status).toBe('T');
    }
  });

  it('reports no status until a ReadyForQuery arrives, and the last one after', () => {
    const scanner = new BackendScanner();
    scanner.feed(new Uint8Array([0x31, ...int32(4)])); // ParseComplete
    expect(scanner.status).toBeUndefined();
    scanner.feed(new Uint8Array([...readyForQuery('T'), ...readyForQuery('I')]));
    expect(scanner.status).toBe('I');
    scanner.reset();
    expect(scanner.status).toBeUndefined();
  });
});
