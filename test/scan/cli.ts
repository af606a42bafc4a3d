import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { CLI, childEnv, requireBuild } from '../support/processes.js';

/** `takedown scan` as a provider runs it: the built CLI in a child process. */

export interface Run {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Started {
  readonly child: ChildProcess;
  readonly done: Promise<Run>;
}

/** The environment of a scan: none of the developer's own settings leak in. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = childEnv();
  for (const name of Object.keys(base)) if (name.startsWith('TAKEDOWN_')) delete base[name];
  return { ...base, ...env };
}

export function startTakedown(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Started {
  requireBuild('src/cli/commands/scan.ts', 'src/scan/run.ts');
  const child = spawn(process.execPath, [CLI, ...args], {
    env: cleanEnv(options.env ?? {}),
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal as string), stdout, stderr }),
    ),
  );
  return { child, done };
}

export function takedown(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<Run> {
  return startTakedown(args, options).done;
}
