/**
 * The job worktrees of one `planctl worker` process: one per job running at once, made on first use
 * and kept. A job gets one reset to the commit its coordinator pinned with nothing else in it (`clean
 * -ffdx` when the previous job ended, `reset --hard` when the next one begins). A new worktree per job
 * cost a `worktree add` and a `worktree remove` under the clone's lock, which queued the jobs of a host
 * behind each other.
 *
 * They live in `<jobs>/<pid>-<n>`, owned through `<jobs>/<pid>.owner` (pid, the process's start time,
 * host). A worker that starts removes the worktrees whose owner is gone (a crash or kill -9 mid-job
 * left them, half-changed) and prunes the clone's worktree list; a worker that stops removes its own.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { isRecordedProcessAlive, processStartTime } from '../core/processIdentity.js';
import type { CommitChain } from './commitPacks.js';
import { gitBinary } from './gitProcess.js';
import { createGit, GitService } from './gitService.js';
import type { HostClone } from './hostClone.js';

export interface JobWorktree {
  readonly dir: string;
  readonly git: GitService;
}

interface Owner {
  pid: number;
  startTime?: string;
  host: string;
}

/** Worktrees made and pools open in this process (names must not repeat; the owner file is shared). */
let madeHere = 0;
let openHere = 0;

export class JobWorktrees {
  private readonly idle: JobWorktree[] = [];
  private readonly cleaning = new Set<Promise<void>>();
  private readonly made: JobWorktree[] = [];
  private readonly ownerFile: string;
  private closed = false;

  private constructor(
    private readonly clone: HostClone,
    private readonly jobsDir: string,
  ) {
    this.ownerFile = path.join(jobsDir, `${process.pid}.owner`);
  }

  /**
   * Takes `jobsDir` for this process: first removes what owners that are gone left there (their
   * worktrees and owner files) and prunes the clone's worktree list. Returns what it removed.
   */
  static async open(clone: HostClone, jobsDir: string): Promise<{ worktrees: JobWorktrees; removed: string[] }> {
    await mkdir(jobsDir, { recursive: true });
    const worktrees = new JobWorktrees(clone, jobsDir);
    const removed = await clone.exclusive(async (git) => {
      const stale = await staleEntries(jobsDir);
      for (const dir of stale.worktrees) {
        // Not registered any more (or never finished being added): the folder alone goes.
        await git.raw(['worktree', 'remove', '--force', '--', dir]).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      }
      for (const f of stale.ownerFiles) await rm(f, { force: true });
      // --verbose prints what it prunes (and keeps simple-git from waiting 50 ms when there is nothing).
      await git.raw(['worktree', 'prune', '--verbose']);
      const startTime = processStartTime(process.pid);
      const owner: Owner = { pid: process.pid, host: os.hostname(), ...(startTime ? { startTime } : {}) };
      await writeFile(worktrees.ownerFile, `${JSON.stringify(owner)}\n`);
      openHere++;
      return stale.worktrees.map((d) => path.basename(d));
    });
    return { worktrees, removed };
  }

  /**
   * A worktree of this process at `commit` and nothing else: an idle one reset there, or a new one.
   * `branch` is where the coordinator pushes the commit, `chain` how it sent it along (HostClone.ensureCommit).
   */
  async acquire(commit: string, branch?: string, chain?: CommitChain): Promise<JobWorktree> {
    await this.clone.ensureCommit(commit, branch, chain);
    // One still being cleaned after its last job serves before a new one is made.
    while (this.idle.length === 0 && this.cleaning.size > 0) await Promise.race(this.cleaning);
    const reused = this.idle.pop();
    if (reused) {
      try {
        // Untracked and ignored files went when its last job ended (release); tracked ones go now.
        await createGit(reused.dir, 2).raw(['reset', '--hard', commit]);
        return reused;
      } catch (e) {
        // A worktree that cannot be reset (its files locked, its folder gone) is not used again.
        await this.drop(reused);
        throw e;
      }
    }
    const dir = path.join(this.jobsDir, `${process.pid}-${++madeHere}`);
    await this.clone.exclusive(async (git) => {
      await rm(dir, { recursive: true, force: true });
      // Without --quiet: it prints (simple-git waits 50 ms after a silent command).
      await git.raw(['worktree', 'add', '--detach', '--', dir, commit]);
    });
    const wt = { dir, git: await GitService.open(dir, { queuePerWorktree: true }) };
    this.made.push(wt);
    return wt;
  }

  /**
   * The job is over: the files it left that git does not track (ignored ones too) are removed now,
   * after its result went out rather than while the next job waits, and the worktree serves again.
   */
  release(wt: JobWorktree): void {
    if (!this.made.includes(wt) || this.idle.includes(wt)) return;
    // Not through simple-git: a clean with nothing to remove prints nothing, and simple-git holds a
    // silent command 50 ms, while the next job may be waiting for this worktree.
    const cleaned: Promise<void> = gitBinary(wt.dir, ['clean', '-ffdx'], '')
      .then(
        () => void this.idle.push(wt),
        () => this.drop(wt),
      )
      .finally(() => this.cleaning.delete(cleaned));
    this.cleaning.add(cleaned);
  }

  private async drop(wt: JobWorktree): Promise<void> {
    const i = this.made.indexOf(wt);
    if (i >= 0) this.made.splice(i, 1);
    await this.remove([wt.dir]).catch(() => undefined);
  }

  /** Removes this process's worktrees and owner file (the worker stops; no job runs any more). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.cleaning);
    await this.remove(this.made.splice(0).map((w) => w.dir));
    this.idle.length = 0;
    if (--openHere === 0) await rm(this.ownerFile, { force: true });
  }

  private async remove(dirs: string[]): Promise<void> {
    await this.clone.exclusive(async (git) => {
      for (const dir of dirs) {
        await git.raw(['worktree', 'remove', '--force', '--', dir]).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      }
      await git.raw(['worktree', 'prune', '--verbose']);
    });
  }
}

/** The worktrees and owner files in `jobsDir` whose owner process is gone (or was never recorded). */
async function staleEntries(jobsDir: string): Promise<{ worktrees: string[]; ownerFiles: string[] }> {
  const entries = await readdir(jobsDir, { withFileTypes: true });
  const live = new Map<string, boolean>();
  const isLive = async (pid: string): Promise<boolean> => {
    let known = live.get(pid);
    if (known === undefined) {
      const owner = await readFile(path.join(jobsDir, `${pid}.owner`), 'utf8').then(
        (t) => JSON.parse(t) as Owner,
        () => undefined,
      );
      // On another host (a cache folder on a shared disk) it cannot be checked from here: it stays.
      known = owner !== undefined && (owner.host !== os.hostname() || isRecordedProcessAlive(owner.pid, owner.startTime));
      live.set(pid, known);
    }
    return known;
  };
  const worktrees: string[] = [];
  const ownerFiles: string[] = [];
  for (const e of entries) {
    const owned = /^(\d+)(?:-\d+|\.owner)$/.exec(e.name);
    // Anything else in the folder (job folders of an older worker) has no owner: it is stale too.
    if (owned && (await isLive(owned[1]!))) continue;
    if (e.isDirectory()) worktrees.push(path.join(jobsDir, e.name));
    else if (e.name.endsWith('.owner')) ownerFiles.push(path.join(jobsDir, e.name));
  }
  return { worktrees, ownerFiles };
}
