/**
 * What makes creating a plan worktree safe when several processes create at once or one is killed
 * half-way: a lock per name (one create of a name at a time), a lock around "count, then add" (so
 * `worktrees.max_concurrent` holds under races) and a journal per create, rewritten before each
 * step, from which a create that died is undone. The files are described in worktreeFiles.ts.
 */
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile, { type LockOptions } from 'proper-lockfile';
import type { PlanWorktrees } from './planWorktrees.js';
import { DIR_PREFIX, samePath } from './worktreeNames.js';
import { readJson, writeJson } from './worktreeFiles.js';
import { WorktreeError, type RepairAction } from './worktreeResults.js';

/** A create under way, as its journal records it. */
export interface CreateJournal {
  version: 1;
  name: string;
  branch: string;
  path: string;
  baseSha: string;
  createdBranch: boolean;
  step: 'add-worktree' | 'context' | 'copy-files' | 'post-create' | 'validate';
  pid: number;
  host: string;
  startedAt: string;
}

const NAME_LOCK_OPTIONS = {
  realpath: false,
  // proper-lockfile's minimum; a live holder refreshes it every `update` ms.
  stale: 10_000,
  update: 2_000,
} satisfies LockOptions;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The create locks and journals of one WorktreeManager. */
export class CreateGuard {
  /** Names whose create lock this instance holds, so its own repair step does not wait on itself. */
  private readonly heldNames = new Set<string>();

  constructor(private readonly worktrees: PlanWorktrees) {}

  journalPath(name: string): string {
    return path.join(this.worktrees.stateDir, `create-${name}.json`);
  }

  async writeJournal(journal: CreateJournal): Promise<void> {
    await writeJson(this.journalPath(journal.name), journal);
  }

  /**
   * Undoes a create as far as it got: the worktree (registered or a bare directory), then the branch
   * if we created it and it has no commit of its own, then the journal.
   */
  async undoCreate(journal: CreateJournal): Promise<RepairAction[]> {
    const actions: RepairAction[] = [];
    const { name, branch } = journal;
    // The journal's path, if it is one we could have made (the configured directory may have changed
    // since); anything else in a journal is not trusted with an rm -rf.
    const wtPath = typeof journal.path === 'string' && path.isAbsolute(journal.path) && path.basename(journal.path) === DIR_PREFIX + name ? journal.path : this.worktrees.dirFor(name);
    const registered = (await this.worktrees.git.listWorktrees()).find((w) => samePath(w.path, wtPath));
    let removed = false;
    if (registered && !registered.prunable) {
      try {
        await this.worktrees.git.worktreeRemove(wtPath, { force: true });
        removed = true;
      } catch {
        // A checkout killed half-way can be too broken for git to remove (no .git file yet); the
        // directory goes below and prune forgets the entry.
      }
    }
    if (existsSync(wtPath)) {
      await fs.rm(wtPath, { recursive: true, force: true });
      removed = true;
    }
    if (removed) actions.push({ name, action: 'removed-worktree', detail: `removed the half-made worktree ${this.worktrees.shown(wtPath)}` });
    if ((await this.worktrees.git.listWorktrees()).some((w) => w.prunable)) await this.worktrees.git.worktreePrune();
    if (journal.createdBranch && (await this.worktrees.git.branchExists(branch))) {
      const holder = (await this.worktrees.git.listWorktrees()).find((w) => w.branch === branch);
      const tip = await this.worktrees.git.resolveCommit(branch);
      if (!holder && tip === journal.baseSha) {
        await this.worktrees.git.deleteBranch(branch, { force: true });
        actions.push({ name, action: 'deleted-branch', detail: `deleted ${branch} (created by the interrupted create, no commits of its own)` });
      } else {
        actions.push({ name, action: 'kept-branch', detail: `kept ${branch}: ${holder ? `checked out at ${holder.path}` : 'it has commits of its own'}` });
      }
    }
    await fs.rm(this.journalPath(name), { force: true });
    return actions;
  }

  /** Undoes the journal of `name` if its create is dead; a live one is left alone (reported when asked). */
  async repairJournal(name: string, opts: { reportBusy?: boolean } = {}): Promise<RepairAction[]> {
    const journal = await readJson<CreateJournal>(this.journalPath(name));
    if (!journal) return [];
    if (journal.name !== name || journal.version !== 1) {
      await fs.rm(this.journalPath(name), { force: true });
      return [];
    }
    // Our own caller may already hold the lock (create repairs its own name first).
    const alreadyHeld = this.heldNames.has(name);
    const release = alreadyHeld ? async () => undefined : await this.tryLockName(name);
    if (!release) {
      return opts.reportBusy ? [{ name, action: 'skipped-in-progress', detail: `a create of ${name} is running (pid ${journal.pid})` }] : [];
    }
    try {
      // Holding the lock proves the journal's create is over: no create of this name can be running.
      return await this.undoCreate(journal);
    } finally {
      await release();
    }
  }

  private nameLockPaths(name: string): { file: string; lock: string } {
    const file = path.join(this.worktrees.stateDir, `worktree-${name}`);
    return { file, lock: `${file}.lock` };
  }

  /** The per-name create lock; fails at once with a clear message while another create of that name runs. */
  async lockName(name: string): Promise<() => Promise<void>> {
    const release = await this.tryLockName(name);
    if (release) return release;
    const journal = await readJson<CreateJournal>(this.journalPath(name));
    throw new WorktreeError(
      'create-in-progress',
      `another "planctl worktree create" of plan ${name} is running${journal ? ` (pid ${journal.pid} on ${journal.host})` : ''}; wait for it to finish`,
    );
  }

  /**
   * Takes the per-name lock, or returns undefined when a live process holds it. A lock left by a
   * process that died (kill -9) on this host is taken over at once instead of after the stale time.
   */
  async tryLockName(name: string): Promise<(() => Promise<void>) | undefined> {
    if (this.heldNames.has(name)) return undefined;
    await fs.mkdir(this.worktrees.stateDir, { recursive: true });
    const { file, lock } = this.nameLockPaths(name);
    const options: LockOptions = { ...NAME_LOCK_OPTIONS, lockfilePath: lock, retries: 0, onCompromised: () => undefined };
    const attempt = async () => {
      const release = await lockfile.lock(file, options);
      this.heldNames.add(name);
      return async () => {
        this.heldNames.delete(name);
        await release().catch(() => undefined);
      };
    };
    try {
      return await attempt();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    }
    const journal = await readJson<CreateJournal>(this.journalPath(name));
    if (journal && journal.host === os.hostname() && !processAlive(journal.pid)) {
      await fs.rm(lock, { recursive: true, force: true });
      try {
        return await attempt();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      }
    }
    return undefined;
  }

  /** Serialises "count the worktrees, then add one" across processes, so max_concurrent holds under races. */
  async withCountLock<T>(fn: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.worktrees.stateDir, { recursive: true });
    const file = path.join(this.worktrees.stateDir, 'worktrees');
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(file, {
        ...NAME_LOCK_OPTIONS,
        lockfilePath: `${file}.lock`,
        // Longer than the stale time, so a lock left by a killed process is eventually taken over.
        retries: { retries: 60, factor: 1.3, minTimeout: 20, maxTimeout: 500, randomize: true },
        onCompromised: () => undefined,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw new WorktreeError('create-in-progress', 'another create is adding a worktree to this repository and did not finish in time; try again');
      }
      throw err;
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }
}
