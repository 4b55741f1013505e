/**
 * Taking plan worktrees away: `remove` one (refused while it holds anything the user would lose),
 * `cleanup` the finished and stale ones, and `repair` what interrupted creates and deleted
 * directories left behind. Nothing the user would miss goes without --force: uncommitted changes,
 * unmerged commits, and git-ignored files that exist nowhere else.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { CreateGuard } from './createGuard.js';
import { listFew, type PlanWorktrees } from './planWorktrees.js';
import { MARKER_FILE, readMarker } from './worktreeFiles.js';
import { listPlanWorktrees } from './worktreeListing.js';
import { BRANCH_PREFIX, DIR_PREFIX, samePath } from './worktreeNames.js';
import { unsafeNameReason } from './slug.js';
import { WorktreeError, type CleanupReport, type RemoveOptions, type RemoveResult, type RepairAction } from './worktreeResults.js';

/** Removes the worktree of plan `name`, and its branch when asked. */
export async function removePlanWorktree(worktrees: PlanWorktrees, name: string, opts: RemoveOptions = {}): Promise<RemoveResult> {
  const entry = await worktrees.find(name);
  const { info } = entry;
  const branch = info.branch;
  if (info.locked) {
    throw new WorktreeError('locked', `the worktree ${worktrees.shown(info.path)} is locked${info.lockedReason ? ` (${info.lockedReason})` : ''}; unlock it first (git worktree unlock)`);
  }
  const target = await worktrees.targetFor(entry);
  if (!info.prunable && !opts.force) {
    const marker = await readMarker(info.path);
    const changes = await worktrees.userChanges(info.path, marker);
    if (changes.length > 0) {
      throw new WorktreeError('dirty', `${entry.name} has uncommitted changes (${listFew(changes)}); commit them, or pass --force to discard them`);
    }
    const ignored = await worktrees.ignoredAtRisk(info.path, marker);
    if (ignored.length > 0) {
      throw new WorktreeError(
        'ignored-files',
        `${entry.name} holds ${ignored.length} git-ignored file${ignored.length === 1 ? '' : 's'} that ${ignored.length === 1 ? 'is' : 'are'} not in the main checkout and would be deleted (${listFew(ignored)}); move ${ignored.length === 1 ? 'it' : 'them'} out, or pass --force to delete ${ignored.length === 1 ? 'it' : 'them'} (worktrees.disposable in git-workflow.json lists what may go without asking)`,
      );
    }
  }
  if (branch && !opts.force) {
    const unmerged = await worktrees.unmergedCount(branch, target);
    if (unmerged > 0) {
      throw new WorktreeError('unmerged', `${branch} has ${unmerged} commit${unmerged === 1 ? '' : 's'} not merged into ${target}; complete it (planctl worktree complete ${entry.name}) or pass --force`);
    }
  }
  await worktrees.removeWorktree(info);
  let branchDeleted = false;
  if (opts.deleteBranch && branch && (await worktrees.git.branchExists(branch))) {
    await worktrees.git.deleteBranch(branch, { force: true });
    branchDeleted = true;
  }
  return { name: entry.name, path: info.path, branch, branchDeleted };
}

/**
 * Repairs interrupted creates, then removes plan worktrees that are clean and either merged (they
 * have commits of their own, all in the target) or stale with nothing unmerged. Dirty, blocked,
 * locked and unmerged worktrees are kept, each with the reason.
 */
export async function cleanupPlanWorktrees(worktrees: PlanWorktrees, guard: CreateGuard, opts: { dryRun?: boolean } = {}): Promise<CleanupReport> {
  const report: CleanupReport = { repaired: opts.dryRun ? [] : await repairPlanWorktrees(worktrees, guard), removed: [], kept: [] };
  for (const w of await listPlanWorktrees(worktrees)) {
    const keep = (reason: string) => report.kept.push({ name: w.name, path: w.path, reason });
    if (w.missing) {
      keep('the directory is gone; git forgets it on prune');
      continue;
    }
    if (w.blocked) {
      keep(`blocked: ${w.blocked.hint}`);
      continue;
    }
    if (w.locked) {
      keep('locked (git worktree unlock)');
      continue;
    }
    if (w.dirty) {
      keep(`uncommitted changes (${listFew(w.changes)})`);
      continue;
    }
    const ignored = await worktrees.ignoredAtRisk(w.path, await readMarker(w.path));
    if (ignored.length > 0) {
      keep(`git-ignored files that are not in the main checkout (${listFew(ignored)})`);
      continue;
    }
    if (!w.branch) {
      keep('detached HEAD: not a plan branch');
      continue;
    }
    let unmerged: number;
    try {
      unmerged = await worktrees.unmergedCount(w.branch, w.target);
    } catch (err) {
      keep(err instanceof Error ? err.message : String(err));
      continue;
    }
    if (unmerged > 0) {
      keep(`${unmerged} commit${unmerged === 1 ? '' : 's'} not merged into ${w.target}${w.stale ? ' (stale)' : ''}`);
      continue;
    }
    const marker = await readMarker(w.path);
    const tip = await worktrees.git.resolveCommit(w.branch);
    const hasOwnCommits = marker !== undefined && tip !== undefined && tip !== marker.startSha;
    const reason = hasOwnCommits ? 'merged' : w.stale ? 'stale' : undefined;
    if (!reason) {
      keep(`active: nothing to merge yet, last activity ${w.lastActivityAt ?? 'unknown'}`);
      continue;
    }
    // A merged branch's work is in the target; a stale one is deleted only if it never had a commit of its own.
    const deleteBranch = reason === 'merged' || (marker?.createdBranch === true && tip === marker.startSha);
    if (!opts.dryRun) {
      const entry = (await worktrees.entries()).find((e) => samePath(e.info.path, w.path));
      if (entry) await worktrees.removeWorktree(entry.info);
      if (deleteBranch && (await worktrees.git.branchExists(w.branch))) await worktrees.git.deleteBranch(w.branch, { force: true });
    }
    report.removed.push({ name: w.name, path: w.path, reason, branchDeleted: deleteBranch });
  }
  return report;
}

/**
 * Undoes creates that were killed half-way (their journal remains and their process is gone),
 * removes directories under the worktrees directory that carry our marker but that git no longer
 * knows, and prunes worktree entries whose directory is gone.
 */
export async function repairPlanWorktrees(worktrees: PlanWorktrees, guard: CreateGuard): Promise<RepairAction[]> {
  const actions: RepairAction[] = [];
  let journals: string[] = [];
  try {
    journals = (await fs.readdir(worktrees.stateDir)).filter((f) => /^create-.+\.json$/.test(f));
  } catch {
    // no state directory: nothing was ever created here
  }
  for (const file of journals) {
    const name = file.slice('create-'.length, -'.json'.length);
    // Only names we could have written; anything else is not ours to act on.
    if (unsafeNameReason(BRANCH_PREFIX + name) !== undefined || name.includes('/')) continue;
    actions.push(...(await guard.repairJournal(name, { reportBusy: true })));
  }
  const registered = await worktrees.git.listWorktrees();
  let dirs: string[] = [];
  try {
    dirs = (await fs.readdir(worktrees.worktreesDir)).filter((d) => d.startsWith(DIR_PREFIX));
  } catch {
    // no worktrees directory yet
  }
  for (const d of dirs) {
    const dir = path.join(worktrees.worktreesDir, d);
    if (registered.some((w) => samePath(w.path, dir))) continue;
    if (!existsSync(path.join(dir, MARKER_FILE))) continue;
    const name = d.slice(DIR_PREFIX.length);
    // A create holding the name lock may be between "git worktree add" and its registration.
    const release = await guard.tryLockName(name);
    if (!release) continue;
    try {
      // Again under the lock: a create may have finished between the listing above and now.
      if ((await worktrees.git.listWorktrees()).some((w) => samePath(w.path, dir))) continue;
      await fs.rm(dir, { recursive: true, force: true });
      actions.push({ name, action: 'removed-directory', detail: `${worktrees.shown(dir)} carried our marker but git no longer knew it` });
    } finally {
      await release();
    }
  }
  const prunable = (await worktrees.git.listWorktrees()).filter((w) => w.prunable);
  if (prunable.length > 0) {
    await worktrees.git.worktreePrune();
    for (const w of prunable) actions.push({ name: path.basename(w.path), action: 'pruned', detail: `forgot ${w.path} (${w.prunableReason ?? 'directory gone'})` });
  }
  return actions;
}
