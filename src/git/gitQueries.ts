/**
 * What GitService can ask a repository without changing it: branches, worktrees, status, how refs
 * relate (ancestry, ahead/behind, squash merges) and the identity git would commit with. Every
 * user-supplied ref is checked before it reaches git (assertRefOrSha, assertSafeName).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { GitError, toGitError } from './errors.js';
import { GitRepository } from './gitRepository.js';
import { assertSafeName, unsafeNameReason } from './slug.js';
import { parseWorktreeList, type WorktreeInfo } from './worktreeInfo.js';

export interface IsDirtyOptions {
  /** Treat untracked files as clean (they do not block a checkout or a merge). */
  ignoreUntracked?: boolean;
}

/** A full or abbreviated commit sha. */
const SHA = /^[0-9a-f]{7,64}$/;

/** Refs we pass on are either shas or names that passed assertSafeName: never something git reads as an option. */
export function assertRefOrSha(ref: string): void {
  if (typeof ref === 'string' && SHA.test(ref)) return;
  assertSafeName(ref, 'ref');
}

/** The read-only questions; GitService (gitService.ts) adds the operations that change the repository. */
export class GitQueries extends GitRepository {
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
}
