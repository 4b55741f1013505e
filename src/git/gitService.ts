/**
 * The one place that talks to git. Everything goes through simple-git with argv arrays (never a
 * shell), and every failure comes out as a GitError with a code (see errors.ts).
 *
 * Mutating operations go through `run()`, which serialises them per repository and retries when
 * git finds a lock file. Two reasons, both learnt the hard way by VS Code's git extension:
 * - worktrees of one repository share refs and objects, so two of our own operations racing
 *   (e.g. two plans creating branches) make git fail on `*.lock` files instead of waiting;
 * - other tools (an editor's git integration, a file watcher running `git status`) briefly hold
 *   `index.lock`, and a short retry is what a user would do by hand anyway.
 *
 * No `vscode` import here: the CLI and the extension share this service.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { GitError as SimpleGitError, simpleGit, type SimpleGit, type SimpleGitOptions } from 'simple-git';
import { GitError, GitProcessError, isGitError, toGitError } from './errors.js';
import { assertSafeName, unsafeNameReason } from './slug.js';

export { GitError, isGitError, type GitErrorCode } from './errors.js';
export { assertSafeName, safeRefName, unsafeNameReason } from './slug.js';

export interface WorktreeInfo {
  /** Absolute path as git reports it (symlinks resolved by git, so compare with realpath). */
  path: string;
  /** Commit sha of HEAD; undefined for a bare entry, all zeros on an unborn branch. */
  head: string | undefined;
  /** Short branch name ("feat/x"); undefined when HEAD is detached or the entry is bare. */
  branch: string | undefined;
  detached: boolean;
  bare: boolean;
  locked: boolean;
  lockedReason?: string;
  /** The worktree directory is gone; `git worktree prune` would remove the entry. */
  prunable: boolean;
  prunableReason?: string;
  /** The first entry, i.e. the repository's own working tree (or the bare repository). */
  isMain: boolean;
}

export interface GitServiceOptions {
  /**
   * Waits before each retry of an operation that failed on a lock file. Its length is the number
   * of retries. The default (about 1.2 s in total) outlasts an editor's background `git status`
   * but gives up quickly on a lock left behind by a crashed git.
   */
  lockRetryDelaysMs?: readonly number[];
  /** Passed to simple-git; limits git processes spawned by this instance at once. */
  maxConcurrentProcesses?: number;
}

export interface IsDirtyOptions {
  /** Treat untracked files as clean (they do not block a checkout or a merge). */
  ignoreUntracked?: boolean;
}

const DEFAULT_LOCK_RETRY_DELAYS_MS: readonly number[] = [50, 100, 200, 400, 400];
const DEFAULT_MAX_CONCURRENT_PROCESSES = 6;

/**
 * Variables that make git operate on a different repository than the directory we point it at.
 * They are set while git hooks run, so `planctl` called from a hook would otherwise act on the
 * hook's repository instead of the one it was asked about.
 */
const REPO_REDIRECTING_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
];

/**
 * simple-git refuses to run at all when an explicitly passed environment contains these (its guard
 * against hijacking git through the environment). We only pass an environment in the hook case
 * above, and none of these are needed for non-interactive local operations.
 */
const SIMPLE_GIT_REFUSED_ENV = new Set([
  'editor',
  'pager',
  'prefix',
  'ssh_askpass',
  'git_askpass',
  'git_config',
  'git_config_count',
  'git_config_global',
  'git_config_system',
  'git_editor',
  'git_exec_path',
  'git_external_diff',
  'git_pager',
  'git_proxy_command',
  'git_sequence_editor',
  'git_ssh',
  'git_ssh_command',
  'git_template_dir',
]);

function sanitizedEnv(): Record<string, string> | undefined {
  if (!REPO_REDIRECTING_ENV.some((k) => process.env[k] !== undefined)) return undefined;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || REPO_REDIRECTING_ENV.includes(key)) continue;
    const lower = key.toLowerCase();
    if (SIMPLE_GIT_REFUSED_ENV.has(lower) || lower.startsWith('git_config_')) continue;
    env[key] = value;
  }
  return env;
}

/**
 * simple-git only treats a run as failed when git exits non-zero AND wrote to stderr; `git commit`
 * with nothing to commit exits 1 with stdout only and would pass as success. Every non-zero exit
 * is a failure here, and the exit code is kept (branchExists needs it).
 */
const strictErrors: SimpleGitOptions['errors'] = (error, result) => {
  if (result.exitCode > 0) {
    const output = Buffer.concat([...result.stdErr, ...result.stdOut]).toString('utf8');
    return new GitProcessError(output, result.exitCode);
  }
  return error;
};

function createGit(baseDir: string, maxConcurrentProcesses: number): SimpleGit {
  const git = simpleGit({ baseDir, binary: 'git', maxConcurrentProcesses, trimmed: false, errors: strictErrors });
  const env = sanitizedEnv();
  return env ? git.env(env) : git;
}

/** Only errors coming from git are normalised; a caller's own exception passes through unchanged. */
function normaliseGitFailure(err: unknown): unknown {
  if (err instanceof GitError) return err;
  // simple-git wraps everything that goes wrong running git (including a missing git binary) in
  // its own GitError class.
  return err instanceof SimpleGitError ? toGitError(err) : err;
}

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

// ---- parsing -------------------------------------------------------------------------------

/** Parses `git worktree list --porcelain` (blank-line separated records of "key value" lines). */
export function parseWorktreeList(output: string): WorktreeInfo[] {
  const worktrees: WorktreeInfo[] = [];
  let current: WorktreeInfo | undefined;
  for (const rawLine of output.split('\n')) {
    const line = rawLine.replace(/\r$/, '');
    if (line === '') {
      current = undefined;
      continue;
    }
    const space = line.indexOf(' ');
    const key = space === -1 ? line : line.slice(0, space);
    const value = space === -1 ? undefined : line.slice(space + 1);
    if (key === 'worktree') {
      current = {
        path: path.resolve(value ?? ''),
        head: undefined,
        branch: undefined,
        detached: false,
        bare: false,
        locked: false,
        prunable: false,
        isMain: worktrees.length === 0,
      };
      worktrees.push(current);
      continue;
    }
    if (!current) continue;
    switch (key) {
      case 'HEAD':
        current.head = value;
        break;
      case 'branch':
        current.branch = value?.replace(/^refs\/heads\//, '');
        break;
      case 'detached':
        current.detached = true;
        break;
      case 'bare':
        current.bare = true;
        break;
      case 'locked':
        current.locked = true;
        if (value) current.lockedReason = value;
        break;
      case 'prunable':
        current.prunable = true;
        if (value) current.prunableReason = value;
        break;
      // Unknown keys are ignored: newer git versions add fields.
    }
  }
  return worktrees;
}

// ---- the service ---------------------------------------------------------------------------

export class GitService {
  private readonly lockRetryDelaysMs: readonly number[];

  private constructor(
    /** Absolute path of the working tree's top level directory. */
    readonly topLevel: string,
    private readonly commonGitDir: string,
    private readonly queueKey: string,
    private readonly git: SimpleGit,
    options: GitServiceOptions,
  ) {
    this.lockRetryDelaysMs = options.lockRetryDelaysMs ?? DEFAULT_LOCK_RETRY_DELAYS_MS;
  }

  /**
   * Opens the repository containing `dir` (any directory inside a working tree, including a linked
   * worktree). Throws GitError('not-a-repository') when there is none.
   */
  static async open(dir: string, options: GitServiceOptions = {}): Promise<GitService> {
    const absDir = path.resolve(dir);
    const maxProcesses = options.maxConcurrentProcesses ?? DEFAULT_MAX_CONCURRENT_PROCESSES;
    let probe: SimpleGit;
    try {
      probe = createGit(absDir, maxProcesses);
    } catch (err) {
      throw new GitError('not-a-repository', `${absDir} does not exist or is not a directory`, { cause: err });
    }

    let topLevel: string;
    try {
      topLevel = (await probe.raw(['rev-parse', '--show-toplevel'])).trim();
    } catch (err) {
      const gitErr = toGitError(err);
      if (gitErr.code !== 'not-a-repository') throw gitErr;
      const inGitDir = /must be run in a work tree/i.test(gitErr.gitOutput ?? '');
      const message = inGitDir
        ? `${absDir} is a bare repository or a .git directory, not a working tree`
        : `${absDir} is not inside a git repository`;
      throw new GitError('not-a-repository', message, { gitOutput: gitErr.gitOutput ?? '', cause: gitErr });
    }
    if (!topLevel) throw new GitError('not-a-repository', `${absDir} is not inside a git working tree`);
    topLevel = path.resolve(topLevel);

    const git = createGit(topLevel, maxProcesses);
    let commonDir: string;
    try {
      // Relative to the directory git runs in (the top level), absolute for linked worktrees.
      commonDir = path.resolve(topLevel, (await git.raw(['rev-parse', '--git-common-dir'])).trim());
    } catch (err) {
      throw toGitError(err);
    }
    // Two services for the same repository must share a queue even when opened through different
    // worktrees or through a symlinked path.
    let queueKey = await realpath(commonDir).catch(() => commonDir);
    if (process.platform === 'win32' || process.platform === 'darwin') queueKey = queueKey.toLowerCase();
    return new GitService(topLevel, commonDir, queueKey, git, options);
  }

  /** Absolute path of the git directory shared by all worktrees (`.git` of the main worktree). */
  async commonDir(): Promise<string> {
    return this.commonGitDir;
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

  async listWorktrees(): Promise<WorktreeInfo[]> {
    return parseWorktreeList(await this.read(['worktree', 'list', '--porcelain']));
  }

  /** Short name of the checked-out branch of this working tree; undefined when HEAD is detached. */
  async currentBranch(): Promise<string | undefined> {
    // Unlike `rev-parse --abbrev-ref HEAD`, this also works on an unborn branch (no commits yet).
    const name = (await this.read(['branch', '--show-current'])).trim();
    return name || undefined;
  }

  /** True when `git status --porcelain` lists anything. */
  async isDirty(options: IsDirtyOptions = {}): Promise<boolean> {
    // --no-optional-locks: a plain `git status` refreshes the index and so takes index.lock, which
    // would make our own (or the user's) concurrent commits fail on the lock.
    const args = ['--no-optional-locks', 'status', '--porcelain'];
    if (options.ignoreUntracked) args.push('--untracked-files=no');
    return (await this.read(args)).trim().length > 0;
  }

  /** Whether local branch `name` exists. Refuses unsafe names rather than passing them to git. */
  async branchExists(name: string): Promise<boolean> {
    assertSafeName(name);
    try {
      // Fully qualified, so a branch is never confused with a tag or a sha of the same name.
      await this.git.raw(['rev-parse', '--verify', '--quiet', `refs/heads/${name}^{commit}`]);
      return true;
    } catch (err) {
      const gitErr = toGitError(err);
      // --quiet: a missing ref is exit code 1 with no output; anything else is a real failure.
      if (gitErr.exitCode === 1) return false;
      throw gitErr;
    }
  }

  /**
   * The branch plans are based on and merged back into: the branch checked out in the main
   * worktree, or, when that is detached or bare, the first existing of init.defaultBranch, main,
   * master (and if none exists yet, init.defaultBranch or "main").
   */
  async mainBranch(): Promise<string> {
    const main = (await this.listWorktrees())[0];
    if (main?.branch) return main.branch;
    const configured = await this.configValue('init.defaultBranch');
    for (const candidate of [configured, 'main', 'master']) {
      if (candidate && unsafeNameReason(candidate) === undefined && (await this.branchExists(candidate))) {
        return candidate;
      }
    }
    return configured && unsafeNameReason(configured) === undefined ? configured : 'main';
  }

  /** A git config value as git resolves it for this repository; undefined when unset. */
  async configValue(key: string): Promise<string | undefined> {
    if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(key)) {
      throw new GitError('invalid-name', `invalid git config key ${JSON.stringify(key)}`);
    }
    try {
      const value = (await this.git.raw(['config', '--get', key])).trim();
      return value || undefined;
    } catch (err) {
      const gitErr = toGitError(err);
      if (gitErr.exitCode === 1) return undefined;
      throw gitErr;
    }
  }

  /**
   * Stages everything (`add -A`) and commits it in this working tree. Returns the new commit's sha,
   * or undefined when there was nothing to commit.
   */
  async commitAll(message: string): Promise<string | undefined> {
    if (typeof message !== 'string' || message.trim().length === 0) {
      throw new GitError('invalid-name', 'the commit message is empty');
    }
    return this.run(async (git) => {
      await git.raw(['add', '-A']);
      const staged = await git.raw(['--no-optional-locks', 'status', '--porcelain', '--untracked-files=no']);
      if (staged.trim().length === 0) return undefined;
      // "-m" takes the next argument as its value even when it starts with "-", so a message like
      // "--amend" stays a message.
      await git.raw(['commit', '--quiet', '-m', message]);
      return (await git.raw(['rev-parse', 'HEAD'])).trim();
    });
  }
}
