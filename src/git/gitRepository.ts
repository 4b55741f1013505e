/**
 * How commands reach one repository: reads go straight to git, and mutating operations go through
 * `run()`, which serialises them per repository and retries when git finds a lock file. Two reasons,
 * both learnt the hard way by VS Code's git extension:
 * - worktrees of one repository share refs and objects, so two of our own operations racing
 *   (e.g. two plans creating branches) make git fail on `*.lock` files instead of waiting;
 * - other tools (an editor's git integration, a file watcher running `git status`) briefly hold
 *   `index.lock`, and a short retry is what a user would do by hand anyway.
 *
 * The base layer of GitService: GitQueries (gitQueries.ts) and GitService (gitService.ts) build on it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { isGitError, toGitError } from './errors.js';
import { normaliseGitFailure } from './gitProcess.js';

export interface GitServiceOptions {
  /**
   * Waits before each retry of an operation that failed on a lock file. Its length is the number
   * of retries. The default (about 1.2 s in total) outlasts an editor's background `git status`
   * but gives up quickly on a lock left behind by a crashed git.
   */
  lockRetryDelaysMs?: readonly number[];
  /** Passed to simple-git; limits git processes spawned by this instance at once. */
  maxConcurrentProcesses?: number;
  /**
   * Queue mutating operations per working tree instead of per repository: for a worktree on a
   * detached HEAD whose commits move no shared ref (a worker's job worktree), so that jobs side by
   * side do not commit one after another.
   */
  queuePerWorktree?: boolean;
}

const DEFAULT_LOCK_RETRY_DELAYS_MS: readonly number[] = [50, 100, 200, 400, 400];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- per-repository operation queue ---------------------------------------------------------

/** Tail of each repository's queue, keyed by the real path of its common git dir. */
const queueTails = new Map<string, Promise<void>>();
/** Queues the current async call chain is already inside, so a nested run() does not deadlock. */
const heldQueues = new AsyncLocalStorage<ReadonlySet<string>>();

function enqueue<T>(key: string, task: () => Promise<T>): Promise<T> {
  const held = heldQueues.getStore();
  const previous = queueTails.get(key) ?? Promise.resolve();
  const result = previous.then(() => heldQueues.run(new Set([...(held ?? []), key]), task));
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  queueTails.set(key, tail);
  // Keeps the map from growing with every repository ever opened in a long-lived extension host.
  void tail.then(() => {
    if (queueTails.get(key) === tail) queueTails.delete(key);
  });
  return result;
}

/** One working tree of a repository, and the two ways commands reach it (read, run). */
export class GitRepository {
  private readonly lockRetryDelaysMs: readonly number[];

  protected constructor(
    /** Absolute path of the working tree's top level directory. */
    readonly topLevel: string,
    private readonly commonGitDir: string,
    private readonly queueKey: string,
    protected readonly git: SimpleGit,
    options: GitServiceOptions,
  ) {
    this.lockRetryDelaysMs = options.lockRetryDelaysMs ?? DEFAULT_LOCK_RETRY_DELAYS_MS;
  }

  /** Absolute path of the git directory shared by all worktrees (`.git` of the main worktree). */
  async commonDir(): Promise<string> {
    return this.commonGitDir;
  }

  /** Whether this working tree is the repository's main checkout (not a linked worktree). */
  async isMainWorktree(): Promise<boolean> {
    const gitDir = path.resolve(this.topLevel, (await this.read(['rev-parse', '--git-dir'])).trim());
    const [a, b] = await Promise.all([realpath(gitDir).catch(() => gitDir), realpath(this.commonGitDir).catch(() => this.commonGitDir)]);
    return a === b;
  }

  /**
   * Runs a mutating operation: serialised with every other run() on the same repository in this
   * process, and retried from the start while git reports a lock file. `op` must therefore be safe
   * to repeat (git commands that failed on a lock changed nothing). Nested run() calls from inside
   * `op` execute immediately instead of deadlocking on the queue.
   */
  run<T>(op: (git: SimpleGit) => Promise<T>): Promise<T> {
    const reentrant = heldQueues.getStore()?.has(this.queueKey) ?? false;
    if (reentrant) return this.attempt(op);
    return enqueue(this.queueKey, () => this.withLockRetry(op));
  }

  private async attempt<T>(op: (git: SimpleGit) => Promise<T>): Promise<T> {
    try {
      return await op(this.git);
    } catch (err) {
      throw normaliseGitFailure(err);
    }
  }

  private async withLockRetry<T>(op: (git: SimpleGit) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt(op);
      } catch (err) {
        const delay = this.lockRetryDelaysMs[attempt];
        if (!isGitError(err, 'index-locked') || delay === undefined) throw err;
        await sleep(delay);
      }
    }
  }

  /**
   * Read-only git call (no queue); errors normalised to GitError. `args` is an argv array: callers
   * put any user-supplied value after `--` or validate it with assertSafeName first.
   */
  async read(args: string[]): Promise<string> {
    try {
      return await this.git.raw(args);
    } catch (err) {
      throw toGitError(err);
    }
  }
}
