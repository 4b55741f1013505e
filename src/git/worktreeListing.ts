/**
 * Listing plan worktrees as `planctl worktree list` and the Worktrees view show them: for each its
 * branch, base and target, commits ahead and behind, the user's uncommitted changes, blocked state,
 * last activity, staleness and disk use; and the totals and warnings of the whole list. Built to
 * stay fast with many worktrees: branch tips and ahead/behind counts are read in one git run each.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { POINTER_FILES } from '../core/planFile.js';
import { statusPathFor } from '../core/status.js';
import { diskUsage, formatBytes } from './diskUsage.js';
import type { Entry, PlanWorktrees } from './planWorktrees.js';
import { BLOCKED_FILE, readJson, readMarker, type BlockedRecord, type WorktreeMarker } from './worktreeFiles.js';
import { BRANCH_PREFIX } from './worktreeNames.js';
import type { PlanWorktree, WorktreeListReport } from './worktreeResults.js';

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

const DAY_MS = 86_400_000;

/** Every plan worktree, described, sorted by name. */
export async function listPlanWorktrees(worktrees: PlanWorktrees): Promise<PlanWorktree[]> {
  const [registered, tips] = await Promise.all([worktrees.git.listWorktrees(), worktrees.git.branchTips(BRANCH_PREFIX)]);
  const entries = worktrees.entriesOf(registered);
  const defaultTarget = worktrees.config.worktrees.main_branch ?? registered[0]?.branch ?? (await worktrees.mainGit.mainBranch());
  const prepared = await Promise.all(entries.map((e) => prepare(worktrees, e, tips, defaultTarget)));
  // One batched count for all worktrees (a git run per worktree was a third of list()'s time),
  // running while the per-worktree status runs are under way.
  const countable = prepared.map((p, i) => ({ p, i })).filter(({ p }) => p.ref !== undefined);
  const counting = worktrees.git
    .aheadBehindMany(countable.map(({ p }) => [p.comparedWith, p.ref!] as const))
    .catch(() => countable.map(() => ({ ahead: 0, behind: 0 })));
  const described = await Promise.all(prepared.map((p) => describe(worktrees, p, tips)));
  const counts = await counting;
  countable.forEach(({ i }, k) => Object.assign(described[i]!, counts[k]));
  return described.sort((a, b) => a.name.localeCompare(b.name));
}

/** `list()` plus totals and resource warnings, as `planctl worktree list` shows them. */
export async function listReport(worktrees: PlanWorktrees): Promise<WorktreeListReport> {
  const listed = await listPlanWorktrees(worktrees);
  const cfg = worktrees.config.worktrees;
  const totalDiskBytes = listed.reduce((sum, w) => sum + w.diskBytes, 0);
  const warnings = [...worktrees.config.warnings];
  const diskWarning =
    totalDiskBytes > cfg.disk_warn_mb * 1024 * 1024
      ? `plan worktrees use ${formatBytes(totalDiskBytes)}, more than worktrees.disk_warn_mb (${cfg.disk_warn_mb} MB): remove finished ones (planctl worktree cleanup)`
      : undefined;
  if (diskWarning) warnings.push(diskWarning);
  const live = listed.filter((w) => !w.missing).length;
  if (live > cfg.max_concurrent) warnings.push(`${live} plan worktrees exist, more than worktrees.max_concurrent (${cfg.max_concurrent})`);
  for (const w of listed) {
    if (w.stale) warnings.push(`${w.name} is stale: no activity since ${w.lastActivityAt ?? 'unknown'} (worktrees.stale_days is ${cfg.stale_days})`);
    if (w.blocked) warnings.push(`${w.name} is blocked: ${w.blocked.hint}`);
    if (w.missing) warnings.push(`${w.name}: the directory ${w.path} is gone (planctl worktree cleanup forgets it)`);
  }
  return { worktrees: listed, totalDiskBytes, maxConcurrent: cfg.max_concurrent, diskWarnMb: cfg.disk_warn_mb, ...(diskWarning ? { diskWarning } : {}), warnings };
}

/** One worktree, counted on its own (create's answer). */
export async function describeOne(worktrees: PlanWorktrees, entry: Entry, defaultTarget: string): Promise<PlanWorktree> {
  const tips = await worktrees.git.branchTips(BRANCH_PREFIX);
  const p = await prepare(worktrees, entry, tips, defaultTarget);
  if (p.ref) Object.assign(p, await worktrees.git.aheadBehind(p.comparedWith, p.ref).catch(() => ({ ahead: 0, behind: 0 })));
  return describe(worktrees, p, tips);
}

/** The cheap part of describing a worktree: what to compare it with (counted in one batch by list()). */
async function prepare(worktrees: PlanWorktrees, entry: Entry, tips: Map<string, { sha: string; time: Date }>, defaultTarget: string): Promise<Prepared> {
  const { info } = entry;
  const marker = info.prunable ? undefined : await readMarker(info.path);
  const target = worktrees.config.worktrees.main_branch ?? marker?.target ?? defaultTarget;
  const base = marker?.base ?? target;
  const baseExists = base !== target && (tips.has(base) || (await worktrees.git.resolveCommit(base).catch(() => undefined)) !== undefined);
  const head = info.branch ?? info.head;
  const ref = head && !/^0+$/.test(head) ? head : undefined;
  return { entry, marker, target, base, comparedWith: baseExists ? base : target, ref, ahead: 0, behind: 0 };
}

async function describe(worktrees: PlanWorktrees, p: Prepared, tips: Map<string, { sha: string; time: Date }>): Promise<PlanWorktree> {
  const { entry, marker, target, base, comparedWith, ahead, behind } = p;
  const { info, name } = entry;
  const missing = info.prunable;
  const branch = info.branch;
  const [changes, blocked, statusMtime, diskBytes] = await Promise.all([
    missing ? Promise.resolve([]) : worktrees.userChanges(info.path, marker),
    missing ? Promise.resolve(undefined) : readJson<BlockedRecord>(path.join(info.path, BLOCKED_FILE)),
    missing ? Promise.resolve(undefined) : statusFileMtime(info.path, marker),
    missing ? Promise.resolve(0) : diskUsage(info.path),
  ]);
  const lastCommit = branch ? (tips.get(branch)?.time ?? (await worktrees.git.lastCommitTime(branch))) : undefined;
  const times = [lastCommit, statusMtime, marker ? new Date(marker.createdAt) : undefined].filter(
    (t): t is Date => t !== undefined && !Number.isNaN(t.getTime()),
  );
  const lastActivity = times.length ? new Date(Math.max(...times.map((t) => t.getTime()))) : undefined;
  const stale = lastActivity !== undefined && worktrees.now().getTime() - lastActivity.getTime() > worktrees.config.worktrees.stale_days * DAY_MS;
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

async function statusFileMtime(wtPath: string, marker: WorktreeMarker | undefined): Promise<Date | undefined> {
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
