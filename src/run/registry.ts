/**
 * The orchestrator registry: one JSON record per running plan orchestrator, in the repository's common
 * git dir (shared by every worktree), so that a second orchestrator for the same plan is refused and
 * whoever takes over a dead record can end the agents it left behind.
 *
 * A PID alone does not name a process for long: after a crash and a reboot, or just a busy day, the
 * number belongs to something else. Every process we may signal later is recorded with its start
 * time, and is signalled only while that PID still has that start time.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { PlanError } from '../core/source.js';
import { isPidAlive, isRecordedProcessAlive, processStartTime } from '../core/processIdentity.js';
import type { GitService } from '../git/gitService.js';

export interface RegistryChild {
  id: string;
  pid: number;
  /** The process's start time as the kernel counts it (clock ticks after boot); see processStartTime. */
  startTime?: string;
}

export interface RegistryEntry {
  plan: string;
  worktree: string;
  pid: number;
  host: string;
  startedAt: string;
  /** The orchestrator's own process start time, to tell a live record from a reused PID. */
  startTime?: string;
  /** Agent processes (own process groups) so that whoever takes over a dead record can end them. */
  children: RegistryChild[];
}

export { isPidAlive, processStartTime };

/** Whether the PID still names the process that was recorded (same start time). */
export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  if (!isPidAlive(pid)) return false;
  // Without a recorded start time (an older record) or without /proc we cannot tell: assume not.
  if (startTime === undefined) return false;
  return processStartTime(pid) === startTime;
}

/** Signals a recorded process group only if its leader is still the process we started. */
export function signalRecordedGroup(child: RegistryChild, signal: NodeJS.Signals): 'signalled' | 'gone' | 'reused' {
  if (!isPidAlive(child.pid)) return 'gone';
  if (!isSameProcess(child.pid, child.startTime)) return 'reused';
  try {
    process.kill(-child.pid, signal);
    return 'signalled';
  } catch {
    return 'gone';
  }
}

export function registryName(planPath: string): string {
  return path.basename(planPath, '.md').replace(/[^\w.-]/g, '_');
}

/** Where the registry lives: shared by every worktree of a repository, or beside status.json outside git. */
export async function registryDir(git: GitService | undefined, statusPath: string): Promise<string> {
  return git ? path.join(await git.commonDir(), 'plan-orchestrator', 'orchestrators') : path.dirname(statusPath);
}

/** Alive: on this host, the PID runs and (when recorded) has the recorded start time. */
function entryAlive(entry: RegistryEntry): boolean {
  if (entry.host !== os.hostname()) return true;
  return isRecordedProcessAlive(entry.pid, entry.startTime);
}

/**
 * Records read before, by file, with the file's identity when read: a long-lived reader (the plan
 * watcher, which checks liveness every few seconds) passes one to listRegistry, which then reads only
 * the records that changed. Liveness is checked on every call all the same.
 */
export type RegistryReadCache = Map<string, { stamp: string; entry: RegistryEntry }>;

export async function listRegistry(dir: string, cache?: RegistryReadCache): Promise<Array<RegistryEntry & { name: string; alive: boolean }>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Array<RegistryEntry & { name: string; alive: boolean }> = [];
  const seen = new Set<string>();
  for (const n of names.sort()) {
    const file = path.join(dir, n);
    seen.add(file);
    try {
      let entry: RegistryEntry;
      const known = cache?.get(file);
      // Records are replaced by rename: a new inode (or size, or mtime) is a new record.
      const stamp = cache ? await stat(file).then((s) => `${s.mtimeMs}:${s.size}:${s.ino}`) : '';
      if (known && known.stamp === stamp) entry = known.entry;
      else {
        entry = JSON.parse(await readFile(file, 'utf8')) as RegistryEntry;
        cache?.set(file, { stamp, entry });
      }
      out.push({ ...entry, name: n.slice(0, -5), alive: entryAlive(entry) });
    } catch {
      // A record being rewritten right now, or not ours: nothing useful to list.
    }
  }
  if (cache) for (const file of cache.keys()) if (path.dirname(file) === dir && !seen.has(file)) cache.delete(file);
  return out;
}

/**
 * The live orchestrator recorded for a plan. Records are kept per plan file name, across worktrees:
 * that is what a second orchestrator for the plan would collide with.
 */
export function runningRecordFor<T extends { name: string; alive: boolean }>(entries: readonly T[], planFile: string): T | undefined {
  const name = registryName(planFile);
  return entries.find((e) => e.alive && e.name === name);
}

export const lockOptions = (lockPath: string) => ({
  realpath: false,
  lockfilePath: lockPath,
  stale: 10_000,
  update: 2_000,
  retries: { retries: 400, factor: 1.2, minTimeout: 10, maxTimeout: 250, randomize: true },
});

/**
 * This orchestrator's own record. Launches and exits rewrite it; at most one write runs and one
 * waits, and the waiting one takes the state of the moment it starts, so a burst of launches costs
 * two writes, not one each.
 */
export class RegistryRecord {
  private file: string | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private pending: Promise<void> | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly startTime = processStartTime(process.pid);

  constructor(
    private readonly plan: string,
    private readonly worktree: string,
    private readonly children: () => RegistryChild[],
    private readonly warn: (message: string) => void,
  ) {}

  /** Takes the plan's record: refused while another live orchestrator holds it; a dead one's agents are ended. */
  async acquire(dir: string, relPath: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${registryName(this.plan)}.json`);
    const release = await lockfile.lock(file, lockOptions(`${file}.lock`));
    try {
      let previous: RegistryEntry | undefined;
      try {
        previous = JSON.parse(await readFile(file, 'utf8')) as RegistryEntry;
      } catch {
        previous = undefined;
      }
      if (previous) {
        if (entryAlive(previous)) {
          throw new PlanError(
            'status-locked',
            `an orchestrator is already running ${relPath} (pid ${previous.pid} on ${previous.host}, since ${previous.startedAt}); stop it first, or remove ${file} if it is gone`,
          );
        }
        // Its agents may have outlived it; their results would never be collected and they would race a rerun.
        for (const c of previous.children ?? []) {
          if (signalRecordedGroup(c, 'SIGKILL') === 'reused') {
            this.warn(`task ${c.id}: pid ${c.pid} of the previous run now belongs to another process; not signalled`);
          }
        }
      }
      this.file = file;
      await this.write();
    } finally {
      await release().catch(() => undefined);
    }
  }

  write(): Promise<void> {
    if (!this.file) return Promise.resolve();
    if (this.pending) return this.pending;
    const file = this.file;
    const write = this.writes.then(async () => {
      this.pending = undefined;
      const entry: RegistryEntry = {
        plan: this.plan,
        worktree: this.worktree,
        pid: process.pid,
        host: os.hostname(),
        startedAt: this.startedAt,
        ...(this.startTime ? { startTime: this.startTime } : {}),
        children: this.children(),
      };
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(entry, null, 2)}\n`);
      await rename(tmp, file);
    });
    this.pending = write;
    this.writes = write.catch(() => undefined);
    return write;
  }

  async release(): Promise<void> {
    if (!this.file) return;
    await this.writes;
    await rm(this.file, { force: true });
    this.file = undefined;
  }
}
