/**
 * A worker host's one clone of the plan repository (`planctl worker`): a bare clone used as an object
 * cache, from which each job gets a detached worktree at the commit the coordinator pinned. Its git
 * operations are serialised (one at a time per host, also across processes, by a lock beside the
 * clone): two jobs fetching or adding worktrees at once would race on the clone's refs and lock files.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { createGit } from './gitService.js';
import { toGitError } from './errors.js';

const LOCK = { realpath: false, stale: 30_000, update: 5_000, retries: { retries: 600, factor: 1.2, minTimeout: 20, maxTimeout: 500 } };

export class HostClone {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(readonly dir: string) {}

  /** Opens the clone in `dir`, cloning `url` there first (bare) when it is not there yet; prunes stale worktrees. */
  static async open(url: string, dir: string): Promise<HostClone> {
    await mkdir(path.dirname(dir), { recursive: true });
    const clone = new HostClone(dir);
    await clone.locked(async () => {
      if (!existsSync(path.join(dir, 'HEAD'))) {
        // `--` keeps a URL that starts with `-` from being read as an option.
        await createGit(path.dirname(dir), 2).raw(['clone', '--bare', '--quiet', '--', url, dir]);
      }
      await createGit(dir, 2).raw(['worktree', 'prune', '--verbose']);
    });
    return clone;
  }

  private git() {
    return createGit(this.dir, 2);
  }

  /** One git operation on the clone at a time, in this process and across processes on this host. */
  private locked<T>(op: () => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      const release = await lockfile.lock(this.dir, { ...LOCK, lockfilePath: `${this.dir}.lock` });
      try {
        return await op();
      } catch (e) {
        throw toGitError(e);
      } finally {
        await release().catch(() => undefined);
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** A detached worktree at `commit`, fetched from the remote first when the clone does not have it. */
  async addWorktree(worktree: string, commit: string): Promise<void> {
    if (!/^[0-9a-f]{40}$/.test(commit)) throw new Error(`not a commit id: ${commit}`);
    await this.locked(async () => {
      const git = this.git();
      const has = await git.raw(['cat-file', '-t', commit]).then(
        (t) => t.trim() === 'commit',
        () => false,
      );
      if (!has) await git.raw(['fetch', '--quiet', 'origin', '+refs/heads/*:refs/heads/*']);
      await rm(worktree, { recursive: true, force: true });
      await git.raw(['worktree', 'add', '--detach', '--quiet', worktree, commit]);
    });
  }

  async removeWorktree(worktree: string): Promise<void> {
    await this.locked(async () => {
      await this.git()
        .raw(['worktree', 'remove', '--force', worktree])
        .catch(() => undefined);
      await rm(worktree, { recursive: true, force: true });
      await this.git().raw(['worktree', 'prune']);
    });
  }

  /** Pushes the worktree's HEAD to `ref` on the remote (replacing what a duplicate delivery pushed there). */
  async push(worktree: string, ref: string): Promise<void> {
    if (!/^refs\/plan-tasks\/[\w./-]+$/.test(ref) || ref.includes('..')) throw new Error(`refusing to push to ${ref}`);
    await this.locked(() => createGit(worktree, 2).raw(['push', '--quiet', '--force', 'origin', `HEAD:${ref}`]));
  }
}
