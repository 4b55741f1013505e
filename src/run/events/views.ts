/**
 * Plan data as the API shows it, built from core results: one place for the status endpoint, the
 * plan list and the WebSocket snapshot, so that all three say the same thing about a task.
 */
import path from 'node:path';
import type { Analysis } from '../../core/analyzer.js';
import { planName } from '../../core/planFile.js';
import type { PlanLocation } from '../allPlans.js';
import { planProgress } from '../../core/progress.js';
import { nodeStates } from '../../core/schedule.js';
import { statusLookup } from '../../core/session.js';
import type { StatusFile } from '../../core/status.js';
import { displayState } from '../../core/taskStates.js';
import type { RegistryEntry } from '../registry.js';
import type { KnownPlan, OrchestratorInfo, PlanStatus, Progress, TaskRow } from './messages.js';

/** Unique API names: the file name, then `@<worktree folder>` for names that several worktrees share. */
export function namePlans(locations: readonly PlanLocation[]): KnownPlan[] {
  const counts = new Map<string, number>();
  for (const l of locations) counts.set(planName(l.file), (counts.get(planName(l.file)) ?? 0) + 1);
  const used = new Set<string>();
  return locations.map((l) => {
    const base = planName(l.file);
    let name = counts.get(base)! > 1 ? `${base}@${path.basename(l.worktree)}` : base;
    // Two worktree folders of the same name in different places: still one name per plan.
    for (let i = 2; used.has(name); i++) name = `${base}@${path.basename(l.worktree)}~${i}`;
    used.add(name);
    return { ...l, name };
  });
}

export function progressOf(analysis: Analysis, status: StatusFile): Progress {
  const p = planProgress(analysis.plan, analysis.graph, statusLookup(status));
  return { total: p.total, done: p.done, running: p.running, failed: p.failed, percent: p.percent };
}

export const NO_PROGRESS: Progress = { total: 0, done: 0, running: 0, failed: 0, percent: 0 };

/** Every task and VERIFY item in plan order, with its recorded status and its display state. */
export function taskRows(analysis: Analysis, status: StatusFile): TaskRow[] {
  const { plan, graph } = analysis;
  const statusOf = statusLookup(status);
  const states = nodeStates(plan, graph, statusOf);
  const rows: TaskRow[] = [];
  const seen = new Set<string>();
  for (const t of plan.tasks) {
    // Duplicate IDs: the first one wins, as in the graph.
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    const rec = status.tasks[t.id];
    const { state, waitsFor } = displayState(plan, graph, states, statusOf, t);
    rows.push({
      id: t.id,
      title: t.title,
      kind: t.kind,
      phase: plan.phases[t.phaseIndex]?.id ?? '',
      status: rec?.status ?? 'pending',
      state,
      waitsFor,
      dependsOn: graph.preds[t.index]!.filter((p) => p < graph.taskCount).map((p) => plan.tasks[p]!.id),
      attempts: rec?.attempts ?? 0,
      ...(rec?.lastError ? { lastError: rec.lastError } : {}),
      ...(rec?.startedAt ? { startedAt: rec.startedAt } : {}),
      ...(rec?.completedAt ? { completedAt: rec.completedAt } : {}),
      ...(rec?.updatedAt ? { updatedAt: rec.updatedAt } : {}),
      ...(rec?.run ? { agent: rec.run } : {}),
    });
  }
  return rows;
}

/** GET /api/plans/{name}/status: the plan, its progress per phase and every task row. */
export function planStatusView(plan: KnownPlan, analysis: Analysis, status: StatusFile, statusFile: string, orchestrator: OrchestratorInfo | null): PlanStatus {
  return {
    name: plan.name,
    plan: plan.plan,
    worktree: plan.worktree,
    ...(plan.branch ? { branch: plan.branch } : {}),
    active: plan.active,
    statusFile,
    version: status.version,
    updatedAt: status.updatedAt,
    ...planProgress(analysis.plan, analysis.graph, statusLookup(status)),
    tasks: taskRows(analysis, status),
    orchestrator,
  };
}

export function orchestratorInfo(entry: RegistryEntry & { name: string; alive: boolean }, plan: KnownPlan | undefined): OrchestratorInfo {
  return {
    name: entry.name,
    plan: plan?.name ?? null,
    planFile: entry.plan,
    worktree: entry.worktree,
    pid: entry.pid,
    host: entry.host,
    startedAt: entry.startedAt,
    alive: entry.alive,
    tasks: (entry.children ?? []).map((c) => c.id),
  };
}
