import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * Child processes for tests that need a real second process: the built CLI
 * (`dist/`, made by `npm test` / `npm run build`) or a helper script.
 */

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');

/** Fails early, with what to do, when the build is missing or older than the sources it runs. */
export function requireBuild(...sources: string[]): void {
  if (!existsSync(CLI))
    throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
  for (const source of sources) {
    const built = path.join(ROOT, 'dist', source.replace(/\.ts$/, '.js'));
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(path.join(ROOT, source)).mtimeMs) {
      throw new Error(
        `${built} is older than ${source}: run \`npm run build\` first (npm test does).`,
      );
    }
  }
}

/**
 * The environment for a child process whose output a test reads as text.
 * CI machines set CI (and often FORCE_COLOR), which makes picocolors and
 * cli-table3 paint even into a pipe; the assertions are about words, so a
 * child is told plainly not to colour.
 */
export function childEnv(env: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete base.FORCE_COLOR;
  return { ...base, ...env };
}

export interface Child {
  readonly process: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the first match of `pattern` in stdout+stderr, waiting for it to appear. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
}

export function start(
  file: string,
  args: string[],
  env: Record<string, string | undefined>,
): Child {
  const child = spawn(process.execPath, [file, ...args], {
    env: childEnv({ LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const result: Child = {
    process: child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? (signal as string))),
    ),
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = (result.stdout + result.stderr).match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
          return match !== null;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `timed out waiting for ${pattern}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
            ),
          );
        }, timeoutMs);
        const onExit = (): void => {
          if (!check()) {
            cleanup();
            reject(
              new Error(
                `process exited before ${pattern}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
              ),
            );
          }
        };
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', check);
          child.stderr?.off('data', check);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', check);
        child.stderr?.on('data', check);
        child.on('exit', onExit);
        check();
      });
    },
  };
  child.stdout?.on('data', (chunk: Buffer) => (result.stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (result.stderr += chunk.toString()));
  return result;
}

/** Runs to completion. */
export async function run(
  file: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const child = start(file, args, env);
  const code = await child.exited;
  return { code, stdout: child.stdout, stderr: child.stderr };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `<url>/readyz` until it answers 200 (a server answers 503 while its database opens). */
export async function waitForReady(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/readyz`).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline)
      throw new Error(`${url} was not ready after ${timeoutMs} ms (last status ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
