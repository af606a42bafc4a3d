import { readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * Who a process is, precisely enough to tell "still running" from "a pid that
 * was reused after a crash or a reboot". On Linux the kernel's boot id and the
 * process start time (in clock ticks since boot) identify a process for good;
 * elsewhere we fall back to "a process with that pid exists".
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly host: string;
  /** /proc/sys/kernel/random/boot_id; undefined off Linux. */
  readonly bootId?: string;
  /** Field 22 of /proc/<pid>/stat; undefined off Linux. */
  readonly startTime?: string;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Start time of `pid` from /proc, or undefined when unknown / not running. */
function startTimeOf(pid: number): string | undefined {
  const stat = readOptional(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may contain spaces and parentheses: count from its end.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 overall
}

export function currentProcess(): ProcessIdentity {
  const bootId = readOptional('/proc/sys/kernel/random/boot_id')?.trim();
  const startTime = startTimeOf(process.pid);
  return {
    pid: process.pid,
    host: os.hostname(),
    ...(bootId === undefined ? {} : { bootId }),
    ...(startTime === undefined ? {} : { startTime }),
  };
}

export type Liveness = 'alive' | 'dead' | 'other-host';

/** Whether the process `who` describes is still running on this machine. */
export function liveness(who: ProcessIdentity, me: ProcessIdentity = currentProcess()): Liveness {
  if (who.host !== me.host) return 'other-host';
  if (who.bootId !== undefined && me.bootId !== undefined) {
    if (who.bootId !== me.bootId) return 'dead'; // written before a reboot
    const now = startTimeOf(who.pid);
    if (now === undefined) return 'dead';
    return who.startTime === undefined || now === who.startTime ? 'alive' : 'dead';
  }
  try {
    process.kill(who.pid, 0);
    return 'alive';
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}
