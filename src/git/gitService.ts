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
import { mkdtemp, realpath, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
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

/** How a merge, squash or rebase ended: a commit, or conflicts left in the working tree for the user. */
export interface MergeOutcome {
  /** HEAD after the operation; undefined when it stopped on conflicts or had nothing to commit. */
  commit: string | undefined;
  /** Files with conflict markers; present only when the operation stopped on conflicts. */
  conflicts?: string[];
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
  /**
   * Queue mutating operations per working tree instead of per repository: for a worktree on a
   * detached HEAD whose commits move no shared ref (a worker's job worktree), so that jobs side by
   * side do not commit one after another.
   */
  queuePerWorktree?: boolean;
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

/** process.env without the variables that point git at another repository (set inside git hooks); undefined when none is set. */
export function sanitizedEnv(): Record<string, string> | undefined {
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

export function createGit(baseDir: string, maxConcurrentProcesses: number): SimpleGit {
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

/** `git commit` and `cherry-pick` print the new commit's full id (`[branch <id>] subject`): no rev-parse after them. */
export const FULL_IDS = ['-c', 'core.abbrev=no'];

/** The commit id in the `[branch <id>] subject` line that `git commit` / `cherry-pick` printed with FULL_IDS, else HEAD's. */
export async function committed(git: SimpleGit, output: string): Promise<string> {
  // Branch names hold no space: the first " <id>]" is the id, whatever the subject says.
  const printed = /^\[[^\n]*? ([0-9a-f]{40}|[0-9a-f]{64})\]/m.exec(output)?.[1];
  return printed ?? (await git.raw(['rev-parse', 'HEAD'])).trim();
}

/** A full or abbreviated commit sha. */
const SHA = /^[0-9a-f]{7,64}$/;

/** Refs we pass on are either shas or names that passed assertSafeName: never something git reads as an option. */
function assertRefOrSha(ref: string): void {
  if (typeof ref === 'string' && SHA.test(ref)) return;
  assertSafeName(ref, 'ref');
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

/** Who commits when git has no identity here (a fresh machine, an empty HOME); callers say so in their output. */
export const FALLBACK_IDENTITY = { name: 'Plan Orchestrator', email: 'plan-orchestrator@localhost' };

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
    const queued = options.queuePerWorktree ? topLevel : commonDir;
    let queueKey = await realpath(queued).catch(() => queued);
    if (process.platform === 'win32' || process.platform === 'darwin') queueKey = queueKey.toLowerCase();
    return new GitService(topLevel, commonDir, queueKey, git, options);
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
    // --branch makes git always print a header line: simple-git waits an extra 50 ms on silent processes.
    const args = ['--no-optional-locks', 'status', '--porcelain', '--branch'];
    if (options.ignoreUntracked) args.push('--untracked-files=no');
    return (await this.read(args)).split('\n').some((line) => line.trim() !== '' && !line.startsWith('## '));
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

  // ---- worktrees, branches, merges (used by WorktreeManager) ----------------------------------

  /** The commit sha `ref` names, or undefined when it names none. `ref` is a validated name or a sha. */
  async resolveCommit(ref: string): Promise<string | undefined> {
    assertRefOrSha(ref);
    try {
      return (await this.git.raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim() || undefined;
    } catch (err) {
      const gitErr = toGitError(err);
      if (gitErr.exitCode === 1) return undefined;
      throw gitErr;
    }
  }

  /** Whether `ancestor` is reachable from `descendant` (so merging it into `descendant` would change nothing). */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    assertRefOrSha(ancestor);
    assertRefOrSha(descendant);
    // Same answer as `merge-base --is-ancestor`, but git prints a count: simple-git waits an extra
    // 50 ms for every run that prints nothing, and completing a plan asks this several times.
    const out = await this.read(['rev-list', '--count', '--max-count=1', ancestor, `^${descendant}`, '--']);
    return out.trim() === '0';
  }

  /** Commits `ref` has that `base` lacks (ahead), and the other way round (behind). */
  async aheadBehind(base: string, ref: string): Promise<{ ahead: number; behind: number }> {
    assertRefOrSha(base);
    assertRefOrSha(ref);
    const out = (await this.read(['rev-list', '--left-right', '--count', `${base}...${ref}`])).trim();
    const [behind, ahead] = out.split(/\s+/).map(Number);
    return { ahead: ahead ?? 0, behind: behind ?? 0 };
  }

  /**
   * aheadBehind for many pairs with two git runs instead of one per pair (git 2.39 has no
   * `%(ahead-behind)` for for-each-ref): the commits since the common ancestor of every ref involved
   * are read once, and each pair is counted on that graph here. Everything older than that ancestor
   * is reachable from every ref, so it is never ahead or behind. Falls back to one run per pair when
   * the refs share no history.
   */
  async aheadBehindMany(pairs: ReadonlyArray<readonly [base: string, ref: string]>): Promise<Array<{ ahead: number; behind: number }>> {
    if (pairs.length <= 1) return Promise.all(pairs.map(([base, ref]) => this.aheadBehind(base, ref)));
    const refs = [...new Set(pairs.flat())];
    refs.forEach(assertRefOrSha);
    let common: string;
    try {
      common = (await this.read(['merge-base', '--octopus', ...refs])).trim();
    } catch {
      common = '';
    }
    if (!SHA.test(common)) return Promise.all(pairs.map(([base, ref]) => this.aheadBehind(base, ref)));
    const [tips, graphText] = await Promise.all([
      // Not --verify (it takes one argument only); every ref passed assertRefOrSha above.
      this.read(['rev-parse', ...refs.map((r) => `${r}^{commit}`)]),
      this.read(['rev-list', '--parents', ...refs, `^${common}`]),
    ]);
    const tipOf = new Map(refs.map((r, i) => [r, tips.split('\n')[i]!.trim()]));
    const parents = new Map<string, string[]>();
    for (const line of graphText.split('\n')) {
      const [sha, ...ps] = line.trim().split(' ');
      if (sha) parents.set(sha, ps);
    }
    // Reachable commits inside the graph, per ref; commits outside it are shared by all refs.
    const reach = new Map<string, Set<string>>();
    const reachable = (ref: string): Set<string> => {
      const cached = reach.get(ref);
      if (cached) return cached;
      const seen = new Set<string>();
      const stack = [tipOf.get(ref)!];
      while (stack.length > 0) {
        const sha = stack.pop()!;
        if (seen.has(sha) || !parents.has(sha)) continue;
        seen.add(sha);
        stack.push(...parents.get(sha)!);
      }
      reach.set(ref, seen);
      return seen;
    };
    const count = (a: Set<string>, b: Set<string>) => {
      let n = 0;
      for (const sha of a) if (!b.has(sha)) n++;
      return n;
    };
    return pairs.map(([base, ref]) => {
      const r = reachable(ref);
      const b = reachable(base);
      return { ahead: count(r, b), behind: count(b, r) };
    });
  }

  /** Committer time of `ref`'s tip; undefined when `ref` names no commit. */
  async lastCommitTime(ref: string): Promise<Date | undefined> {
    assertRefOrSha(ref);
    try {
      const out = (await this.git.raw(['log', '-1', '--format=%ct', '--end-of-options', ref])).trim();
      return out ? new Date(Number(out) * 1000) : undefined;
    } catch (err) {
      const gitErr = toGitError(err);
      if (gitErr.code === 'unknown-ref') return undefined;
      throw gitErr;
    }
  }

  /**
   * Tip sha and committer time of every local branch under `prefix` (e.g. "plan/"), in one git call:
   * listing many worktrees must not cost a process per branch for this.
   */
  async branchTips(prefix = ''): Promise<Map<string, { sha: string; time: Date }>> {
    if (prefix) assertSafeName(prefix.replace(/\/$/, ''));
    const out = await this.read(['for-each-ref', '--format=%(refname:short)%00%(objectname)%00%(committerdate:unix)', `refs/heads/${prefix}`]);
    const tips = new Map<string, { sha: string; time: Date }>();
    for (const line of out.split('\n')) {
      const [name, sha, time] = line.split('\0');
      if (name && sha) tips.set(name, { sha, time: new Date(Number(time) * 1000) });
    }
    return tips;
  }

  /**
   * `git status --porcelain` entries of this working tree (or of `worktreePath`), untracked files listed one by one (not
   * collapsed into their directory) so a caller can tell its own files from the user's.
   */
  async statusEntries(worktreePath?: string): Promise<Array<{ code: string; path: string }>> {
    // Another worktree of the same repository is read with -C rather than a second service: listing
    // many worktrees would otherwise pay two extra git runs each just to open them.
    const where = worktreePath === undefined ? [] : ['-C', path.resolve(worktreePath)];
    // --branch only to make git print something: simple-git waits an extra 50 ms for any run that
    // prints nothing (its completion detection), which made listing clean worktrees 3× slower.
    const out = await this.read([...where, '--no-optional-locks', 'status', '--porcelain', '--branch', '-z', '--untracked-files=all']);
    const entries: Array<{ code: string; path: string }> = [];
    const parts = out.split('\0');
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part.length < 4 || part.startsWith('## ')) continue;
      const code = part.slice(0, 2);
      entries.push({ code, path: part.slice(3) });
      // Renames and copies are followed by their source path, which is not an entry of its own.
      if (code[0] === 'R' || code[0] === 'C') i++;
    }
    return entries;
  }

  /** Files left with conflict markers (unmerged index entries). */
  async conflictedFiles(): Promise<string[]> {
    const out = await this.read(['diff', '--name-only', '-z', '--diff-filter=U']);
    return [...new Set(out.split('\0').filter((f) => f.length > 0))];
  }

  /** A merge, rebase, cherry-pick or revert left unfinished in this working tree, if any. */
  async operationInProgress(): Promise<'merge' | 'rebase' | 'cherry-pick' | 'revert' | undefined> {
    const gitDir = path.resolve(this.topLevel, (await this.read(['rev-parse', '--git-dir'])).trim());
    const exists = async (name: string): Promise<boolean> => {
      try {
        await stat(path.join(gitDir, name));
        return true;
      } catch {
        return false;
      }
    };
    if ((await exists('rebase-merge')) || (await exists('rebase-apply'))) return 'rebase';
    if (await exists('MERGE_HEAD')) return 'merge';
    if (await exists('CHERRY_PICK_HEAD')) return 'cherry-pick';
    if (await exists('REVERT_HEAD')) return 'revert';
    return undefined;
  }

  /**
   * Whether every change of `branch` is already in `into` although `branch` is not an ancestor: what a
   * squash merge (or a rebase-and-merge) leaves behind. The branch's whole diff is folded into one
   * temporary commit and `git cherry` looks for a commit with the same patch on `into`.
   */
  async isSquashMerged(branch: string, into: string): Promise<boolean> {
    assertRefOrSha(branch);
    assertRefOrSha(into);
    const base = (await this.read(['merge-base', into, branch])).trim();
    const tree = (await this.read(['rev-parse', '--verify', '--end-of-options', `${branch}^{tree}`])).trim();
    const baseTree = (await this.read(['rev-parse', '--verify', '--end-of-options', `${base}^{tree}`])).trim();
    if (tree === baseTree) return false;
    // commit-tree only writes an unreferenced object (garbage collected later); no ref or index moves.
    const folded = (await this.run((git) => git.raw(['commit-tree', tree, '-p', base, '-m', 'plan-orchestrator squash probe']))).trim();
    const cherry = await this.read(['cherry', into, folded]);
    return /^-/m.test(cherry);
  }

  /**
   * `git worktree add`: a new branch `newBranch` starting at `commitish`, or (without newBranch) the
   * existing branch `commitish` checked out. The path goes after `--` so it is never read as an option.
   */
  async worktreeAdd(worktreePath: string, opts: { commitish: string; newBranch?: string }): Promise<void> {
    assertRefOrSha(opts.commitish);
    const args = ['worktree', 'add', '--quiet'];
    if (opts.newBranch !== undefined) {
      assertSafeName(opts.newBranch);
      args.push('-b', opts.newBranch);
    }
    args.push('--', path.resolve(worktreePath), opts.commitish);
    await this.run((git) => git.raw(args));
  }

  /** `git worktree remove [--force]`; `force` discards uncommitted changes in it. */
  async worktreeRemove(worktreePath: string, opts: { force?: boolean } = {}): Promise<void> {
    const args = ['worktree', 'remove'];
    if (opts.force) args.push('--force');
    args.push('--', path.resolve(worktreePath));
    await this.run((git) => git.raw(args));
  }

  /** Forgets worktrees whose directory is gone. */
  async worktreePrune(): Promise<void> {
    await this.run((git) => git.raw(['worktree', 'prune']));
  }

  /** Deletes a local branch; without `force` git refuses when it is not merged into HEAD or its upstream. */
  async deleteBranch(name: string, opts: { force?: boolean } = {}): Promise<void> {
    assertSafeName(name);
    await this.run((git) => git.raw(['branch', opts.force ? '-D' : '-d', '--', name]));
  }

  /**
   * Merges `branch` into the branch checked out here. A merge that stops on conflicts is left as it is
   * (the user finishes it) and reported as `{ conflicts }`; any other failure throws.
   */
  async mergeBranch(branch: string, opts: { mode: 'no-ff' | 'ff-only'; message?: string }): Promise<MergeOutcome> {
    assertSafeName(branch);
    const args = ['merge', '--no-edit', opts.mode === 'no-ff' ? '--no-ff' : '--ff-only'];
    if (opts.message !== undefined) args.push('-m', opts.message);
    args.push(branch);
    return this.conflictAware(async (git) => {
      await git.raw(args);
      return { commit: (await git.raw(['rev-parse', 'HEAD'])).trim() };
    });
  }

  /**
   * `git merge --squash` plus the commit. `{ commit: undefined }` when the squash brought nothing
   * (the changes are already there); conflicts are left for the user as with mergeBranch.
   */
  async squashMerge(branch: string, message: string): Promise<MergeOutcome> {
    assertSafeName(branch);
    return this.conflictAware(async (git) => {
      await git.raw(['merge', '--squash', branch]);
      const staged = await git.raw(['diff', '--cached', '--name-only']);
      if (staged.trim().length === 0) return { commit: undefined };
      await git.raw(['commit', '--quiet', '-m', message]);
      return { commit: (await git.raw(['rev-parse', 'HEAD'])).trim() };
    });
  }

  /**
   * Rebases the branch checked out here onto `onto` (`git rebase --onto <onto> <upstream>` when
   * `upstream` is given: only the commits after `upstream` move). Conflicts leave the rebase stopped.
   */
  async rebaseOnto(onto: string, opts: { upstream?: string } = {}): Promise<MergeOutcome> {
    assertRefOrSha(onto);
    const args = opts.upstream !== undefined ? ['rebase', '--onto', onto, opts.upstream] : ['rebase', onto];
    if (opts.upstream !== undefined) assertRefOrSha(opts.upstream);
    return this.conflictAware(async (git) => {
      await git.raw(args);
      return { commit: (await git.raw(['rev-parse', 'HEAD'])).trim() };
    });
  }

  private async conflictAware(op: (git: SimpleGit) => Promise<{ commit: string | undefined }>): Promise<MergeOutcome> {
    try {
      return await this.run(op);
    } catch (err) {
      if (!isGitError(err, 'merge-conflict')) throw err;
      const conflicts = await this.conflictedFiles();
      // "merge-conflict" also matches refusals that changed nothing (an earlier unresolved merge).
      if (conflicts.length === 0) throw err;
      return { commit: undefined, conflicts };
    }
  }

  /** Whether git has an identity to commit with here (a fresh machine with an empty HOME has none). */
  async hasIdentity(): Promise<boolean> {
    try {
      await this.read(['var', 'GIT_AUTHOR_IDENT']);
      await this.read(['var', 'GIT_COMMITTER_IDENT']);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Stages and commits exactly these paths (additions, changes and deletions), leaving whatever else
   * is modified or staged in the working tree as it is. Paths are literal (no globs) and go to git
   * through a file, never as arguments: a path starting with `-` stays a path, and ten thousand paths
   * fit. Returns the new commit, or undefined when none of the paths had a change to commit. `changed`:
   * the caller knows every path has a change and no one else commits here (one git run fewer).
   */
  async commitPaths(
    paths: readonly string[],
    message: string,
    opts: { identity?: { name: string; email: string }; allowEmpty?: boolean; changed?: boolean } = {},
  ): Promise<string | undefined> {
    if (typeof message !== 'string' || message.trim().length === 0) throw new GitError('invalid-name', 'the commit message is empty');
    const identity = opts.identity ? ['-c', `user.name=${opts.identity.name}`, '-c', `user.email=${opts.identity.email}`] : [];
    const emptyCommit = async (git: SimpleGit) => {
      // --only with no paths: an empty commit that leaves whatever the user staged where it is.
      return committed(git, await git.raw([...identity, ...FULL_IDS, 'commit', '--allow-empty', '--only', '-m', message]));
    };
    if (paths.length === 0) return opts.allowEmpty ? this.run(emptyCommit) : undefined;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'plan-commit-'));
    const specFile = path.join(dir, 'paths');
    try {
      await writeFile(specFile, paths.join('\0'));
      const spec = [`--pathspec-from-file=${specFile}`, '--pathspec-file-nul'];
      return await this.run(async (git) => {
        // --verbose: every command prints something (simple-git waits 50 ms more for a silent one).
        await git.raw(['--literal-pathspecs', 'add', '-A', '--verbose', ...spec]);
        // Someone committed them meanwhile (a parallel task's commit that took them along)? Not where
        // the caller knows they are changed and nobody else commits (`changed`: a worker's job worktree).
        if (!opts.changed) {
          // `git diff` takes no pathspec file: list everything staged and look for ours.
          const wanted = new Set(paths);
          const staged = (await git.raw(['diff', '--cached', '--name-only', '--no-renames', '-z'])).split('\0');
          if (!staged.some((p) => wanted.has(p))) return opts.allowEmpty ? emptyCommit(git) : undefined;
        }
        // With paths, `git commit` commits only them (--only): what the user staged elsewhere stays staged.
        return committed(git, await git.raw([...identity, ...FULL_IDS, '--literal-pathspecs', 'commit', '-m', message, ...spec]));
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
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
      // What is staged, not what is modified: a file rewritten after `add` would otherwise make us
      // commit nothing. `--name-only` output is empty when nothing is staged.
      const staged = await git.raw(['diff', '--cached', '--name-only', '-z']);
      if (staged.length === 0) return undefined;
      // "-m" takes the next argument as its value even when it starts with "-", so a message like
      // "--amend" stays a message.
      await git.raw(['commit', '--quiet', '-m', message]);
      return (await git.raw(['rev-parse', 'HEAD'])).trim();
    });
  }
}
