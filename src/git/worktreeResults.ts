/**
 * What the plan worktree operations take and give back (options, results, reports), and the error
 * they fail with when the fix is the user's. The CLI and the Worktrees view print these as they are.
 */
import type { MergeStrategy } from '../core/workflowConfig.js';
import type { BlockedRecord } from './worktreeFiles.js';

export type WorktreeErrorCode =
  | 'not-found'
  | 'disabled'
  | 'limit-reached'
  | 'create-in-progress'
  | 'dirty'
  | 'ignored-files'
  | 'unmerged'
  | 'locked'
  | 'main-checkout'
  | 'in-progress'
  | 'invalid-plan'
  | 'invalid-option'
  | 'post-create-failed'
  | 'disk-full'
  | 'bare-repository';

/** Failures of a worktree operation that are the user's to fix; the message is one line that says how. */
export class WorktreeError extends Error {
  override readonly name = 'WorktreeError';
  constructor(
    readonly code: WorktreeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PlanWorktree {
  name: string;
  /** The branch checked out (normally `plan/<name>`); undefined when detached. */
  branch: string | undefined;
  path: string;
  /** The plan file relative to the worktree, when known. */
  plan?: string;
  base: string;
  target: string;
  /** The ref ahead/behind were counted against: the base while it exists, else the target. */
  comparedWith: string;
  ahead: number;
  behind: number;
  /** Uncommitted changes, not counting our own context files. */
  dirty: boolean;
  /** The first changed paths (at most 20), for messages. */
  changes: string[];
  lastCommitAt?: string;
  /** Latest of the last commit, the status file's mtime and the creation time. */
  lastActivityAt?: string;
  /** Bytes of the files in the worktree, `.git` excluded; hard links counted once. */
  diskBytes: number;
  /** No activity for `worktrees.stale_days`. */
  stale: boolean;
  blocked?: BlockedRecord;
  /** The directory is gone (git would prune the entry). */
  missing: boolean;
  locked: boolean;
  /** Created by us (has a marker); a worktree made by hand under the same names is listed too. */
  managed: boolean;
  head?: string;
}

export interface CreateOptions {
  /** A branch or commit to start from; default: the main branch. */
  base?: string;
  /** Check out the existing branch `plan/<name>` instead of failing because it exists. */
  attach?: boolean;
  /** Plan worktree name; default: the plan file's name. Turned into a safe slug. */
  name?: string;
}

export interface CreatedWorktree extends PlanWorktree {
  attached: boolean;
  /** Files copied from the main checkout (`.worktreeinclude`, `copy_files`), relative paths. */
  copiedFiles: string[];
  /** Things the user should know; creation still succeeded. */
  warnings: string[];
}

export interface RemoveOptions {
  /** Remove even with uncommitted changes, commits not merged into the target, or git-ignored files that would be lost. */
  force?: boolean;
  deleteBranch?: boolean;
}

export interface RemoveResult {
  name: string;
  path: string;
  branch: string | undefined;
  branchDeleted: boolean;
}

export interface CompleteOptions {
  strategy?: MergeStrategy;
  /** Rebase plan branches that were based on this one onto the target after the merge. */
  rebaseDependents?: boolean;
  /** Delete the plan branch after a successful merge; default: `worktrees.auto_cleanup`. */
  deleteBranch?: boolean;
}

export interface DependentReport {
  name: string;
  branch: string;
  path: string;
  rebase?: 'rebased' | 'conflict' | 'skipped';
  reason?: string;
  conflicts?: string[];
}

export interface CompleteResult {
  name: string;
  branch: string;
  target: string;
  strategy: MergeStrategy;
  outcome: 'completed' | 'conflict';
  /** The target's new tip; undefined when nothing was merged or on conflict. */
  commit?: string;
  /** The branch had nothing the target lacked, so nothing was merged. */
  alreadyMerged: boolean;
  conflicts?: { where: string; files: string[] };
  /** Set on conflict: what to do next. */
  hint?: string;
  removed: boolean;
  branchDeleted: boolean;
  dependents: DependentReport[];
  /** Things the user should know, e.g. that the plan's base branch came along unmerged. */
  warnings: string[];
}

export interface RebaseResult {
  name: string;
  branch: string;
  onto: string;
  outcome: 'rebased' | 'conflict';
  before: string;
  after?: string;
  conflicts?: string[];
  hint?: string;
}

export interface RepairAction {
  name: string;
  action: 'removed-worktree' | 'removed-directory' | 'deleted-branch' | 'kept-branch' | 'pruned' | 'skipped-in-progress';
  detail: string;
}

export interface CleanupReport {
  repaired: RepairAction[];
  removed: Array<{ name: string; path: string; reason: 'merged' | 'stale'; branchDeleted: boolean }>;
  kept: Array<{ name: string; path: string; reason: string }>;
}

export interface WorktreeListReport {
  worktrees: PlanWorktree[];
  totalDiskBytes: number;
  maxConcurrent: number;
  diskWarnMb: number;
  /** Set when totalDiskBytes is above `worktrees.disk_warn_mb`; also one of `warnings`. */
  diskWarning?: string;
  warnings: string[];
}
