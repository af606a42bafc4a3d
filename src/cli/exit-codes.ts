import type { ErrorKind } from '../errors.js';

/** Exit codes every command shares: 0 ok, 1 the work found problems, 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_SOME_FAILED = 1;
export const EXIT_USAGE = 2;

export function exitCodeFor(kind: ErrorKind): number {
  return kind === 'bad-input' ? EXIT_USAGE : EXIT_SOME_FAILED;
}
