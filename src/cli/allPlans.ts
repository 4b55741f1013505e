/**
 * `planctl status --all-plans`: every plan of every worktree of the repository. A worktree's plans
 * are its active plan (pointer file) and every plan that has a status file in it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GitService } from '../git/gitService.js';
import { POINTER_FILES } from '../core/planFile.js';
import { openPlan } from '../core/session.js';
import { planProgress } from '../core/progress.js';
import { readStatusFile } from '../core/status.js';
import { findRepoRoot } from '../core/status.js';

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
  error?: string;
}

async function worktrees(cwd: string): Promise<Array<{ path: string; branch?: string }>> {
  try {
    const git = await GitService.open(cwd);
    return (await git.listWorktrees()).filter((w) => !w.bare && !w.prunable).map((w) => ({ path: w.path, branch: w.branch }));
  } catch (e) {
    if ((e as { code?: string }).code === 'not-a-repository') return [{ path: findRepoRoot(cwd) }];
    throw e;
  }
}

async function plansIn(root: string): Promise<Array<{ file: string; active: boolean }>> {
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
  for (const dir of dirs) {
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

export async function collectAllPlans(cwd: string): Promise<PlanSummary[]> {
  const out: PlanSummary[] = [];
  for (const wt of await worktrees(cwd)) {
    for (const { file, active } of await plansIn(wt.path)) {
      const base = { plan: path.relative(wt.path, file).split(path.sep).join('/'), worktree: wt.path, branch: wt.branch, active };
      try {
        const s = await openPlan(file, wt.path);
        const p = planProgress(s.analysis.plan, s.analysis.graph, s.statusOf);
        out.push({ ...base, title: p.title, total: p.total, done: p.done, running: p.running, failed: p.failed, percent: p.percent });
      } catch (e) {
        out.push({ ...base, title: '', total: 0, done: 0, running: 0, failed: 0, percent: 0, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  return out;
}
