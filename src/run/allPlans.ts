/**
 * Every plan of every worktree of the repository (`planctl status --all-plans`, the API's plan list
 * and its watcher). A worktree's plans are its active plan (pointer file) and every plan that has a
 * status file in it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GitService } from '../git/gitService.js';
import { DEFAULT_PLAN_GLOBS, POINTER_FILES } from '../core/planFile.js';
import { matcher } from '../core/globs.js';
import { openPlan, type AnalysisCache } from '../core/session.js';
import { planProgress } from '../core/progress.js';
import type { Analysis } from '../core/analyzer.js';
import type { StatusLookup } from '../core/schedule.js';
import { findRepoRoot, readStatusFile } from '../core/status.js';

export interface PlanSummary {
  plan: string;
  title: string;
  worktree: string;
  branch?: string;
  active: boolean;
  total: number;
  done: number;
  running: number;
  failed: number;
  percent: number;
  /** How many error and warning diagnostics the plan has (`planctl validate`); absent when it cannot be read. */
  diagnostics?: { errors: number; warnings: number };
  error?: string;
}

/** Where a plan is: its file (absolute), the worktree it belongs to, and whether it is that worktree's active plan. */
export interface PlanLocation {
  file: string;
  /** The plan path relative to its worktree, with `/`. */
  plan: string;
  worktree: string;
  branch?: string;
  active: boolean;
}

export interface WorktreeLocation {
  path: string;
  branch?: string;
}

/** The repository's live worktrees (main checkout first); outside git, the folder itself. */
export async function listWorktrees(cwd: string): Promise<WorktreeLocation[]> {
  try {
    const git = await GitService.open(cwd);
    return (await git.listWorktrees()).filter((w) => !w.bare && !w.prunable).map((w) => ({ path: w.path, ...(w.branch ? { branch: w.branch } : {}) }));
  } catch (e) {
    if ((e as { code?: string }).code === 'not-a-repository') return [{ path: findRepoRoot(cwd) }];
    throw e;
  }
}

/** The plans of one worktree: the active plan first, then those with a status file. */
export async function plansIn(root: string): Promise<Array<{ file: string; active: boolean }>> {
  const found = new Map<string, boolean>();
  for (const pointer of POINTER_FILES) {
    try {
      const target = (await fs.readFile(path.join(root, pointer), 'utf8')).trim();
      if (target) {
        found.set(path.resolve(root, target), true);
        break;
      }
    } catch {
      // no pointer of this kind
    }
  }
  const outputs = path.join(root, 'docs', 'plan-outputs');
  let dirs: string[] = [];
  try {
    dirs = await fs.readdir(outputs);
  } catch {
    // no status files yet
  }
  for (const dir of dirs.sort()) {
    try {
      const status = await readStatusFile(path.join(outputs, dir, 'status.json'));
      if (status?.plan) {
        const file = path.resolve(root, status.plan);
        if (!found.has(file)) found.set(file, false);
      }
    } catch {
      // a corrupt status file is reported when that plan is opened, not here
    }
  }
  return [...found].map(([file, active]) => ({ file, active }));
}

/** Where every plan of every worktree is, without reading the plans themselves. */
export async function locateAllPlans(cwd: string, worktrees?: readonly WorktreeLocation[]): Promise<PlanLocation[]> {
  const out: PlanLocation[] = [];
  for (const wt of worktrees ?? (await listWorktrees(cwd))) {
    for (const { file, active } of await plansIn(wt.path)) {
      out.push({ file, plan: path.relative(wt.path, file).split(path.sep).join('/'), worktree: wt.path, ...(wt.branch ? { branch: wt.branch } : {}), active });
    }
  }
  return out;
}

/** A plan's progress; a plan that cannot be read is reported with `error`, not thrown. */
export async function summarizePlan(loc: PlanLocation, cache?: AnalysisCache): Promise<PlanSummary> {
  try {
    const s = await openPlan(loc.file, loc.worktree, cache);
    return summarizeAnalysis(loc, s.analysis, s.statusOf);
  } catch (e) {
    return { plan: loc.plan, worktree: loc.worktree, branch: loc.branch, active: loc.active, title: '', total: 0, done: 0, running: 0, failed: 0, percent: 0, error: e instanceof Error ? e.message : String(e) };
  }
}

/** The summary of a plan already read (the mock API holds its plans in memory). */
export function summarizeAnalysis(loc: PlanLocation, analysis: Analysis, statusOf: StatusLookup): PlanSummary {
  const p = planProgress(analysis.plan, analysis.graph, statusOf);
  const count = (severity: string): number => analysis.diagnostics.filter((d) => d.severity === severity).length;
  const diagnostics = { errors: count('error'), warnings: count('warning') };
  return { plan: loc.plan, worktree: loc.worktree, branch: loc.branch, active: loc.active, title: p.title, total: p.total, done: p.done, running: p.running, failed: p.failed, percent: p.percent, diagnostics };
}

export async function collectAllPlans(cwd: string): Promise<PlanSummary[]> {
  const out: PlanSummary[] = [];
  for (const loc of await locateAllPlans(cwd)) out.push(await summarizePlan(loc));
  return out;
}

/**
 * The plan files of a checkout that match the plan globs, whether or not they have run yet
 * (`planctl top`'s "start a plan"): tracked and untracked files, git-ignored ones left out, relative
 * paths with `/`, sorted. Outside git there is no file list to ask: none.
 */
export async function planFilesIn(root: string, globs: readonly string[] = DEFAULT_PLAN_GLOBS): Promise<string[]> {
  let git: GitService;
  try {
    git = await GitService.open(root);
  } catch (e) {
    if ((e as { code?: string }).code === 'not-a-repository') return [];
    throw e;
  }
  const files = (await git.read(['ls-files', '-z', '--cached', '--others', '--exclude-standard'])).split('\0');
  const matches = globs.map((g) => matcher(g));
  return [...new Set(files.filter((f) => f && matches.some((m) => m(f))))].sort();
}
