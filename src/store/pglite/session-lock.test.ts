import { describe, expect, it } from 'vitest';
import { inBackground, isBackground } from '../priority.js';
import { BACKGROUND_EVERY, SessionLock } from './session-lock.js';

/** Queues turns behind a holder and records the order in which they are granted. */
function contend(lock: SessionLock, turns: ReadonlyArray<[string, boolean]>): Promise<string[]> {
  const order: string[] = [];
  const done = turns.map(([who, background]) =>
    lock.acquire(who, background).then(() => {
      order.push(who);
      lock.release(who);
    }),
  );
  return Promise.all(done).then(() => order);
}

describe('SessionLock', () => {
  it('serves waiting turns first come, first served', async () => {
    const lock = new SessionLock();
    await lock.acquire('holder');
    const order = contend(lock, [
      ['a', false],
      ['b', false],
      ['c', false],
    ]);
    expect(lock.waiting).toBe(3);
    lock.release('holder');
    expect(await order).toEqual(['a', 'b', 'c']);
  });

  it('lets a request go before the job statements queued ahead of it', async () => {
    const lock = new SessionLock();
    await lock.acquire('holder');
    const order = contend(lock, [
      ['job-1', true],
      ['job-2', true],
      ['request', false],
    ]);
    lock.release('holder');
    expect(await order).toEqual(['request', 'job-1', 'job-2']);
  });

  it(`still gives background work every ${BACKGROUND_EVERY}th turn while requests keep coming`, async () => {
    const lock = new SessionLock();
    await lock.acquire('holder');
    const turns: Array<[string, boolean]> = [
      ['job-1', true],
      ['job-2', true],
    ];
    for (let i = 1; i <= 8; i++) turns.push([`request-${i}`, false]);
    const order = contend(lock, turns);
    lock.release('holder');
    expect(await order).toEqual([
      'request-1',
      'request-2',
      'request-3',
      'job-1',
      'request-4',
      'request-5',
      'request-6',
      'job-2',
      'request-7',
      'request-8',
    ]);
  });

  it('refuses a release by someone who does not hold it', async () => {
    const lock = new SessionLock();
    await lock.acquire('a');
    expect(() => lock.release('b')).toThrow(/released by b but held by a/);
  });
});

describe('inBackground', () => {
  it('marks the work it starts, through timers and promises, and nothing else', async () => {
    expect(isBackground()).toBe(false);
    const seen = await inBackground(
      () =>
        new Promise<boolean>((resolve) =>
          setTimeout(() => void Promise.resolve().then(() => resolve(isBackground())), 1),
        ),
    );
    expect(seen).toBe(true);
    expect(isBackground()).toBe(false);
  });
});
