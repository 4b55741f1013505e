/**
 * What `git worktree list --porcelain` says about each worktree of a repository, parsed into
 * records. A pure function of git's output, so it is tested without a repository.
 */
import path from 'node:path';

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
