/**
 * A worker host's one clone of the plan repository (`planctl worker`): a bare clone used as the object
 * store of the job worktrees (jobWorktrees.ts). What changes the clone's own refs or worktree list
 * (clone, fetch, worktree add/remove/prune) runs one at a time per host, also across processes, under a
 * lock beside the clone: two at once would race on the clone's refs and lock files. What happens inside
 * one job worktree (reset, commit, push to a task ref) needs no lock: each worktree has its own index
 * and HEAD, objects are written atomically, and a push to an explicit ref moves no ref of the clone.
 *
 * Every git command here prints something: simple-git waits 50 ms more after a command that is silent.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import type { SimpleGit } from 'simple-git';
import { unpackCommit, type CommitChain } from './commitPacks.js';
import { createGit } from './gitService.js';
import { toGitError } from './errors.js';
import { assertCommitId, assertSafeName, assertTaskRef, isCommitId } from './slug.js';

// A live holder touches the lock every 2 s; one untouched for 10 s was left by a worker that died
// holding it (kill -9 during a fetch), and the next worker takes it over instead of waiting for ever.
const LOCK = { realpath: false, stale: 10_000, update: 2_000, retries: { retries: 600, factor: 1.2, minTimeout: 20, maxTimeout: 500 } };

export class HostClone {
  private chain: Promise<unknown> = Promise.resolve();
  /** Commits known to be in the clone (objects are never removed from it while a worker runs). */
  private readonly present = new Set<string>();
  /** Links of commit chains being unpacked: jobs that need the same one wait for the same unpack. */
  private readonly unpacking = new Map<string, Promise<void>>();

  private constructor(readonly dir: string) {}

  /**
   * Opens the clone in `dir`, cloning `url` there first (bare) when it is not there yet. Ref lock files
   * found while holding the clone's lock were left by a git process that died (no live one of ours can
   * be writing refs then): they are removed, or every later fetch would fail on them.
   */
  static async open(url: string, dir: string): Promise<{ clone: HostClone; removedLocks: string[] }> {
    if (!existsSync(path.join(dir, 'HEAD'))) await mkdir(dir, { recursive: true });
    const clone = new HostClone(dir);
    const removedLocks = await clone.exclusive(async (git) => {
      if (!existsSync(path.join(dir, 'HEAD'))) {
        // What a clone that was stopped halfway left is started again (git clones into an empty folder only).
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir);
        // `--` keeps a URL that starts with `-` from being read as an option.
        await git.raw(['clone', '--bare', '--quiet', '--', url, dir]);
      }
      // Not after every commit and fetch of every job (two more git processes each time): maintain() does it.
      await git.raw(['config', 'maintenance.auto', 'false']);
      return removeStaleRefLocks(dir);
    });
    return { clone, removedLocks };
  }

  /**
   * Runs `op` with the clone's git while no other git operation on the clone's refs or worktree list
   * runs, in this process or another one on this host.
   */
  exclusive<T>(op: (git: SimpleGit) => Promise<T>): Promise<T> {
    const next = this.chain.then(async () => {
      const release = await lockfile.lock(this.dir, { ...LOCK, lockfilePath: `${this.dir}.lock` });
      try {
        return await op(createGit(this.dir, 2));
      } catch (e) {
        throw toGitError(e);
      } finally {
        await release().catch(() => undefined);
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  async hasCommit(commit: string): Promise<boolean> {
    if (this.present.has(commit)) return true;
    const has = await createGit(this.dir, 2)
      .raw(['cat-file', '-t', commit])
      .then(
        (t) => t.trim() === 'commit',
        () => false,
      );
    if (has) this.present.add(commit);
    return has;
  }

  /**
   * Makes sure the clone has `commit`: most jobs start from a commit an earlier job of this host
   * already has. Else from `chain` when the job brought one (objects only, no lock), else by fetching
   * `branch` (or every branch) from the remote. A chain that cannot be used (this clone lacks objects
   * its first pack refers to) falls back to the fetch, which waits a little for the coordinator's push
   * of the commit, under way in the background when it sent the chain.
   */
  async ensureCommit(commit: string, branch?: string, chain?: CommitChain): Promise<void> {
    assertCommitId(commit);
    if (branch !== undefined) assertSafeName(branch, 'branch');
    if (await this.hasCommit(commit)) return;
    if (chain && (await this.fromChain(commit, branch, chain).catch(() => false))) return;
    for (let wait = 0; ; wait++) {
      await this.fetch(commit, branch);
      if (await this.hasCommit(commit)) return;
      if (!chain || wait >= 20) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`commit ${commit.slice(0, 12)} is not on the remote's ${branch ?? 'branches'}`);
  }

  /** Fetches `branch` (or every branch) under the clone's lock, unless another job brought `commit` meanwhile. */
  private async fetch(commit: string, branch: string | undefined): Promise<void> {
    await this.exclusive(async (git) => {
      if (await this.hasCommit(commit)) return;
      const refspec = branch === undefined ? '+refs/heads/*:refs/heads/*' : `+refs/heads/${branch}:refs/heads/${branch}`;
      await git.raw(['fetch', '--verbose', 'origin', refspec]);
    });
  }

  /** Whether the chain brought `commit`: its start fetched if missing, then each missing link unpacked in order. */
  private async fromChain(commit: string, branch: string | undefined, chain: CommitChain): Promise<boolean> {
    // Values from the queue: commit ids only, never something git would read as an option.
    if (![chain.from, ...chain.links.map((l) => l.commit)].every(isCommitId)) return false;
    if (!(await this.hasCommit(chain.from))) {
      await this.fetch(chain.from, branch);
      if (!(await this.hasCommit(chain.from))) return false;
    }
    for (const link of chain.links) {
      if (await this.hasCommit(link.commit)) continue;
      let unpacked = this.unpacking.get(link.commit);
      if (!unpacked) {
        unpacked = unpackCommit(this.dir, Buffer.from(link.pack, 'base64'), link.commit).finally(() => this.unpacking.delete(link.commit));
        this.unpacking.set(link.commit, unpacked);
      }
      await unpacked;
    }
    return this.hasCommit(commit);
  }

  /** What git's automatic maintenance would have done after the jobs' commits and fetches (packs loose objects when there are many). */
  async maintain(): Promise<void> {
    await this.exclusive((git) => git.raw(['gc', '--auto']));
  }

  /** Pushes the worktree's HEAD to `ref` on the remote (replacing what a duplicate delivery pushed there). */
  async push(worktree: string, ref: string): Promise<void> {
    assertTaskRef(ref);
    // --porcelain: it prints on stdout (see the header); no lock: a push to an explicit ref updates no ref here.
    await createGit(worktree, 2)
      .raw(['push', '--porcelain', '--force', 'origin', `HEAD:${ref}`])
      .catch((e: unknown) => {
        throw toGitError(e);
      });
  }
}

/** `*.lock` files under the clone's refs and its top-level lock files; removed, and their paths returned. */
async function removeStaleRefLocks(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name.endsWith('.lock')) found.push(p);
    }
  };
  await walk(path.join(dir, 'refs'));
  for (const name of ['packed-refs.lock', 'shallow.lock', 'HEAD.lock', 'config.lock']) if (existsSync(path.join(dir, name))) found.push(path.join(dir, name));
  for (const f of found) await rm(f, { force: true });
  return found.map((f) => path.relative(dir, f));
}
