/** Progress of a plan per phase, as `planctl status`, the tree and the status bar show it. */
import type { Plan } from './model.js';
import type { PlanGraph } from './graph.js';
import { nodeStates, type StatusLookup } from './schedule.js';

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
