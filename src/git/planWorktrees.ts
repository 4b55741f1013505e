/**
 * The plan worktrees of one repository: where they live, how one is found by name, and the checks
 * and steps that several operations share (whose changes are the user's, what is unmerged, how a
 * worktree is removed). WorktreeManager (worktreeManager.ts) is this plus its operations, which
 * live in their own files and take it as their first argument.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { WorkflowConfig } from '../core/workflowConfig.js';
import { GitError } from './errors.js';
import { FALLBACK_IDENTITY, GitService } from './gitService.js';
import { ignoredFilesAtRisk } from './ignoredFiles.js';
import { BLOCKED_FILE, CONTEXT_DIR, isOurs, readMarker, writeJson, type BlockedRecord, type WorktreeMarker } from './worktreeFiles.js';
import type { WorktreeInfo } from './worktreeInfo.js';
import { BRANCH_PREFIX, DIR_PREFIX, lookupName, samePath } from './worktreeNames.js';
import { WorktreeError } from './worktreeResults.js';

/** A registered worktree that is a plan worktree, with its plan worktree name. */
export interface Entry {
  name: string;
  info: WorktreeInfo;
}

/** Who commits the plan's status file when git has no identity configured (as the orchestrator's own commits). */
const STATUS_COMMIT_IDENTITY = FALLBACK_IDENTITY;

/** At most three items and how many more: enough to recognise them in a one-line message. */
export function listFew(items: string[]): string {
  return items.length <= 3 ? items.join(', ') : `${items.slice(0, 3).join(', ')} and ${items.length - 3} more`;
}

export class PlanWorktrees {
  protected constructor(
    /** The service of the working tree the manager was opened from. */
    readonly git: GitService,
    /** The service of the main worktree (the repository's primary checkout), where merges happen. */
    readonly mainGit: GitService,
    /** The main worktree's root: where git-workflow.json and .worktreeinclude are read. */
    readonly repoRoot: string,
    readonly config: WorkflowConfig,
    /** Absolute (symlinks resolved) directory holding the plan worktrees. */
    readonly worktreesDir: string,
    /** `<common git dir>/plan-orchestrator`: the create journals and locks (worktreeFiles.ts). */
    readonly stateDir: string,
    /** The clock for timestamps and staleness; tests move it. */
    readonly now: () => Date,
  ) {}

  // ---- identification ------------------------------------------------------------------------

  /** Registered worktrees that are plan worktrees: on a `plan/*` branch or in `<dir>/plan-*`. */
  async entries(): Promise<Entry[]> {
    return this.entriesOf(await this.git.listWorktrees());
  }

  entriesOf(worktrees: WorktreeInfo[]): Entry[] {
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

  async find(rawName: string): Promise<Entry> {
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
  dirFor(name: string): string {
    const dir = path.resolve(this.worktreesDir, DIR_PREFIX + name);
    if (path.dirname(dir) !== this.worktreesDir) {
      throw new GitError('invalid-name', `invalid plan worktree name ${JSON.stringify(name)}: it would leave the worktrees directory`);
    }
    return dir;
  }

  async targetFor(entry: Entry, marker?: WorktreeMarker): Promise<string> {
    const recorded = marker ?? (entry.info.prunable ? undefined : await readMarker(entry.info.path));
    return this.config.worktrees.main_branch ?? recorded?.target ?? (await this.mainGit.mainBranch());
  }

  /** `p` relative to the repository root for messages, when it is inside it; else `p` as it is. */
  shown(p: string): string {
    const rel = path.relative(this.repoRoot, p);
    return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : p;
  }

  // ---- checks and steps the operations share ------------------------------------------------

  /**
   * Uncommitted changes that are the user's: our context directory and the plan's status file don't
   * count, untracked or not (an agent's `git add -A` can commit the status file once; the orchestrator
   * rewrites it after every task).
   */
  async userChanges(wtPath: string, marker: WorktreeMarker | undefined): Promise<string[]> {
    const entries = await this.git.statusEntries(wtPath);
    return entries.filter((e) => !isOurs(e.path, marker)).map((e) => e.path);
  }

  /** Git-ignored files a removal would destroy (see ignoredFiles.ts); our context and status files don't count. */
  async ignoredAtRisk(wtPath: string, marker: WorktreeMarker | undefined): Promise<string[]> {
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
  async unmergedCount(branch: string, target: string): Promise<number> {
    if (!(await this.git.resolveCommit(target))) {
      throw new WorktreeError('not-found', `the target branch ${target} does not exist (set worktrees.main_branch in git-workflow.json)`);
    }
    const { ahead } = await this.git.aheadBehind(target, branch);
    if (ahead === 0) return 0;
    return (await this.git.isSquashMerged(branch, target)) ? 0 : ahead;
  }

  /**
   * Commits the plan's status file on the plan branch when it is tracked and has changed, before the
   * branch is merged or rebased: the plan's final state goes along, and git does not refuse to rebase
   * over a modified tracked file. An untracked status file stays untracked (it never reaches a commit).
   */
  async commitOwnStatus(wtPath: string, marker: WorktreeMarker | undefined, name: string): Promise<string | undefined> {
    if (!marker) return undefined;
    const changed = (await this.git.statusEntries(wtPath)).filter((e) => e.code !== '??' && e.code !== '!!' && e.path === marker.statusFile);
    if (changed.length === 0) return undefined;
    const wtGit = await GitService.open(wtPath);
    const identity = (await wtGit.hasIdentity()) ? undefined : STATUS_COMMIT_IDENTITY;
    return wtGit.commitPaths([marker.statusFile], `Plan ${name}: record the task status`, identity ? { identity } : {});
  }

  async markBlocked(wtPath: string, record: BlockedRecord): Promise<void> {
    // A worktree whose directory is gone gets no record: writing it would recreate the directory.
    if (!existsSync(wtPath)) return;
    await writeJson(path.join(wtPath, BLOCKED_FILE), record);
  }

  /** Removes a worktree whose state the caller has checked; our context files go with the directory. */
  async removeWorktree(info: WorktreeInfo): Promise<void> {
    if (info.prunable) {
      await this.git.worktreePrune();
      return;
    }
    // --force: the caller already decided (our own files, e.g. an untracked status.json, would make git refuse).
    await this.git.worktreeRemove(info.path, { force: true });
    await this.git.worktreePrune();
  }
}
