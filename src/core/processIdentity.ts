/**
 * Whether a process recorded in a status file (a task's holder) is still that process. A PID alone is
 * not enough: PIDs are reused, so the record also carries the kernel's start time of the process.
 * The orchestrator registry (src/run/registry.ts) uses the same functions for the agents it records.
 */
import { readFileSync } from 'node:fs';

/**
 * The kernel's start time of a process (field 22 of /proc/<pid>/stat), or undefined when it is gone
 * or the system has no /proc. The command name (field 2) may hold spaces and parentheses, so the
 * fields are counted after its closing parenthesis.
 */
export function processStartTime(pid: number): string | undefined {
  return procStatFields(pid)?.[19];
}

/**
 * Whether the process that was recorded as `pid` (started at `startTime`, when known) still runs on
 * this host. Without /proc or without a recorded start time (an older record) a live PID counts as
 * the same process: holding a task too long is safer than running it twice.
 */
export function isRecordedProcessAlive(pid: number, startTime: string | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !isPidAlive(pid)) return false;
  const fields = procStatFields(pid);
  if (!fields) return true;
  // A zombie has exited; only its parent has not collected its exit status yet.
  if (fields[0] === 'Z') return false;
  return startTime === undefined || fields[19] === startTime;
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The fields of /proc/<pid>/stat from field 3 (state) on, or undefined. */
function procStatFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
