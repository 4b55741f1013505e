/**
 * The one place that talks to git. Everything goes through simple-git with argv arrays (never a
 * shell), and every failure comes out as a GitError with a code (see errors.ts).
 *
 * GitService is built in layers, one file each: gitProcess.ts starts git, gitRepository.ts queues
 * and retries the operations on one repository, gitQueries.ts asks without changing anything, and
 * this file opens a repository and holds the operations that change it (worktrees, branches,
 * merges, commits).
 *
 * No `vscode` import here: the CLI and the extension share this service.
 */
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SimpleGit } from 'simple-git';
import { GitError, isGitError, toGitError } from './errors.js';
import { createGit } from './gitProcess.js';
import { assertRefOrSha, GitQueries } from './gitQueries.js';
import type { GitServiceOptions } from './gitRepository.js';
import { assertSafeName } from './slug.js';

export { GitError, isGitError, type GitErrorCode } from './errors.js';
export { assertSafeName, safeRefName, unsafeNameReason } from './slug.js';
// Where hostClone.ts and jobWorktrees.ts have always found it.
export { createGit } from './gitProcess.js';

/** How a merge, squash or rebase ended: a commit, or conflicts left in the working tree for the user. */
export interface MergeOutcome {
  /** HEAD after the operation; undefined when it stopped on conflicts or had nothing to commit. */
  commit: string | undefined;
  /** Files with conflict markers; present only when the operation stopped on conflicts. */
  conflicts?: string[];
}

const DEFAULT_MAX_CONCURRENT_PROCESSES = 6;

/** `git commit` and `cherry-pick` print the new commit's full id (`[branch <id>] subject`): no rev-parse after them. */
export const FULL_IDS = ['-c', 'core.abbrev=no'];

/** The commit id in the `[branch <id>] subject` line that `git commit` / `cherry-pick` printed with FULL_IDS, else HEAD's. */
export async function committed(git: SimpleGit, output: string): Promise<string> {
  // Branch names hold no space: the first " <id>]" is the id, whatever the subject says.
  const printed = /^\[[^\n]*? ([0-9a-f]{40}|[0-9a-f]{64})\]/m.exec(output)?.[1];
  return printed ?? (await git.raw(['rev-parse', 'HEAD'])).trim();
}

/** Who commits when git has no identity here (a fresh machine, an empty HOME); callers say so in their output. */
export const FALLBACK_IDENTITY = { name: 'Plan Orchestrator', email: 'plan-orchestrator@localhost' };

/** A repository opened at one of its working trees: reads (GitQueries) plus the operations that change it. */
export class GitService extends GitQueries {
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
