import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Database work that can wait. On the embedded database every query takes
 * its turn at one backend; when the pipeline keeps it busy, a public report
 * or an analyst's page would queue behind dozens of job statements. Work
 * started inside `inBackground` (the job runners) marks its turns as
 * background, and the embedded database serves waiting foreground turns
 * first (see SessionLock). On PostgreSQL, with a pool of connections, it
 * changes nothing.
 */
const background = new AsyncLocalStorage<true>();

/** Runs `work`, and everything it starts (timers and promises included), as background work. */
export function inBackground<T>(work: () => T): T {
  return background.run(true, work);
}

export function isBackground(): boolean {
  return background.getStore() === true;
}
