/**
 * One git worktree per plan: `<worktrees dir>/plan-<name>` on branch `plan/<name>`, created,
 * listed, merged back and removed here. The CLI (`planctl worktree …`) and the extension share it.
 *
 * WorktreeManager is what callers open; each operation lives in a file of its own:
 * worktreeCreate.ts (create, guarded by createGuard.ts), worktreeListing.ts (list),
 * worktreeMerge.ts (complete, rebase) and worktreeCleanup.ts (remove, cleanup, repair). What they
 * share is PlanWorktrees (planWorktrees.ts); the files we keep are described in worktreeFiles.ts.
 */
import path from 'node:path';
import { loadWorkflowConfig, type WorkflowConfig } from '../core/workflowConfig.js';
import { CreateGuard } from './createGuard.js';
import { GitService } from './gitService.js';
import { PlanWorktrees } from './planWorktrees.js';
import { cleanupPlanWorktrees, removePlanWorktree, repairPlanWorktrees } from './worktreeCleanup.js';
import { createPlanWorktree } from './worktreeCreate.js';
import { STATE_DIR } from './worktreeFiles.js';
import { listPlanWorktrees, listReport } from './worktreeListing.js';
import { completePlanWorktree, rebasePlanWorktree } from './worktreeMerge.js';
import { isInside, realish } from './worktreeNames.js';
import {
  WorktreeError,
  type CleanupReport,
  type CompleteOptions,
  type CompleteResult,
  type CreatedWorktree,
  type CreateOptions,
  type PlanWorktree,
  type RebaseResult,
  type RemoveOptions,
  type RemoveResult,
  type RepairAction,
  type WorktreeListReport,
} from './worktreeResults.js';

export interface WorktreeManagerOptions {
  /** Clock for staleness; tests move it. */
  now?: () => Date;
  /** Use this instead of reading git-workflow.json. */
  config?: WorkflowConfig;
}

/** The plan worktrees of one repository and what callers do with them; open() checks the repository can have them. */
export class WorktreeManager extends PlanWorktrees {
  private readonly guard = new CreateGuard(this);

  static async open(dir: string, options: WorktreeManagerOptions = {}): Promise<WorktreeManager> {
    const git = await GitService.open(dir);
    const main = (await git.listWorktrees())[0];
    if (!main || main.bare) {
      throw new WorktreeError('bare-repository', 'plan worktrees need a repository with a main working tree (this one is bare)');
    }
    const repoRoot = main.path;
    const config = options.config ?? (await loadWorkflowConfig(repoRoot));
    const commonDir = await git.commonDir();
    const worktreesDir = await realish(path.resolve(repoRoot, config.worktrees.directory));
    const realCommon = await realish(commonDir);
    if (worktreesDir === repoRoot || isInside(realCommon, worktreesDir) || worktreesDir === realCommon) {
      throw new WorktreeError(
        'invalid-option',
        `git-workflow.json: worktrees.directory: ${JSON.stringify(config.worktrees.directory)} must be a directory of its own, not the repository root or inside .git`,
      );
    }
    const mainGit = main.path === git.topLevel ? git : await GitService.open(main.path);
    return new WorktreeManager(git, mainGit, repoRoot, config, worktreesDir, path.join(commonDir, STATE_DIR), options.now ?? (() => new Date()));
  }

  async create(planPath: string, opts: CreateOptions = {}): Promise<CreatedWorktree> {
    return createPlanWorktree(this, this.guard, planPath, opts);
  }

  async list(): Promise<PlanWorktree[]> {
    return listPlanWorktrees(this);
  }

  /** `list()` plus totals and resource warnings, as `planctl worktree list` shows them. */
  async listReport(): Promise<WorktreeListReport> {
    return listReport(this);
  }

  /** The worktree directory of plan `name` (which must exist). */
  async pathOf(name: string): Promise<string> {
    return (await this.find(name)).info.path;
  }

  async remove(name: string, opts: RemoveOptions = {}): Promise<RemoveResult> {
    return removePlanWorktree(this, name, opts);
  }

  async complete(name: string, opts: CompleteOptions = {}): Promise<CompleteResult> {
    return completePlanWorktree(this, name, opts);
  }

  /** Rebases the plan branch onto its target (the updated main branch), in its worktree. */
  async rebase(name: string): Promise<RebaseResult> {
    return rebasePlanWorktree(this, name);
  }

  /** Repairs interrupted creates, then removes the clean plan worktrees that are merged or stale. */
  async cleanup(opts: { dryRun?: boolean } = {}): Promise<CleanupReport> {
    return cleanupPlanWorktrees(this, this.guard, opts);
  }

  /** Undoes killed creates, removes our orphaned directories and prunes entries whose directory is gone. */
  async repair(): Promise<RepairAction[]> {
    return repairPlanWorktrees(this, this.guard);
  }
}
