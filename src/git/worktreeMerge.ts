/**
 * Bringing a plan's work home: `complete` merges the plan branch into its target (merge, squash or
 * rebase) and removes the worktree, and `rebase` moves the plan branch onto its updated target.
 * Both commit the plan's own status file first, refuse while the user has uncommitted changes or an
 * operation is unfinished, and leave conflicts in place with a blocked record saying what to do.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { analyzePlan } from '../core/analyzer.js';
import { readPlanFile } from '../core/planFile.js';
import { GitError } from './errors.js';
import { GitService } from './gitService.js';
import { listFew, type Entry, type PlanWorktrees } from './planWorktrees.js';
import { BLOCKED_FILE, MARKER_FILE, readMarker, writeJson } from './worktreeFiles.js';
import { BRANCH_PREFIX, samePath } from './worktreeNames.js';
import { WorktreeError, type CompleteOptions, type CompleteResult, type DependentReport, type RebaseResult } from './worktreeResults.js';

/** Merges the plan branch into its target with the configured (or given) strategy, then removes the worktree. */
export async function completePlanWorktree(worktrees: PlanWorktrees, name: string, opts: CompleteOptions = {}): Promise<CompleteResult> {
  const entry = await worktrees.find(name);
  const { info } = entry;
  const branch = info.branch;
  if (!branch) throw new WorktreeError('invalid-option', `${worktrees.shown(info.path)} has a detached HEAD; check out its plan branch first`);
  const strategy = opts.strategy ?? worktrees.config.worktrees.merge_strategy;
  const marker = info.prunable ? undefined : await readMarker(info.path);
  const target = await worktrees.targetFor(entry, marker);
  const wtGit = info.prunable ? undefined : await GitService.open(info.path);

  if (wtGit) {
    const op = await wtGit.operationInProgress();
    if (op) throw new WorktreeError('in-progress', `a ${op} is in progress in ${worktrees.shown(info.path)}: finish it (resolve, git add, git ${op} --continue) or abort it, then run complete again`);
    const changes = await worktrees.userChanges(info.path, marker);
    if (changes.length > 0) throw new WorktreeError('dirty', `${entry.name} has uncommitted changes (${listFew(changes)}): commit them in ${worktrees.shown(info.path)} first`);
  }
  await assertMainCheckoutReady(worktrees, target);
  if (wtGit) await worktrees.commitOwnStatus(info.path, marker, entry.name);

  const oldTip = await worktrees.git.resolveCommit(branch);
  if (!oldTip) throw new GitError('unknown-ref', `branch ${branch} does not exist`);
  const dependents = await dependentsOf(worktrees, entry, oldTip, target);
  const title = marker ? await planTitle(path.join(info.path, marker.plan)) : undefined;
  const result: CompleteResult = { name: entry.name, branch, target, strategy, outcome: 'completed', alreadyMerged: false, removed: false, branchDeleted: false, dependents, warnings: [] };
  const base = marker?.base;
  if (base && base !== target && base.startsWith(BRANCH_PREFIX) && (await worktrees.git.resolveCommit(base)) && !(await worktrees.git.isAncestor(base, target))) {
    result.warnings.push(`${branch} is based on ${base}, which is not merged into ${target}: its commits are merged along with this plan's`);
  }

  result.alreadyMerged = (await worktrees.git.isAncestor(branch, target)) || (await worktrees.git.isSquashMerged(branch, target));
  if (!result.alreadyMerged) {
    let outcome;
    let where = worktrees.repoRoot;
    if (strategy === 'merge') {
      outcome = await worktrees.mainGit.mergeBranch(branch, { mode: 'no-ff', message: `Merge ${branch}${title ? `: ${title}` : ''}` });
    } else if (strategy === 'squash') {
      outcome = await worktrees.mainGit.squashMerge(branch, `${title ?? `Plan ${entry.name}`} (squashed ${branch})`);
    } else {
      if (!wtGit) throw new WorktreeError('not-found', `the rebase strategy needs the worktree of ${branch}, and ${worktrees.shown(info.path)} is gone`);
      where = info.path;
      outcome = await wtGit.rebaseOnto(target);
      if (!outcome.conflicts) outcome = await worktrees.mainGit.mergeBranch(branch, { mode: 'ff-only' });
    }
    if (outcome.conflicts) {
      const finish =
        strategy === 'rebase'
          ? `resolve the conflicts in ${where}, "git add" them and run "git rebase --continue" there`
          : strategy === 'squash'
            ? `resolve the conflicts in ${where}, "git add" them and "git commit" there`
            : `resolve the conflicts in ${where}, "git add" them and "git commit" there (or "git merge --abort")`;
      const hint = `${finish}, then run "planctl worktree complete ${entry.name}" again`;
      await worktrees.markBlocked(info.path, {
        reason: strategy === 'rebase' ? 'rebase-conflict' : 'merge-conflict',
        operation: 'complete',
        strategy,
        where,
        conflictedFiles: outcome.conflicts,
        at: worktrees.now().toISOString(),
        hint,
      });
      return { ...result, outcome: 'conflict', conflicts: { where, files: outcome.conflicts }, hint };
    }
    if (outcome.commit) result.commit = outcome.commit;
    else result.alreadyMerged = true;
  }

  await worktrees.removeWorktree(info);
  result.removed = true;
  if (opts.deleteBranch ?? worktrees.config.worktrees.auto_cleanup) {
    // -D: after a squash the branch is not an ancestor of the target, though its changes are in it.
    await worktrees.git.deleteBranch(branch, { force: true });
    result.branchDeleted = true;
  }
  if (opts.rebaseDependents) {
    for (const dep of dependents) Object.assign(dep, await rebaseDependent(worktrees, dep, oldTip, target));
  }
  return result;
}

/** Rebases the plan branch onto its target (the updated main branch), in its worktree. */
export async function rebasePlanWorktree(worktrees: PlanWorktrees, name: string): Promise<RebaseResult> {
  const entry = await worktrees.find(name);
  const { info } = entry;
  if (info.prunable) throw new WorktreeError('not-found', `the worktree directory ${worktrees.shown(info.path)} is gone (planctl worktree cleanup forgets it)`);
  const branch = info.branch;
  if (!branch) throw new WorktreeError('invalid-option', `${worktrees.shown(info.path)} has a detached HEAD; check out its plan branch first`);
  const marker = await readMarker(info.path);
  const target = await worktrees.targetFor(entry, marker);
  const wtGit = await GitService.open(info.path);
  const op = await wtGit.operationInProgress();
  if (op) throw new WorktreeError('in-progress', `a ${op} is in progress in ${worktrees.shown(info.path)}: finish or abort it first`);
  const changes = await worktrees.userChanges(info.path, marker);
  if (changes.length > 0) throw new WorktreeError('dirty', `${entry.name} has uncommitted changes (${listFew(changes)}): commit or stash them first`);
  await worktrees.commitOwnStatus(info.path, marker, entry.name);
  const before = (await worktrees.git.resolveCommit(branch))!;
  const ontoSha = await worktrees.git.resolveCommit(target);
  const outcome = await wtGit.rebaseOnto(target);
  if (outcome.conflicts) {
    const hint = `resolve the conflicts in ${info.path}, "git add" them and run "git rebase --continue" there (or "git rebase --abort")`;
    await markRebaseBlocked(worktrees, info.path, outcome.conflicts, hint);
    return { name: entry.name, branch, onto: target, outcome: 'conflict', before, conflicts: outcome.conflicts, hint };
  }
  await fs.rm(path.join(info.path, BLOCKED_FILE), { force: true });
  // The plan's own commits now start at the target's tip; without this a rebased worktree with no
  // commits of its own would look "merged" to cleanup.
  if (marker && ontoSha) await writeJson(path.join(info.path, MARKER_FILE), { ...marker, startSha: ontoSha });
  return { name: entry.name, branch, onto: target, outcome: 'rebased', before, ...(outcome.commit ? { after: outcome.commit } : {}) };
}

async function assertMainCheckoutReady(worktrees: PlanWorktrees, target: string): Promise<void> {
  const where = worktrees.repoRoot;
  const op = await worktrees.mainGit.operationInProgress();
  if (op) {
    throw new WorktreeError('main-checkout', `the main checkout (${where}) has a ${op} in progress: finish it (resolve, git add, git commit / git ${op} --continue) or abort it first`);
  }
  const current = await worktrees.mainGit.currentBranch();
  if (current !== target) {
    throw new WorktreeError('main-checkout', `the main checkout (${where}) is on ${current ?? 'a detached HEAD'}, not on ${target}: run "git switch ${target}" there first`);
  }
  // Untracked files do not block a merge unless git would overwrite one, and git refuses that itself.
  if (await worktrees.mainGit.isDirty({ ignoreUntracked: true })) {
    throw new WorktreeError('main-checkout', `the main checkout (${where}) has uncommitted changes: commit or stash them before merging into ${target}`);
  }
}

/** Plan worktrees whose branch builds on `entry`'s branch (recorded base, or contains its unmerged tip). */
async function dependentsOf(worktrees: PlanWorktrees, entry: Entry, oldTip: string, target: string): Promise<DependentReport[]> {
  const tipMerged = await worktrees.git.isAncestor(oldTip, target);
  const out: DependentReport[] = [];
  for (const other of await worktrees.entries()) {
    if (other === entry || samePath(other.info.path, entry.info.path) || !other.info.branch || other.info.prunable) continue;
    const marker = await readMarker(other.info.path);
    const basedOn = marker?.base === entry.info.branch;
    const contains = !tipMerged && (await worktrees.git.isAncestor(oldTip, other.info.branch));
    if (basedOn || contains) out.push({ name: other.name, branch: other.info.branch, path: other.info.path });
  }
  return out;
}

async function rebaseDependent(worktrees: PlanWorktrees, dep: DependentReport, oldTip: string, target: string): Promise<Partial<DependentReport>> {
  const depGit = await GitService.open(dep.path);
  const marker = await readMarker(dep.path);
  if (await depGit.operationInProgress()) return { rebase: 'skipped', reason: 'an operation is in progress there' };
  const changes = await worktrees.userChanges(dep.path, marker);
  if (changes.length > 0) return { rebase: 'skipped', reason: `uncommitted changes (${listFew(changes)})` };
  await worktrees.commitOwnStatus(dep.path, marker, dep.name);
  // --onto with the old tip: only the dependent's own commits move, even after a squash merge.
  const ontoSha = await worktrees.git.resolveCommit(target);
  const outcome = await depGit.rebaseOnto(target, { upstream: oldTip });
  if (outcome.conflicts) {
    const hint = `resolve the conflicts in ${dep.path}, "git add" them and run "git rebase --continue" there`;
    await markRebaseBlocked(worktrees, dep.path, outcome.conflicts, hint);
    return { rebase: 'conflict', conflicts: outcome.conflicts, reason: hint };
  }
  if (marker) await writeJson(path.join(dep.path, MARKER_FILE), { ...marker, base: target, ...(ontoSha ? { startSha: ontoSha } : {}) });
  return { rebase: 'rebased' };
}

async function planTitle(planPath: string): Promise<string | undefined> {
  try {
    const title = analyzePlan(await readPlanFile(planPath)).plan.title?.trim();
    return title || undefined;
  } catch {
    return undefined;
  }
}

/** Records in the worktree that its rebase stopped on conflicts, and what to do about them. */
async function markRebaseBlocked(worktrees: PlanWorktrees, where: string, conflictedFiles: string[], hint: string): Promise<void> {
  await worktrees.markBlocked(where, { reason: 'rebase-conflict', operation: 'rebase', where, conflictedFiles, at: worktrees.now().toISOString(), hint });
}
