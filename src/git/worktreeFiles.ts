/**
 * The files we keep in and about a plan worktree, and why each is where it is:
 * - `<worktree>/.claude-context/worktree.json` (the marker): what we recorded at creation (base,
 *   target branch, plan, status file). It travels with the worktree and identifies a directory as
 *   ours when git has lost track of it.
 * - `<worktree>/.claude-context/blocked.json`: written when `complete` or `rebase` stops on
 *   conflicts. The plan is blocked, not done, until the user finishes the merge and runs the
 *   command again. It is not in the plan's status.json because that file's schema belongs to the
 *   task store and would drop an unknown key on its next write.
 * - `<common git dir>/plan-orchestrator/create-<name>.json` (the journal): rewritten before each
 *   step of a create, deleted when the create finishes or is rolled back. A journal whose process
 *   is gone is a create killed half-way; `cleanup` (and the next create of that name) undo it
 *   (createGuard.ts).
 * - `<common git dir>/plan-orchestrator/worktree-<name>.lock`: one create per name at a time,
 *   across processes. `worktrees.lock` beside it makes "count, then add" atomic for max_concurrent.
 * All of `.claude-context/` and the plan's untracked status.json count as ours, not as user
 * changes, when deciding whether a worktree is dirty.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { MergeStrategy } from '../core/workflowConfig.js';
import type { CopiedFile } from './ignoredFiles.js';

export const CONTEXT_DIR = '.claude-context';
export const MARKER_FILE = `${CONTEXT_DIR}/worktree.json`;
export const BLOCKED_FILE = `${CONTEXT_DIR}/blocked.json`;
export const WORKTREE_INCLUDE_FILE = '.worktreeinclude';
export const STATE_DIR = 'plan-orchestrator';

/** What `create` recorded in `.claude-context/worktree.json`. */
export interface WorktreeMarker {
  tool: 'plan-orchestrator';
  version: 1;
  name: string;
  branch: string;
  /** What the branch was created from (a branch name or a sha), or the target for an attached branch. */
  base: string;
  /** The commit the worktree started at: commits after it are the plan's own. */
  startSha: string;
  /** The branch `complete` merges into. */
  target: string;
  /** The plan file, relative to the worktree root, with `/`. */
  plan: string;
  /** The plan's status file, relative to the worktree root, with `/`. */
  statusFile: string;
  createdAt: string;
  /** False when an existing branch was attached: then the branch is never deleted as an orphan. */
  createdBranch: boolean;
  /** The git-ignored files copied in at create, as they were then: unchanged, they are safe to delete on remove. */
  copiedFiles?: CopiedFile[];
}

export interface BlockedRecord {
  reason: 'merge-conflict' | 'rebase-conflict';
  operation: 'complete' | 'rebase';
  strategy?: MergeStrategy;
  /** The checkout where the conflicted merge or rebase waits (the main checkout for merge/squash). */
  where: string;
  conflictedFiles: string[];
  at: string;
  /** What to do next, in one line. */
  hint: string;
}

/** Ours, not the user's: the worktree context (`.claude-context/`) and the plan's status file with its lock and temp files. */
export function isOurs(rel: string, marker: WorktreeMarker | undefined): boolean {
  if (rel === CONTEXT_DIR || rel.startsWith(`${CONTEXT_DIR}/`)) return true;
  return marker !== undefined && (rel === marker.statusFile || rel.startsWith(`${marker.statusFile}.`));
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

export async function readMarker(wtPath: string): Promise<WorktreeMarker | undefined> {
  const marker = await readJson<WorktreeMarker>(path.join(wtPath, MARKER_FILE));
  return marker?.tool === 'plan-orchestrator' && typeof marker.startSha === 'string' ? marker : undefined;
}
