/**
 * One git worktree per plan: `<worktrees dir>/plan-<name>` on branch `plan/<name>`, created,
 * listed, merged back and removed here. The CLI (`planctl worktree …`) and the extension share it.
 *
 * Files this module keeps, and why each is where it is:
 * - `<worktree>/.claude-context/worktree.json` (the marker): what we recorded at creation (base,
 *   target branch, plan, status file). It travels with the worktree and identifies a directory as
 *   ours when git has lost track of it.
 * - `<worktree>/.claude-context/blocked.json`: written when `complete` or `rebase` stops on
 *   conflicts. The plan is blocked, not done, until the user finishes the merge and runs the
 *   command again. It is not in the plan's status.json because that file's schema belongs to the
 *   task store and would drop an unknown key on its next write.
 * - `<common git dir>/plan-orchestrator/create-<name>.json` (the journal): rewritten before each
 *   step of a create, deleted when the create finishes or is rolled back. A journal whose process
 *   is gone is a create killed half-way; `cleanup` (and the next create of that name) undo it.
 * - `<common git dir>/plan-orchestrator/worktree-<name>.lock`: one create per name at a time,
 *   across processes. `worktrees.lock` beside it makes "count, then add" atomic for max_concurrent.
 * All of `.claude-context/` and the plan's untracked status.json count as ours, not as user
 * changes, when deciding whether a worktree is dirty.
 */
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, promises as fs, readdirSync, type Dirent } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ignore from 'ignore';
import lockfile, { type LockOptions } from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import { analyzePlan } from '../core/analyzer.js';
import { planName, readPlanFile, relativeToRoot, statusFileFor, writePlanPointer, POINTER_FILES } from '../core/planFile.js';
import { StatusStore, statusPathFor } from '../core/status.js';
import { loadWorkflowConfig, type MergeStrategy, type WorkflowConfig } from '../core/workflowConfig.js';
import { FALLBACK_IDENTITY, GitError, GitService } from './gitService.js';
import type { WorktreeInfo } from './worktreeList.js';
import { assertSafeName, safeRefName, unsafeNameReason } from './slug.js';
import { ignoredFilesAtRisk, recordCopies, type CopiedFile } from './ignoredFiles.js';

export const BRANCH_PREFIX = 'plan/';
export const DIR_PREFIX = 'plan-';
export const CONTEXT_DIR = '.claude-context';
export const MARKER_FILE = `${CONTEXT_DIR}/worktree.json`;
export const BLOCKED_FILE = `${CONTEXT_DIR}/blocked.json`;
export const WORKTREE_INCLUDE_FILE = '.worktreeinclude';
const STATE_DIR = 'plan-orchestrator';

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

export interface WorktreeManagerOptions {
  /** Clock for staleness; tests move it. */
  now?: () => Date;
  /** Use this instead of reading git-workflow.json. */
  config?: WorkflowConfig;
}

interface CreateJournal {
  version: 1;
  name: string;
  branch: string;
  path: string;
  baseSha: string;
  createdBranch: boolean;
  step: 'add-worktree' | 'context' | 'copy-files' | 'post-create' | 'validate';
  pid: number;
  host: string;
  startedAt: string;
}

interface Entry {
  name: string;
  info: WorktreeInfo;
}

interface Prepared {
  entry: Entry;
  marker: WorktreeMarker | undefined;
  target: string;
  base: string;
  comparedWith: string;
  /** What to count ahead/behind for: the branch, or the detached HEAD; undefined on an unborn branch. */
  ref: string | undefined;
  ahead: number;
  behind: number;
}

const NAME_LOCK_OPTIONS = {
  realpath: false,
  // proper-lockfile's minimum; a live holder refreshes it every `update` ms.
  stale: 10_000,
  update: 2_000,
} satisfies LockOptions;

const DAY_MS = 86_400_000;

/** Who commits the plan's status file when git has no identity configured (as the orchestrator's own commits). */
const STATUS_COMMIT_IDENTITY = FALLBACK_IDENTITY;

/** Ours, not the user's: the worktree context (`.claude-context/`) and the plan's status file with its lock and temp files. */
function isOurs(rel: string, marker: WorktreeMarker | undefined): boolean {
  if (rel === CONTEXT_DIR || rel.startsWith(`${CONTEXT_DIR}/`)) return true;
  return marker !== undefined && (rel === marker.statusFile || rel.startsWith(`${marker.statusFile}.`));
}

export class WorktreeManager {
  /** Names whose create lock this instance holds, so its own repair step does not wait on itself. */
  private readonly heldNames = new Set<string>();

  private constructor(
    /** The service of the working tree the manager was opened from. */
    readonly git: GitService,
    /** The service of the main worktree (the repository's primary checkout), where merges happen. */
    private readonly mainGit: GitService,
    /** The main worktree's root: where git-workflow.json and .worktreeinclude are read. */
    readonly repoRoot: string,
    readonly config: WorkflowConfig,
    /** Absolute (symlinks resolved) directory holding the plan worktrees. */
    readonly worktreesDir: string,
    private readonly stateDir: string,
    private readonly now: () => Date,
  ) {}

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

  // ---- create --------------------------------------------------------------------------------

  async create(planPath: string, opts: CreateOptions = {}): Promise<CreatedWorktree> {
    const cfg = this.config.worktrees;
    if (!cfg.enabled) {
      throw new WorktreeError('disabled', 'plan worktrees are disabled in git-workflow.json (worktrees.enabled is false)');
    }
    if (opts.attach && opts.base !== undefined) {
      throw new WorktreeError('invalid-option', '--base cannot be combined with --attach: an attached branch keeps its own history');
    }
    const planAbs = path.resolve(planPath);
    await readPlanFile(planAbs);
    const name = slugName(opts.name ?? planName(planAbs));
    const branch = BRANCH_PREFIX + name;
    const wtPath = this.dirFor(name);
    const planRel = await this.locatePlan(planAbs);

    const release = await this.lockName(name);
    try {
      // A create of this name killed earlier would otherwise make this one fail on its leftovers.
      await this.repairJournal(name);
      const all = await this.git.listWorktrees();
      const atPath = all.find((w) => samePath(w.path, wtPath));
      if (atPath?.prunable) await this.git.worktreePrune();
      else if (atPath) throw new GitError('path-exists', `plan ${name} already has a worktree at ${this.shown(wtPath)} (branch ${atPath.branch ?? 'detached'}); use it, or choose another name with --name`);
      if (existsSync(wtPath)) {
        throw new GitError('path-exists', `${this.shown(wtPath)} already exists; remove it or choose another name with --name`);
      }

      const target = cfg.main_branch ?? (await this.mainGit.mainBranch());
      let base: string;
      let baseSha: string | undefined;
      const branchExists = await this.git.branchExists(branch);
      if (branchExists) {
        if (!opts.attach) {
          throw new GitError('branch-exists', `branch ${branch} already exists; pass --attach to check it out in a new worktree, or choose another name with --name`);
        }
        const holder = all.find((w) => w.branch === branch && !w.prunable);
        if (holder) throw new GitError('branch-checked-out', `branch ${branch} is already checked out at ${holder.path}; use that worktree (planctl worktree path ${name})`);
        base = target;
        baseSha = await this.git.resolveCommit(branch);
      } else {
        if (opts.attach) throw new GitError('unknown-ref', `--attach: branch ${branch} does not exist (leave out --attach to create it)`);
        base = opts.base ?? target;
        assertSafeName(base, 'base');
        baseSha = await this.git.resolveCommit(base);
        if (!baseSha) throw new GitError('unknown-ref', `base ${JSON.stringify(base)} is not a branch or commit of this repository`);
      }
      if (!baseSha) throw new GitError('unknown-ref', `branch ${branch} has no commit`);

      const journal: CreateJournal = {
        version: 1,
        name,
        branch,
        path: wtPath,
        baseSha,
        createdBranch: !branchExists,
        step: 'add-worktree',
        pid: process.pid,
        host: os.hostname(),
        startedAt: this.now().toISOString(),
      };
      const warnings: string[] = [];
      let journaled = false;
      try {
        await this.withCountLock(async () => {
          const count = (await this.entries()).filter((e) => !e.info.prunable).length;
          if (count >= cfg.max_concurrent) {
            throw new WorktreeError(
              'limit-reached',
              `${count} plan worktree${count === 1 ? '' : 's'} already exist${count === 1 ? 's' : ''} (worktrees.max_concurrent is ${cfg.max_concurrent} in git-workflow.json): complete or remove one first (planctl worktree list), or raise the limit`,
            );
          }
          await fs.mkdir(path.dirname(wtPath), { recursive: true });
          await this.excludeOurFiles();
          await this.writeJournal(journal);
          journaled = true;
          await this.git.worktreeAdd(wtPath, branchExists ? { commitish: branch } : { commitish: baseSha!, newBranch: branch });
        });

        journal.step = 'context';
        await this.writeJournal(journal);
        const planInWt = path.join(wtPath, planRel);
        if (!existsSync(planInWt)) {
          // The worktree is useless without its plan; the warning says why the merge back may collide.
          await fs.mkdir(path.dirname(planInWt), { recursive: true });
          await fs.copyFile(planAbs, planInWt);
          warnings.push(`${planRel} is not committed on ${branchExists ? branch : base}: copied it into the worktree; commit it there (and not separately in the main checkout) so the merge back does not collide`);
        }
        const text = await readPlanFile(planInWt);
        const analysis = analyzePlan(text);
        await writePlanPointer(wtPath, planInWt);
        const statusPath = statusFileFor(planInWt, analysis.plan, wtPath);
        if (!existsSync(statusPath)) await new StatusStore(statusPath, relativeToRoot(wtPath, planInWt)).update(() => undefined);
        const marker: WorktreeMarker = {
          tool: 'plan-orchestrator',
          version: 1,
          name,
          branch,
          base,
          startSha: baseSha,
          target,
          plan: relativeToRoot(wtPath, planInWt),
          statusFile: relativeToRoot(wtPath, statusPath),
          createdAt: this.now().toISOString(),
          createdBranch: !branchExists,
        };
        await writeJson(path.join(wtPath, MARKER_FILE), marker);

        journal.step = 'copy-files';
        await this.writeJournal(journal);
        const copy = await this.copyIncludedFiles(wtPath);
        warnings.push(...copy.warnings);
        if (copy.copied.length > 0) {
          marker.copiedFiles = await recordCopies(wtPath, copy.copied);
          await writeJson(path.join(wtPath, MARKER_FILE), marker);
        }

        if (this.config.worktrees.post_create) {
          journal.step = 'post-create';
          await this.writeJournal(journal);
          await runPostCreate(this.config.worktrees.post_create, wtPath, planInWt);
        }

        journal.step = 'validate';
        await this.writeJournal(journal);
        const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length > 0) {
          const first = errors[0]!;
          warnings.push(`the plan has ${errors.length} error${errors.length === 1 ? '' : 's'} (line ${first.line}: ${first.message}); run "planctl validate ${marker.plan}" in the worktree`);
        }
        warnings.push(...this.config.warnings);

        await fs.rm(this.journalPath(name), { force: true });
        const entry = (await this.entries()).find((e) => samePath(e.info.path, wtPath));
        const described = entry ? await this.describeOne(entry, target) : undefined;
        if (!described) throw new GitError('git-failed', `git does not list the new worktree ${this.shown(wtPath)}`);
        return { ...described, attached: branchExists, copiedFiles: copy.copied, warnings };
      } catch (err) {
        // Nothing half-made: undo what the journal says we did, then report the original failure.
        if (journaled) await this.undoCreate(journal).catch(() => undefined);
        throw translateIoError(err);
      }
    } finally {
      await release();
    }
  }

  // ---- list ----------------------------------------------------------------------------------

  async list(): Promise<PlanWorktree[]> {
    const [worktrees, tips] = await Promise.all([this.git.listWorktrees(), this.git.branchTips(BRANCH_PREFIX)]);
    const entries = this.entriesOf(worktrees);
    const defaultTarget = this.config.worktrees.main_branch ?? worktrees[0]?.branch ?? (await this.mainGit.mainBranch());
    const prepared = await Promise.all(entries.map((e) => this.prepare(e, tips, defaultTarget)));
    // One batched count for all worktrees (a git run per worktree was a third of list()'s time),
    // running while the per-worktree status runs are under way.
    const countable = prepared.map((p, i) => ({ p, i })).filter(({ p }) => p.ref !== undefined);
    const counting = this.git
      .aheadBehindMany(countable.map(({ p }) => [p.comparedWith, p.ref!] as const))
      .catch(() => countable.map(() => ({ ahead: 0, behind: 0 })));
    const described = await Promise.all(prepared.map((p) => this.describe(p, tips)));
    const counts = await counting;
    countable.forEach(({ i }, k) => Object.assign(described[i]!, counts[k]));
    return described.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** `list()` plus totals and resource warnings, as `planctl worktree list` shows them. */
  async listReport(): Promise<WorktreeListReport> {
    const worktrees = await this.list();
    const cfg = this.config.worktrees;
    const totalDiskBytes = worktrees.reduce((sum, w) => sum + w.diskBytes, 0);
    const warnings = [...this.config.warnings];
    const diskWarning =
      totalDiskBytes > cfg.disk_warn_mb * 1024 * 1024
        ? `plan worktrees use ${formatBytes(totalDiskBytes)}, more than worktrees.disk_warn_mb (${cfg.disk_warn_mb} MB): remove finished ones (planctl worktree cleanup)`
        : undefined;
    if (diskWarning) warnings.push(diskWarning);
    const live = worktrees.filter((w) => !w.missing).length;
    if (live > cfg.max_concurrent) warnings.push(`${live} plan worktrees exist, more than worktrees.max_concurrent (${cfg.max_concurrent})`);
    for (const w of worktrees) {
      if (w.stale) warnings.push(`${w.name} is stale: no activity since ${w.lastActivityAt ?? 'unknown'} (worktrees.stale_days is ${cfg.stale_days})`);
      if (w.blocked) warnings.push(`${w.name} is blocked: ${w.blocked.hint}`);
      if (w.missing) warnings.push(`${w.name}: the directory ${w.path} is gone (planctl worktree cleanup forgets it)`);
    }
    return { worktrees, totalDiskBytes, maxConcurrent: cfg.max_concurrent, diskWarnMb: cfg.disk_warn_mb, ...(diskWarning ? { diskWarning } : {}), warnings };
  }

  /** The worktree directory of plan `name` (which must exist). */
  async pathOf(name: string): Promise<string> {
    return (await this.find(name)).info.path;
  }

  // ---- remove --------------------------------------------------------------------------------

  async remove(name: string, opts: RemoveOptions = {}): Promise<RemoveResult> {
    const entry = await this.find(name);
    const { info } = entry;
    const branch = info.branch;
    if (info.locked) {
      throw new WorktreeError('locked', `the worktree ${this.shown(info.path)} is locked${info.lockedReason ? ` (${info.lockedReason})` : ''}; unlock it first (git worktree unlock)`);
    }
    const target = await this.targetFor(entry);
    if (!info.prunable && !opts.force) {
      const marker = await readMarker(info.path);
      const changes = await this.userChanges(info.path, marker);
      if (changes.length > 0) {
        throw new WorktreeError('dirty', `${entry.name} has uncommitted changes (${listFew(changes)}); commit them, or pass --force to discard them`);
      }
      const ignored = await this.ignoredAtRisk(info.path, marker);
      if (ignored.length > 0) {
        throw new WorktreeError(
          'ignored-files',
          `${entry.name} holds ${ignored.length} git-ignored file${ignored.length === 1 ? '' : 's'} that ${ignored.length === 1 ? 'is' : 'are'} not in the main checkout and would be deleted (${listFew(ignored)}); move ${ignored.length === 1 ? 'it' : 'them'} out, or pass --force to delete ${ignored.length === 1 ? 'it' : 'them'} (worktrees.disposable in git-workflow.json lists what may go without asking)`,
        );
      }
    }
    if (branch && !opts.force) {
      const unmerged = await this.unmergedCount(branch, target);
      if (unmerged > 0) {
        throw new WorktreeError('unmerged', `${branch} has ${unmerged} commit${unmerged === 1 ? '' : 's'} not merged into ${target}; complete it (planctl worktree complete ${entry.name}) or pass --force`);
      }
    }
    await this.removeWorktree(info);
    let branchDeleted = false;
    if (opts.deleteBranch && branch && (await this.git.branchExists(branch))) {
      await this.git.deleteBranch(branch, { force: true });
      branchDeleted = true;
    }
    return { name: entry.name, path: info.path, branch, branchDeleted };
  }

  // ---- complete / rebase ---------------------------------------------------------------------

  async complete(name: string, opts: CompleteOptions = {}): Promise<CompleteResult> {
    const entry = await this.find(name);
    const { info } = entry;
    const branch = info.branch;
    if (!branch) throw new WorktreeError('invalid-option', `${this.shown(info.path)} has a detached HEAD; check out its plan branch first`);
    const strategy = opts.strategy ?? this.config.worktrees.merge_strategy;
    const marker = info.prunable ? undefined : await readMarker(info.path);
    const target = await this.targetFor(entry, marker);
    const wtGit = info.prunable ? undefined : await GitService.open(info.path);

    if (wtGit) {
      const op = await wtGit.operationInProgress();
      if (op) throw new WorktreeError('in-progress', `a ${op} is in progress in ${this.shown(info.path)}: finish it (resolve, git add, git ${op} --continue) or abort it, then run complete again`);
      const changes = await this.userChanges(info.path, marker);
      if (changes.length > 0) throw new WorktreeError('dirty', `${entry.name} has uncommitted changes (${listFew(changes)}): commit them in ${this.shown(info.path)} first`);
    }
    await this.assertMainCheckoutReady(target);
    if (wtGit) await this.commitOwnStatus(info.path, marker, entry.name);

    const oldTip = await this.git.resolveCommit(branch);
    if (!oldTip) throw new GitError('unknown-ref', `branch ${branch} does not exist`);
    const dependents = await this.dependentsOf(entry, oldTip, target);
    const title = marker ? await planTitle(path.join(info.path, marker.plan)) : undefined;
    const result: CompleteResult = { name: entry.name, branch, target, strategy, outcome: 'completed', alreadyMerged: false, removed: false, branchDeleted: false, dependents, warnings: [] };
    const base = marker?.base;
    if (base && base !== target && base.startsWith(BRANCH_PREFIX) && (await this.git.resolveCommit(base)) && !(await this.git.isAncestor(base, target))) {
      result.warnings.push(`${branch} is based on ${base}, which is not merged into ${target}: its commits are merged along with this plan's`);
    }

    result.alreadyMerged = (await this.git.isAncestor(branch, target)) || (await this.git.isSquashMerged(branch, target));
    if (!result.alreadyMerged) {
      let outcome;
      let where = this.repoRoot;
      if (strategy === 'merge') {
        outcome = await this.mainGit.mergeBranch(branch, { mode: 'no-ff', message: `Merge ${branch}${title ? `: ${title}` : ''}` });
      } else if (strategy === 'squash') {
        outcome = await this.mainGit.squashMerge(branch, `${title ?? `Plan ${entry.name}`} (squashed ${branch})`);
      } else {
        if (!wtGit) throw new WorktreeError('not-found', `the rebase strategy needs the worktree of ${branch}, and ${this.shown(info.path)} is gone`);
        where = info.path;
        outcome = await wtGit.rebaseOnto(target);
        if (!outcome.conflicts) outcome = await this.mainGit.mergeBranch(branch, { mode: 'ff-only' });
      }
      if (outcome.conflicts) {
        const finish =
          strategy === 'rebase'
            ? `resolve the conflicts in ${where}, "git add" them and run "git rebase --continue" there`
            : strategy === 'squash'
              ? `resolve the conflicts in ${where}, "git add" them and "git commit" there`
              : `resolve the conflicts in ${where}, "git add" them and "git commit" there (or "git merge --abort")`;
        const hint = `${finish}, then run "planctl worktree complete ${entry.name}" again`;
        await this.markBlocked(info.path, {
          reason: strategy === 'rebase' ? 'rebase-conflict' : 'merge-conflict',
          operation: 'complete',
          strategy,
          where,
          conflictedFiles: outcome.conflicts,
          at: this.now().toISOString(),
          hint,
        });
        return { ...result, outcome: 'conflict', conflicts: { where, files: outcome.conflicts }, hint };
      }
      if (outcome.commit) result.commit = outcome.commit;
      else result.alreadyMerged = true;
    }

    await this.removeWorktree(info);
    result.removed = true;
    if (opts.deleteBranch ?? this.config.worktrees.auto_cleanup) {
      // -D: after a squash the branch is not an ancestor of the target, though its changes are in it.
      await this.git.deleteBranch(branch, { force: true });
      result.branchDeleted = true;
    }
    if (opts.rebaseDependents) {
      for (const dep of dependents) Object.assign(dep, await this.rebaseDependent(dep, oldTip, target));
    }
    return result;
  }

  /** Rebases the plan branch onto its target (the updated main branch), in its worktree. */
  async rebase(name: string): Promise<RebaseResult> {
    const entry = await this.find(name);
    const { info } = entry;
    if (info.prunable) throw new WorktreeError('not-found', `the worktree directory ${this.shown(info.path)} is gone (planctl worktree cleanup forgets it)`);
    const branch = info.branch;
    if (!branch) throw new WorktreeError('invalid-option', `${this.shown(info.path)} has a detached HEAD; check out its plan branch first`);
    const marker = await readMarker(info.path);
    const target = await this.targetFor(entry, marker);
    const wtGit = await GitService.open(info.path);
    const op = await wtGit.operationInProgress();
    if (op) throw new WorktreeError('in-progress', `a ${op} is in progress in ${this.shown(info.path)}: finish or abort it first`);
    const changes = await this.userChanges(info.path, marker);
    if (changes.length > 0) throw new WorktreeError('dirty', `${entry.name} has uncommitted changes (${listFew(changes)}): commit or stash them first`);
    await this.commitOwnStatus(info.path, marker, entry.name);
    const before = (await this.git.resolveCommit(branch))!;
    const ontoSha = await this.git.resolveCommit(target);
    const outcome = await wtGit.rebaseOnto(target);
    if (outcome.conflicts) {
      const hint = `resolve the conflicts in ${info.path}, "git add" them and run "git rebase --continue" there (or "git rebase --abort")`;
      await this.markBlocked(info.path, {
        reason: 'rebase-conflict',
        operation: 'rebase',
        where: info.path,
        conflictedFiles: outcome.conflicts,
        at: this.now().toISOString(),
        hint,
      });
      return { name: entry.name, branch, onto: target, outcome: 'conflict', before, conflicts: outcome.conflicts, hint };
    }
    await fs.rm(path.join(info.path, BLOCKED_FILE), { force: true });
    // The plan's own commits now start at the target's tip; without this a rebased worktree with no
    // commits of its own would look "merged" to cleanup.
    if (marker && ontoSha) await writeJson(path.join(info.path, MARKER_FILE), { ...marker, startSha: ontoSha });
    return { name: entry.name, branch, onto: target, outcome: 'rebased', before, ...(outcome.commit ? { after: outcome.commit } : {}) };
  }

  // ---- cleanup / repair ----------------------------------------------------------------------

  /**
   * Repairs interrupted creates, then removes plan worktrees that are clean and either merged (they
   * have commits of their own, all in the target) or stale with nothing unmerged. Dirty, blocked,
   * locked and unmerged worktrees are kept, each with the reason.
   */
  async cleanup(opts: { dryRun?: boolean } = {}): Promise<CleanupReport> {
    const report: CleanupReport = { repaired: opts.dryRun ? [] : await this.repair(), removed: [], kept: [] };
    for (const w of await this.list()) {
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
      const ignored = await this.ignoredAtRisk(w.path, await readMarker(w.path));
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
        unmerged = await this.unmergedCount(w.branch, w.target);
      } catch (err) {
        keep(err instanceof Error ? err.message : String(err));
        continue;
      }
      if (unmerged > 0) {
        keep(`${unmerged} commit${unmerged === 1 ? '' : 's'} not merged into ${w.target}${w.stale ? ' (stale)' : ''}`);
        continue;
      }
      const marker = await readMarker(w.path);
      const tip = await this.git.resolveCommit(w.branch);
      const hasOwnCommits = marker !== undefined && tip !== undefined && tip !== marker.startSha;
      const reason = hasOwnCommits ? 'merged' : w.stale ? 'stale' : undefined;
      if (!reason) {
        keep(`active: nothing to merge yet, last activity ${w.lastActivityAt ?? 'unknown'}`);
        continue;
      }
      // A merged branch's work is in the target; a stale one is deleted only if it never had a commit of its own.
      const deleteBranch = reason === 'merged' || (marker?.createdBranch === true && tip === marker.startSha);
      if (!opts.dryRun) {
        const entry = (await this.entries()).find((e) => samePath(e.info.path, w.path));
        if (entry) await this.removeWorktree(entry.info);
        if (deleteBranch && (await this.git.branchExists(w.branch))) await this.git.deleteBranch(w.branch, { force: true });
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
  async repair(): Promise<RepairAction[]> {
    const actions: RepairAction[] = [];
    let journals: string[] = [];
    try {
      journals = (await fs.readdir(this.stateDir)).filter((f) => /^create-.+\.json$/.test(f));
    } catch {
      // no state directory: nothing was ever created here
    }
    for (const file of journals) {
      const name = file.slice('create-'.length, -'.json'.length);
      // Only names we could have written; anything else is not ours to act on.
      if (unsafeNameReason(BRANCH_PREFIX + name) !== undefined || name.includes('/')) continue;
      actions.push(...(await this.repairJournal(name, { reportBusy: true })));
    }
    const registered = await this.git.listWorktrees();
    let dirs: string[] = [];
    try {
      dirs = (await fs.readdir(this.worktreesDir)).filter((d) => d.startsWith(DIR_PREFIX));
    } catch {
      // no worktrees directory yet
    }
    for (const d of dirs) {
      const dir = path.join(this.worktreesDir, d);
      if (registered.some((w) => samePath(w.path, dir))) continue;
      if (!existsSync(path.join(dir, MARKER_FILE))) continue;
      const name = d.slice(DIR_PREFIX.length);
      // A create holding the name lock may be between "git worktree add" and its registration.
      const release = await this.tryLockName(name);
      if (!release) continue;
      try {
        // Again under the lock: a create may have finished between the listing above and now.
        if ((await this.git.listWorktrees()).some((w) => samePath(w.path, dir))) continue;
        await fs.rm(dir, { recursive: true, force: true });
        actions.push({ name, action: 'removed-directory', detail: `${this.shown(dir)} carried our marker but git no longer knew it` });
      } finally {
        await release();
      }
    }
    const prunable = (await this.git.listWorktrees()).filter((w) => w.prunable);
    if (prunable.length > 0) {
      await this.git.worktreePrune();
      for (const w of prunable) actions.push({ name: path.basename(w.path), action: 'pruned', detail: `forgot ${w.path} (${w.prunableReason ?? 'directory gone'})` });
    }
    return actions;
  }

  // ---- internals: identification -----------------------------------------------------------

  /** Registered worktrees that are plan worktrees: on a `plan/*` branch or in `<dir>/plan-*`. */
  private async entries(): Promise<Entry[]> {
    return this.entriesOf(await this.git.listWorktrees());
  }

  private entriesOf(worktrees: WorktreeInfo[]): Entry[] {
    const out: Entry[] = [];
    for (const info of worktrees) {
      if (info.isMain || info.bare) continue;
      if (info.branch?.startsWith(BRANCH_PREFIX)) {
        out.push({ name: info.branch.slice(BRANCH_PREFIX.length), info });
        continue;
      }
      const parent = path.dirname(info.path);
      const base = path.basename(info.path);
      if (samePath(parent, this.worktreesDir) && base.startsWith(DIR_PREFIX)) out.push({ name: base.slice(DIR_PREFIX.length), info });
    }
    return out;
  }

  private async find(rawName: string): Promise<Entry> {
    const name = lookupName(rawName);
    const entries = await this.entries();
    const found =
      entries.find((e) => e.info.branch === BRANCH_PREFIX + name) ??
      entries.find((e) => e.name === name) ??
      entries.find((e) => samePath(e.info.path, this.dirFor(name))) ??
      // The directory name, as `ls worktrees/` shows it.
      (name.startsWith(DIR_PREFIX) ? entries.find((e) => e.name === name.slice(DIR_PREFIX.length)) : undefined);
    if (!found) {
      const known = entries.map((e) => e.name);
      throw new WorktreeError('not-found', `no plan worktree named ${JSON.stringify(name)}${known.length ? ` (there are: ${known.join(', ')})` : ' (there are none)'}`);
    }
    return found;
  }

  /** `<worktrees dir>/plan-<name>`, checked to stay inside the worktrees directory. */
  private dirFor(name: string): string {
    const dir = path.resolve(this.worktreesDir, DIR_PREFIX + name);
    if (path.dirname(dir) !== this.worktreesDir) {
      throw new GitError('invalid-name', `invalid plan worktree name ${JSON.stringify(name)}: it would leave the worktrees directory`);
    }
    return dir;
  }

  /** The plan's path relative to the worktree holding it: the same path in the new worktree. */
  private async locatePlan(planAbs: string): Promise<string> {
    const real = await realish(planAbs);
    const roots = (await this.git.listWorktrees()).filter((w) => !w.bare && !w.prunable).map((w) => w.path);
    // The innermost worktree: plan worktrees may live inside the main checkout.
    const root = roots.filter((r) => isInside(r, real)).sort((a, b) => b.length - a.length)[0];
    if (!root) throw new WorktreeError('invalid-plan', `${planAbs} is not inside this repository (${this.repoRoot})`);
    return path.relative(root, real);
  }

  private async targetFor(entry: Entry, marker?: WorktreeMarker): Promise<string> {
    const recorded = marker ?? (entry.info.prunable ? undefined : await readMarker(entry.info.path));
    return this.config.worktrees.main_branch ?? recorded?.target ?? (await this.mainGit.mainBranch());
  }

  /** The cheap part of describing a worktree: what to compare it with (counted in one batch by list()). */
  private async prepare(entry: Entry, tips: Map<string, { sha: string; time: Date }>, defaultTarget: string): Promise<Prepared> {
    const { info } = entry;
    const marker = info.prunable ? undefined : await readMarker(info.path);
    const target = this.config.worktrees.main_branch ?? marker?.target ?? defaultTarget;
    const base = marker?.base ?? target;
    const baseExists = base !== target && (tips.has(base) || (await this.git.resolveCommit(base).catch(() => undefined)) !== undefined);
    const head = info.branch ?? info.head;
    const ref = head && !/^0+$/.test(head) ? head : undefined;
    return { entry, marker, target, base, comparedWith: baseExists ? base : target, ref, ahead: 0, behind: 0 };
  }

  private async describe(p: Prepared, tips: Map<string, { sha: string; time: Date }>): Promise<PlanWorktree> {
    const { entry, marker, target, base, comparedWith, ahead, behind } = p;
    const { info, name } = entry;
    const missing = info.prunable;
    const branch = info.branch;
    const [changes, blocked, statusMtime, diskBytes] = await Promise.all([
      missing ? Promise.resolve([]) : this.userChanges(info.path, marker),
      missing ? Promise.resolve(undefined) : readJson<BlockedRecord>(path.join(info.path, BLOCKED_FILE)),
      missing ? Promise.resolve(undefined) : this.statusMtime(info.path, marker),
      missing ? Promise.resolve(0) : diskUsage(info.path),
    ]);
    const lastCommit = branch ? (tips.get(branch)?.time ?? (await this.git.lastCommitTime(branch))) : undefined;
    const times = [lastCommit, statusMtime, marker ? new Date(marker.createdAt) : undefined].filter(
      (t): t is Date => t !== undefined && !Number.isNaN(t.getTime()),
    );
    const lastActivity = times.length ? new Date(Math.max(...times.map((t) => t.getTime()))) : undefined;
    const stale = lastActivity !== undefined && this.now().getTime() - lastActivity.getTime() > this.config.worktrees.stale_days * DAY_MS;
    return {
      name,
      branch,
      path: info.path,
      ...(marker ? { plan: marker.plan } : {}),
      base,
      target,
      comparedWith,
      ahead,
      behind,
      dirty: changes.length > 0,
      changes: changes.slice(0, 20),
      ...(lastCommit ? { lastCommitAt: lastCommit.toISOString() } : {}),
      ...(lastActivity ? { lastActivityAt: lastActivity.toISOString() } : {}),
      diskBytes,
      stale,
      ...(blocked ? { blocked } : {}),
      missing,
      locked: info.locked,
      managed: marker !== undefined,
      ...(info.head ? { head: info.head } : {}),
    };
  }

  /** One worktree, counted on its own (create's answer). */
  private async describeOne(entry: Entry, defaultTarget: string): Promise<PlanWorktree> {
    const tips = await this.git.branchTips(BRANCH_PREFIX);
    const p = await this.prepare(entry, tips, defaultTarget);
    if (p.ref) Object.assign(p, await this.git.aheadBehind(p.comparedWith, p.ref).catch(() => ({ ahead: 0, behind: 0 })));
    return this.describe(p, tips);
  }

  private async statusMtime(wtPath: string, marker: WorktreeMarker | undefined): Promise<Date | undefined> {
    let statusFile = marker ? path.join(wtPath, marker.statusFile) : undefined;
    if (!statusFile) {
      for (const pointer of POINTER_FILES) {
        const target = (await fs.readFile(path.join(wtPath, pointer), 'utf8').catch(() => '')).trim();
        if (target) {
          statusFile = statusPathFor(path.resolve(wtPath, target), { root: wtPath });
          break;
        }
      }
    }
    if (!statusFile) return undefined;
    return (await fs.stat(statusFile).catch(() => undefined))?.mtime;
  }

  /**
   * Uncommitted changes that are the user's: our context directory and the plan's status file don't
   * count, untracked or not (an agent's `git add -A` can commit the status file once; the orchestrator
   * rewrites it after every task).
   */
  private async userChanges(wtPath: string, marker: WorktreeMarker | undefined): Promise<string[]> {
    const entries = await this.git.statusEntries(wtPath);
    return entries.filter((e) => !isOurs(e.path, marker)).map((e) => e.path);
  }

  /**
   * Commits the plan's status file on the plan branch when it is tracked and has changed, before the
   * branch is merged or rebased: the plan's final state goes along, and git does not refuse to rebase
   * over a modified tracked file. An untracked status file stays untracked (it never reaches a commit).
   */
  private async commitOwnStatus(wtPath: string, marker: WorktreeMarker | undefined, name: string): Promise<string | undefined> {
    if (!marker) return undefined;
    const changed = (await this.git.statusEntries(wtPath)).filter((e) => e.code !== '??' && e.code !== '!!' && e.path === marker.statusFile);
    if (changed.length === 0) return undefined;
    const wtGit = await GitService.open(wtPath);
    const identity = (await wtGit.hasIdentity()) ? undefined : STATUS_COMMIT_IDENTITY;
    return wtGit.commitPaths([marker.statusFile], `Plan ${name}: record the task status`, identity ? { identity } : {});
  }

  /** Git-ignored files a removal would destroy (see ignoredFiles.ts); our context and status files don't count. */
  private async ignoredAtRisk(wtPath: string, marker: WorktreeMarker | undefined): Promise<string[]> {
    return ignoredFilesAtRisk({
      git: this.git,
      wtPath,
      mainRoot: this.repoRoot,
      disposable: this.config.worktrees.disposable,
      copied: Array.isArray(marker?.copiedFiles) ? marker.copiedFiles : [],
      ours: (rel) =>
        rel === `${CONTEXT_DIR}/` ||
        rel.startsWith(`${CONTEXT_DIR}/`) ||
        (marker !== undefined && (rel === marker.statusFile || rel.startsWith(`${marker.statusFile}.`))),
    });
  }

  /** Commits of `branch` not in `target`, counting a squash-merged branch as fully merged. */
  private async unmergedCount(branch: string, target: string): Promise<number> {
    if (!(await this.git.resolveCommit(target))) {
      throw new WorktreeError('not-found', `the target branch ${target} does not exist (set worktrees.main_branch in git-workflow.json)`);
    }
    const { ahead } = await this.git.aheadBehind(target, branch);
    if (ahead === 0) return 0;
    return (await this.git.isSquashMerged(branch, target)) ? 0 : ahead;
  }

  private async assertMainCheckoutReady(target: string): Promise<void> {
    const where = this.repoRoot;
    const op = await this.mainGit.operationInProgress();
    if (op) {
      throw new WorktreeError('main-checkout', `the main checkout (${where}) has a ${op} in progress: finish it (resolve, git add, git commit / git ${op} --continue) or abort it first`);
    }
    const current = await this.mainGit.currentBranch();
    if (current !== target) {
      throw new WorktreeError('main-checkout', `the main checkout (${where}) is on ${current ?? 'a detached HEAD'}, not on ${target}: run "git switch ${target}" there first`);
    }
    // Untracked files do not block a merge unless git would overwrite one, and git refuses that itself.
    if (await this.mainGit.isDirty({ ignoreUntracked: true })) {
      throw new WorktreeError('main-checkout', `the main checkout (${where}) has uncommitted changes: commit or stash them before merging into ${target}`);
    }
  }

  /** Plan worktrees whose branch builds on `entry`'s branch (recorded base, or contains its unmerged tip). */
  private async dependentsOf(entry: Entry, oldTip: string, target: string): Promise<DependentReport[]> {
    const tipMerged = await this.git.isAncestor(oldTip, target);
    const out: DependentReport[] = [];
    for (const other of await this.entries()) {
      if (other === entry || samePath(other.info.path, entry.info.path) || !other.info.branch || other.info.prunable) continue;
      const marker = await readMarker(other.info.path);
      const basedOn = marker?.base === entry.info.branch;
      const contains = !tipMerged && (await this.git.isAncestor(oldTip, other.info.branch));
      if (basedOn || contains) out.push({ name: other.name, branch: other.info.branch, path: other.info.path });
    }
    return out;
  }

  private async rebaseDependent(dep: DependentReport, oldTip: string, target: string): Promise<Partial<DependentReport>> {
    const depGit = await GitService.open(dep.path);
    const marker = await readMarker(dep.path);
    if (await depGit.operationInProgress()) return { rebase: 'skipped', reason: 'an operation is in progress there' };
    const changes = await this.userChanges(dep.path, marker);
    if (changes.length > 0) return { rebase: 'skipped', reason: `uncommitted changes (${listFew(changes)})` };
    await this.commitOwnStatus(dep.path, marker, dep.name);
    // --onto with the old tip: only the dependent's own commits move, even after a squash merge.
    const ontoSha = await this.git.resolveCommit(target);
    const outcome = await depGit.rebaseOnto(target, { upstream: oldTip });
    if (outcome.conflicts) {
      const hint = `resolve the conflicts in ${dep.path}, "git add" them and run "git rebase --continue" there`;
      await this.markBlocked(dep.path, {
        reason: 'rebase-conflict',
        operation: 'rebase',
        where: dep.path,
        conflictedFiles: outcome.conflicts,
        at: this.now().toISOString(),
        hint,
      });
      return { rebase: 'conflict', conflicts: outcome.conflicts, reason: hint };
    }
    if (marker) await writeJson(path.join(dep.path, MARKER_FILE), { ...marker, base: target, ...(ontoSha ? { startSha: ontoSha } : {}) });
    return { rebase: 'rebased' };
  }

  private async markBlocked(wtPath: string, record: BlockedRecord): Promise<void> {
    // A worktree whose directory is gone gets no record: writing it would recreate the directory.
    if (!existsSync(wtPath)) return;
    await writeJson(path.join(wtPath, BLOCKED_FILE), record);
  }

  /** Removes a worktree whose state the caller has checked; our context files go with the directory. */
  private async removeWorktree(info: WorktreeInfo): Promise<void> {
    if (info.prunable) {
      await this.git.worktreePrune();
      return;
    }
    // --force: the caller already decided (our own files, e.g. an untracked status.json, would make git refuse).
    await this.git.worktreeRemove(info.path, { force: true });
    await this.git.worktreePrune();
  }

  // ---- internals: create's pieces ----------------------------------------------------------

  /**
   * Copies the main checkout's files matching `.worktreeinclude` or `copy_files` (gitignore syntax).
   * Only files git ignores are copied (`.env`, local settings): tracked files come with the checkout,
   * possibly in another version, and an untracked but not ignored copy would make the new worktree dirty.
   */
  private async copyIncludedFiles(wtPath: string): Promise<{ copied: string[]; warnings: string[] }> {
    const includeText = await fs.readFile(path.join(this.repoRoot, WORKTREE_INCLUDE_FILE), 'utf8').catch(() => '');
    if (includeText.trim().length === 0 && this.config.worktrees.copy_files.length === 0) return { copied: [], warnings: [] };
    // add() splits a string on newlines only when given it alone, not inside an array.
    const ig = ignore().add(includeText).add(this.config.worktrees.copy_files);
    const source = this.repoRoot;
    const skipPrefix = isInside(source, this.worktreesDir) ? `${relativeToRoot(source, this.worktreesDir)}/` : undefined;
    const list = async (args: string[]) =>
      (await this.git.read(['-C', source, 'ls-files', '-z', '--others', ...args]))
        .split('\0')
        .filter((f) => f.length > 0 && !f.endsWith('/') && !(skipPrefix && f.startsWith(skipPrefix)));
    const [ignored, untracked] = await Promise.all([list(['--ignored', '--exclude-standard']), list(['--exclude-standard'])]);
    const copied: string[] = [];
    const warnings: string[] = [];
    for (const rel of ignored) {
      if (!ig.ignores(rel)) continue;
      const dest = path.join(wtPath, rel);
      if (!isInside(wtPath, dest)) continue;
      if (existsSync(dest)) {
        warnings.push(`did not copy ${rel}: the worktree already has it`);
        continue;
      }
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.cp(path.join(source, rel), dest, { verbatimSymlinks: true, preserveTimestamps: true, errorOnExist: true, force: false });
      copied.push(rel);
    }
    for (const rel of untracked) {
      if (ig.ignores(rel)) warnings.push(`did not copy ${rel}: git does not ignore it, so the copy would count as an uncommitted change (add it to .gitignore, or commit it)`);
    }
    return { copied, warnings };
  }

  /**
   * Adds to the repository's local exclude file (`.git/info/exclude`, shared by all worktrees, never
   * committed): the worktrees directory, so the main checkout's `git status` stays clean, and
   * `.claude-context/`, so an agent's `git add -A` in a worktree does not commit our per-worktree
   * context and merge it into the main branch.
   */
  private async excludeOurFiles(): Promise<void> {
    const lines = [`/${CONTEXT_DIR}/`];
    if (isInside(this.repoRoot, this.worktreesDir)) lines.push(`/${relativeToRoot(this.repoRoot, this.worktreesDir)}/`);
    const exclude = path.join(await this.git.commonDir(), 'info', 'exclude');
    const current = await fs.readFile(exclude, 'utf8').catch(() => '');
    const present = new Set(current.split(/\r?\n/));
    const missing = lines.filter((l) => !present.has(l));
    if (missing.length === 0) return;
    await fs.mkdir(path.dirname(exclude), { recursive: true });
    const prefix = current.length > 0 && !current.endsWith('\n') ? '\n' : '';
    await fs.appendFile(exclude, `${prefix}# plan worktrees (plan-orchestrator)\n${missing.join('\n')}\n`);
  }

  private journalPath(name: string): string {
    return path.join(this.stateDir, `create-${name}.json`);
  }

  private async writeJournal(journal: CreateJournal): Promise<void> {
    await writeJson(this.journalPath(journal.name), journal);
  }

  /**
   * Undoes a create as far as it got: the worktree (registered or a bare directory), then the branch
   * if we created it and it has no commit of its own, then the journal.
   */
  private async undoCreate(journal: CreateJournal): Promise<RepairAction[]> {
    const actions: RepairAction[] = [];
    const { name, branch } = journal;
    // The journal's path, if it is one we could have made (the configured directory may have changed
    // since); anything else in a journal is not trusted with an rm -rf.
    const wtPath = typeof journal.path === 'string' && path.isAbsolute(journal.path) && path.basename(journal.path) === DIR_PREFIX + name ? journal.path : this.dirFor(name);
    const registered = (await this.git.listWorktrees()).find((w) => samePath(w.path, wtPath));
    let removed = false;
    if (registered && !registered.prunable) {
      try {
        await this.git.worktreeRemove(wtPath, { force: true });
        removed = true;
      } catch {
        // A checkout killed half-way can be too broken for git to remove (no .git file yet); the
        // directory goes below and prune forgets the entry.
      }
    }
    if (existsSync(wtPath)) {
      await fs.rm(wtPath, { recursive: true, force: true });
      removed = true;
    }
    if (removed) actions.push({ name, action: 'removed-worktree', detail: `removed the half-made worktree ${this.shown(wtPath)}` });
    if ((await this.git.listWorktrees()).some((w) => w.prunable)) await this.git.worktreePrune();
    if (journal.createdBranch && (await this.git.branchExists(branch))) {
      const holder = (await this.git.listWorktrees()).find((w) => w.branch === branch);
      const tip = await this.git.resolveCommit(branch);
      if (!holder && tip === journal.baseSha) {
        await this.git.deleteBranch(branch, { force: true });
        actions.push({ name, action: 'deleted-branch', detail: `deleted ${branch} (created by the interrupted create, no commits of its own)` });
      } else {
        actions.push({ name, action: 'kept-branch', detail: `kept ${branch}: ${holder ? `checked out at ${holder.path}` : 'it has commits of its own'}` });
      }
    }
    await fs.rm(this.journalPath(name), { force: true });
    return actions;
  }

  /** Undoes the journal of `name` if its create is dead; a live one is left alone (reported when asked). */
  private async repairJournal(name: string, opts: { reportBusy?: boolean } = {}): Promise<RepairAction[]> {
    const journal = await readJson<CreateJournal>(this.journalPath(name));
    if (!journal) return [];
    if (journal.name !== name || journal.version !== 1) {
      await fs.rm(this.journalPath(name), { force: true });
      return [];
    }
    // Our own caller may already hold the lock (create repairs its own name first).
    const alreadyHeld = this.heldNames.has(name);
    const release = alreadyHeld ? async () => undefined : await this.tryLockName(name);
    if (!release) {
      return opts.reportBusy ? [{ name, action: 'skipped-in-progress', detail: `a create of ${name} is running (pid ${journal.pid})` }] : [];
    }
    try {
      // Holding the lock proves the journal's create is over: no create of this name can be running.
      return await this.undoCreate(journal);
    } finally {
      await release();
    }
  }

  private nameLockPaths(name: string): { file: string; lock: string } {
    const file = path.join(this.stateDir, `worktree-${name}`);
    return { file, lock: `${file}.lock` };
  }

  /** The per-name create lock; fails at once with a clear message while another create of that name runs. */
  private async lockName(name: string): Promise<() => Promise<void>> {
    const release = await this.tryLockName(name);
    if (release) return release;
    const journal = await readJson<CreateJournal>(this.journalPath(name));
    throw new WorktreeError(
      'create-in-progress',
      `another "planctl worktree create" of plan ${name} is running${journal ? ` (pid ${journal.pid} on ${journal.host})` : ''}; wait for it to finish`,
    );
  }

  /**
   * Takes the per-name lock, or returns undefined when a live process holds it. A lock left by a
   * process that died (kill -9) on this host is taken over at once instead of after the stale time.
   */
  private async tryLockName(name: string): Promise<(() => Promise<void>) | undefined> {
    if (this.heldNames.has(name)) return undefined;
    await fs.mkdir(this.stateDir, { recursive: true });
    const { file, lock } = this.nameLockPaths(name);
    const options: LockOptions = { ...NAME_LOCK_OPTIONS, lockfilePath: lock, retries: 0, onCompromised: () => undefined };
    const attempt = async () => {
      const release = await lockfile.lock(file, options);
      this.heldNames.add(name);
      return async () => {
        this.heldNames.delete(name);
        await release().catch(() => undefined);
      };
    };
    try {
      return await attempt();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    }
    const journal = await readJson<CreateJournal>(this.journalPath(name));
    if (journal && journal.host === os.hostname() && !processAlive(journal.pid)) {
      await fs.rm(lock, { recursive: true, force: true });
      try {
        return await attempt();
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      }
    }
    return undefined;
  }

  /** Serialises "count the worktrees, then add one" across processes, so max_concurrent holds under races. */
  private async withCountLock<T>(fn: () => Promise<T>): Promise<T> {
    await fs.mkdir(this.stateDir, { recursive: true });
    const file = path.join(this.stateDir, 'worktrees');
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(file, {
        ...NAME_LOCK_OPTIONS,
        lockfilePath: `${file}.lock`,
        // Longer than the stale time, so a lock left by a killed process is eventually taken over.
        retries: { retries: 60, factor: 1.3, minTimeout: 20, maxTimeout: 500, randomize: true },
        onCompromised: () => undefined,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
        throw new WorktreeError('create-in-progress', 'another create is adding a worktree to this repository and did not finish in time; try again');
      }
      throw err;
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  }

  private shown(p: string): string {
    const rel = path.relative(this.repoRoot, p);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : p;
  }
}

// ---- helpers -------------------------------------------------------------------------------

/** A plan worktree name from free text: a branch-safe slug without "/" (it is also a directory name). */
export function slugName(text: string): string {
  const slug = safeRefName(safeRefName(text).replace(/\//g, '-'));
  assertSafeName(BRANCH_PREFIX + slug, 'plan worktree name');
  return slug;
}

/**
 * A name typed to find an existing worktree ("x", "plan/x" or "plan-x"). Unlike creation, lookups
 * refuse unsafe text instead of slugging it: "-rf" must not quietly act on the worktree "rf".
 */
export function lookupName(text: string): string {
  assertSafeName(text, 'plan worktree name');
  const name = text.startsWith(BRANCH_PREFIX) ? text.slice(BRANCH_PREFIX.length) : text;
  assertSafeName(name, 'plan worktree name');
  if (name.includes('/')) throw new GitError('invalid-name', `invalid plan worktree name ${JSON.stringify(text)}: it contains "/"`);
  return name;
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

function samePath(a: string, b: string): boolean {
  const norm = (p: string) => {
    const r = path.resolve(p);
    return process.platform === 'win32' || process.platform === 'darwin' ? r.toLowerCase() : r;
  };
  return norm(a) === norm(b);
}

/** realpath of the longest existing prefix, so paths compare with what git reports before they exist. */
async function realish(p: string): Promise<string> {
  const abs = path.resolve(p);
  const rest: string[] = [];
  for (let cur = abs; ; ) {
    try {
      return path.join(await fs.realpath(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
}

async function readMarker(wtPath: string): Promise<WorktreeMarker | undefined> {
  const marker = await readJson<WorktreeMarker>(path.join(wtPath, MARKER_FILE));
  return marker?.tool === 'plan-orchestrator' && typeof marker.startSha === 'string' ? marker : undefined;
}

async function planTitle(planPath: string): Promise<string | undefined> {
  try {
    const title = analyzePlan(await readPlanFile(planPath)).plan.title?.trim();
    return title || undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function listFew(items: string[]): string {
  return items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 10 ? 0 : 1)} ${units[i]}`;
}

/**
 * Sum of file sizes under `root`, skipping its `.git` (a file in a linked worktree) and counting hard
 * links once. Synchronous fs calls in slices, yielding between them: one promise per lstat through
 * libuv's small thread pool made this walk several times slower, and the slices keep an extension
 * host responsive even on a worktree with a large node_modules.
 */
export async function diskUsage(root: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const dirs = [root];
  let sinceYield = 0;
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (dir === root && e.name === '.git') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        dirs.push(p);
        continue;
      }
      try {
        const st = lstatSync(p);
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += st.size;
      } catch {
        // deleted while we walked
      }
    }
    sinceYield += entries.length + 1;
    if (sinceYield >= 2000) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return total;
}

/** Variables that would point a git run in the post-create command at another repository (set inside hooks). */
const REPO_ENV = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE'];

/** Runs `worktrees.post_create` as an argv array (no shell) in the new worktree. */
async function runPostCreate(argv: string[], cwd: string, planFile: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_WORKTREE: cwd, PLAN_FILE: planFile };
  for (const key of REPO_ENV) delete env[key];
  const [program, ...args] = argv;
  const shown = JSON.stringify(argv);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(program!, args, { cwd, env, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `${program} was not found` : err.message;
      reject(new WorktreeError('post-create-failed', `worktrees.post_create ${shown} could not run: ${why}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const last = tail.trim().split(/\r?\n/).pop() ?? '';
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new WorktreeError('post-create-failed', `worktrees.post_create ${shown} ${how}${last ? `: ${last}` : ''}; the worktree was not created`));
    });
  });
}

function translateIoError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') return new WorktreeError('disk-full', 'the disk is full: free some space (planctl worktree cleanup removes finished worktrees) and try again; nothing was created');
  if (code === 'EDQUOT') return new WorktreeError('disk-full', 'the disk quota is exhausted: free some space and try again; nothing was created');
  return err;
}

