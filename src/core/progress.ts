/** Progress of a plan per phase, as `planctl status`, the tree and the status bar show it. */
import type { Plan, Task } from './model.js';
import type { PlanGraph } from './graph.js';
import { nodeStates, type NodeState, type StatusLookup } from './schedule.js';

export interface Counts {
  total: number;
  done: number;
  running: number;
  failed: number;
  skipped: number;
}

export interface PhaseProgress extends Counts {
  id: string;
  title: string;
}

export interface PlanProgress extends Counts {
  title: string;
  phases: PhaseProgress[];
  percent: number;
}

function empty(): Counts {
  return { total: 0, done: 0, running: 0, failed: 0, skipped: 0 };
}

/** Counts tasks and VERIFY items; group tasks are counted like any other task. */
export function planProgress(plan: Plan, graph: PlanGraph, statusOf: StatusLookup): PlanProgress {
  const state = nodeStates(plan, graph, statusOf);
  const all = empty();
  const phases: PhaseProgress[] = plan.phases.map((p) => ({ id: p.id, title: p.title, ...empty() }));
  for (const t of plan.tasks) {
    const c = phases[t.phaseIndex]!;
    for (const counts of [c, all]) {
      counts.total++;
      const s = state[t.index];
      if (s === 'done') counts.done++;
      else if (s === 'running') counts.running++;
      else if (s === 'failed') counts.failed++;
      if (statusOf(t.id) === 'skipped') counts.skipped++;
    }
  }
  return { title: plan.title, phases, ...all, percent: all.total === 0 ? 0 : Math.round((100 * all.done) / all.total) };
}

/** Done and total of one kind of item. */
export interface Tally {
  done: number;
  total: number;
}

/**
 * What the extension shows everywhere a plan's progress appears (tree, tooltips, status bar,
 * dashboard, Orchestrators view), so that no two places disagree:
 * - `tasks`: the work items, each counted once: a group task (Kiro's `1.` with `1.1`, `1.2`) is done
 *   when its children are, so only its children count; optional tasks (Kiro `- [ ]*`) are left out;
 * - `checks`: the VERIFY items, shown apart, since they are checks of the work rather than work;
 * - `percent`: of the tasks (of the checks when a plan has nothing else).
 * Skipped items count as done, as the tree's checkbox shows them.
 */
export interface TaskCounts {
  tasks: Tally;
  checks: Tally;
  running: number;
  failed: number;
  /** Optional tasks, not in `tasks`. */
  optional: number;
  percent: number;
}

export function taskCounts(
  plan: Plan,
  graph: PlanGraph,
  statusOf: StatusLookup,
  opts: { states?: readonly NodeState[]; only?: (t: Task) => boolean } = {},
): TaskCounts {
  const state = opts.states ?? nodeStates(plan, graph, statusOf);
  const out: TaskCounts = { tasks: { done: 0, total: 0 }, checks: { done: 0, total: 0 }, running: 0, failed: 0, optional: 0, percent: 0 };
  const seen = new Set<string>();
  for (const t of plan.tasks) {
    // A duplicated ID is one task for the graph and the status file: count it once.
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    if (t.childIds.length > 0 || (opts.only && !opts.only(t))) continue;
    if (t.optional) {
      out.optional++;
      continue;
    }
    const tally = t.kind === 'verify' ? out.checks : out.tasks;
    tally.total++;
    const s = state[t.index];
    if (s === 'done') tally.done++;
    else if (s === 'running') out.running++;
    else if (s === 'failed') out.failed++;
  }
  const basis = out.tasks.total > 0 ? out.tasks : out.checks;
  out.percent = basis.total === 0 ? 0 : Math.round((100 * basis.done) / basis.total);
  return out;
}

/** `5/8 tasks · 2/3 checks` (checks only when the plan has any). */
export function formatCounts(c: Pick<TaskCounts, 'tasks' | 'checks'>): string {
  const tasks = `${c.tasks.done}/${c.tasks.total} task${c.tasks.total === 1 ? '' : 's'}`;
  return c.checks.total > 0 ? `${tasks} · ${c.checks.done}/${c.checks.total} check${c.checks.total === 1 ? '' : 's'}` : tasks;
}

/** Numbers every progress report has: per plan (the API's, the dashboard's) and for several plans together. */
export interface ProgressSum {
  done: number;
  total: number;
  running: number;
  failed: number;
  percent: number;
}

/** Several plans as one: the sums, and the percent of all their items (not an average of the plans' percents). */
export function sumProgress(items: ReadonlyArray<Omit<ProgressSum, 'percent'>>): ProgressSum {
  const sum = (f: (p: Omit<ProgressSum, 'percent'>) => number): number => items.reduce((n, p) => n + f(p), 0);
  const done = sum((p) => p.done);
  const total = sum((p) => p.total);
  return { done, total, running: sum((p) => p.running), failed: sum((p) => p.failed), percent: total ? Math.round((100 * done) / total) : 0 };
}
