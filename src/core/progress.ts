/** Progress of a plan per phase, as `planctl status`, the tree and the status bar show it. */
import type { Plan, Task } from './model.js';
import type { PlanGraph } from './graph.js';
import { nodeStates, type NodeState, type StatusLookup } from './schedule.js';

export interface Counts {
  /** Work items (of the checks when there are no others), counted as `TaskCounts.tasks` counts them. */
  total: number;
  done: number;
  running: number;
  failed: number;
  skipped: number;
  /** The VERIFY items, apart. */
  checks: Tally;
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

/**
 * Progress of the plan and of each phase for `planctl status`, the API and the terminal views: the
 * same counting as the extension's (`taskCounts` below), so that no two views disagree.
 */
export function planProgress(plan: Plan, graph: PlanGraph, statusOf: StatusLookup): PlanProgress {
  const states = nodeStates(plan, graph, statusOf);
  const counts = (c: TaskCounts): Counts => {
    const basis = c.tasks.total > 0 ? c.tasks : c.checks;
    return { total: basis.total, done: basis.done, running: c.running, failed: c.failed, skipped: c.skipped, checks: c.checks };
  };
  const [all] = tallies(plan, states, statusOf, 1, () => 0);
  const phases = tallies(plan, states, statusOf, plan.phases.length, (t) => t.phaseIndex);
  return {
    title: plan.title,
    phases: plan.phases.map((p, i) => ({ id: p.id, title: p.title, ...counts(phases[i]!) })),
    ...counts(all!),
    percent: all!.percent,
  };
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
  /** Counted items recorded as skipped (they are also in `done`). */
  skipped: number;
  percent: number;
}

export function taskCounts(
  plan: Plan,
  graph: PlanGraph,
  statusOf: StatusLookup,
  opts: { states?: readonly NodeState[]; only?: (t: Task) => boolean } = {},
): TaskCounts {
  const only = opts.only;
  return tallies(plan, opts.states ?? nodeStates(plan, graph, statusOf), statusOf, 1, only ? (t) => (only(t) ? 0 : undefined) : () => 0)[0]!;
}

/** TaskCounts of `buckets` groups of items in one pass (`bucketOf` undefined: not counted). */
function tallies(plan: Plan, state: readonly NodeState[], statusOf: StatusLookup, buckets: number, bucketOf: (t: Task) => number | undefined): TaskCounts[] {
  const out: TaskCounts[] = Array.from({ length: buckets }, () => ({ tasks: { done: 0, total: 0 }, checks: { done: 0, total: 0 }, running: 0, failed: 0, optional: 0, skipped: 0, percent: 0 }));
  const seen = new Set<string>();
  for (const t of plan.tasks) {
    // A duplicated ID is one task for the graph and the status file: count it once.
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    const b = bucketOf(t);
    if (t.childIds.length > 0 || b === undefined) continue;
    const c = out[b]!;
    if (t.optional) {
      c.optional++;
      continue;
    }
    const tally = t.kind === 'verify' ? c.checks : c.tasks;
    tally.total++;
    const s = state[t.index];
    if (s === 'done') tally.done++;
    else if (s === 'running') c.running++;
    else if (s === 'failed') c.failed++;
    if (statusOf(t.id) === 'skipped') c.skipped++;
  }
  for (const c of out) {
    const basis = c.tasks.total > 0 ? c.tasks : c.checks;
    c.percent = basis.total === 0 ? 0 : Math.round((100 * basis.done) / basis.total);
  }
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
