/**
 * What must hold before a plan runs, checked the same way by the orchestrator and by the API (which
 * answers 409 before it starts anything):
 * - the plan's gate commands were approved by a person (gates.ts);
 * - the run does not commit to the main checkout's branch unless told so (`--in-place`): a plan's
 *   place is its worktree;
 * - the checkout has no uncommitted changes of the user's, which a task's commit could otherwise
 *   be mistaken for, unless told so (`--allow-dirty`: they are then left out of every commit).
 */
import path from 'node:path';
import type { PlanSession } from '../core/session.js';
import { PlanError } from '../core/source.js';
import type { GitService } from '../git/gitService.js';
import { approveCommands, readApprovedCommands } from './approvals.js';
import { commandsNotApproved, gateCommands, unapprovedCommands } from './gates.js';
import { isOrchestratorPath, snapshotWorktree, worktreeRelative } from './taskChanges.js';

/** Refuses gate commands nobody approved; with `approve`, approves those listed and returns them. */
export async function checkCommands(session: PlanSession, approve: boolean): Promise<string[]> {
  const gates = gateCommands(session.analysis.plan);
  if (gates.length === 0) return [];
  const missing = unapprovedCommands(gates, await readApprovedCommands(session.statusPath));
  if (missing.length === 0) return [];
  if (!approve) throw commandsNotApproved(session.relPath, missing);
  await approveCommands(session.statusPath, missing);
  return missing;
}

export interface PlaceOptions {
  inPlace?: boolean;
  allowDirty?: boolean;
}

/**
 * Checks where the run commits. Returns the files already modified (outside the plan's output
 * folder, which belongs to the orchestrator): with allowDirty they are the user's and stay out of
 * every task commit.
 */
export async function checkPlace(git: GitService, worktree: string, statusPath: string, relPath: string, opts: PlaceOptions): Promise<Set<string>> {
  if (!opts.inPlace && (await git.isMainWorktree())) {
    const branch = (await git.currentBranch()) ?? 'the checked-out commit';
    throw new PlanError(
      'in-place-required',
      `${worktree} is the repository's main checkout: each task would be committed to ${branch}; run the plan in its worktree (planctl worktree create ${relPath}), or pass --in-place to commit here`,
    );
  }
  const out = worktreeRelative(worktree, path.dirname(statusPath));
  const base = await snapshotWorktree(git, worktree);
  const modified = new Set([...base.keys()].filter((p) => !isOrchestratorPath(p, out ? [out] : [])));
  if (modified.size > 0 && !opts.allowDirty) {
    const some = [...modified].slice(0, 5).join(', ');
    throw new PlanError(
      'checkout-dirty',
      `${worktree} has ${modified.size} uncommitted change(s) (${some}${modified.size > 5 ? ', …' : ''}); commit or stash them first, or pass --allow-dirty to run anyway (they are left out of every task commit)`,
    );
  }
  return modified;
}
