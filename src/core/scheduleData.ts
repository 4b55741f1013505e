/**
 * What the Show Schedule Gantt chart draws, computed from a simulation so that the webview only
 * lays out pixels: rows per worker, bars with their labels and tooltips, the time axis and the
 * summary. Pure (no vscode), so it is unit-tested like the rest of the core.
 */
import type { Plan, Task } from './model.js';
import type { PlanGraph } from './graph.js';
import { simulate, simulateBatched, type Simulation } from './schedule.js';
import { PlanError } from './source.js';

export const MIN_WORKERS = 1;
export const MAX_WORKERS = 32;

export interface ScheduleBar {
  id: string;
  title: string;
  kind: Task['kind'];
  /** Minutes from the start of the plan. */
  start: number;
  end: number;
  /** A zero-length item (VERIFY check without estimate, group task): drawn as a diamond. */
  milestone: boolean;
  critical: boolean;
  /** Zero-length items released at the same moment are stacked in lanes so each stays clickable. */
  lane: number;
  /** 1-based line of the task in the plan, for reveal. */
  line: number;
  phase: string;
  tooltip: string;
}

export interface ScheduleRow {
  label: string;
  /** 0-based worker, or null for the row of zero-length items. */
  worker: number | null;
  /** Lanes the row needs (more than 1 only for the milestone row). */
  lanes: number;
  bars: ScheduleBar[];
}

export interface AxisTick {
  minutes: number;
  label: string;
}

export interface ScheduleSummary {
  workers: number;
  makespan: number;
  lowerBound: number;
  /** Time on one worker: the sum of all estimates. */
  totalWork: number;
  /** totalWork / makespan: how much faster than one worker. */
  speedup: number;
  batchedMakespan: number | null;
  criticalPath: string[];
  criticalPathMinutes: number;
  /** Busy time of all workers over workers × makespan, 0..1. */
  utilisation: number;
  /** Ready-made phrases, so that the webview and tests show the same text. */
  text: {
    makespan: string;
    lowerBound: string;
    totalWork: string;
    speedup: string;
    batched: string | null;
    criticalPath: string;
  };
}

export interface ScheduleData {
  title: string;
  workers: number;
  /** Set when there is nothing to draw (dependency cycle, unreadable plan); the rest is empty then. */
  error?: string;
  rows: ScheduleRow[];
  /** The time domain of the chart in minutes: the makespan (at least 1, so nothing divides by 0). */
  domain: number;
  ticks: AxisTick[];
  summary?: ScheduleSummary;
}

/** `2h 30m`, `45m`, `0m`: the CLI's way of writing durations. */
export function formatMinutes(m: number): string {
  const rounded = Math.round(m);
  const h = Math.floor(rounded / 60);
  const rest = rounded - h * 60;
  return h > 0 ? `${h}h${rest ? ` ${rest}m` : ''}` : `${rest}m`;
}

/** Axis labels are in hours; quarter hours are the finest step a plan's estimates usually have. */
function formatHours(m: number): string {
  const h = m / 60;
  return `${Number.isInteger(h) ? h : Number(h.toFixed(2))}h`;
}

const TICK_STEPS_HOURS = [0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 24, 48, 72, 168, 336, 720];

/**
 * Evenly spaced ticks in "nice" hour steps from 0, at most about `maxTicks` of them, none past the
 * domain: the chart ends at the makespan rather than wasting up to a step of width on empty time.
 */
export function axisTicks(domainMinutes: number, maxTicks = 10): AxisTick[] {
  const domain = Math.max(domainMinutes, 1);
  let step = TICK_STEPS_HOURS[TICK_STEPS_HOURS.length - 1]! * 60;
  for (const h of TICK_STEPS_HOURS) {
    if (domain / (h * 60) <= maxTicks) {
      step = h * 60;
      break;
    }
  }
  // A plan of months keeps going in 720h steps: never more than maxTicks × a few, whatever the size.
  while (domain / step > maxTicks * 2) step *= 2;
  const ticks: AxisTick[] = [];
  const count = Math.floor(domain / step + 1e-9);
  for (let i = 0; i <= count; i++) ticks.push({ minutes: i * step, label: formatHours(i * step) });
  return ticks;
}

export function clampWorkers(n: unknown): number {
  const v = typeof n === 'number' ? n : Number(n);
  if (!Number.isFinite(v)) return MIN_WORKERS;
  return Math.min(MAX_WORKERS, Math.max(MIN_WORKERS, Math.floor(v)));
}

/** Rows and bars of a simulation; `batched` (the seeds' pattern on the same plan) only adds its makespan. */
export function buildScheduleData(plan: Plan, sim: Simulation, batched?: Simulation): ScheduleData {
  const byId = new Map<string, Task>();
  for (const t of plan.tasks) if (!byId.has(t.id)) byId.set(t.id, t);
  const critical = new Set(sim.criticalPath);
  const rows: ScheduleRow[] = Array.from({ length: sim.workers }, (_, w) => ({ label: `Worker ${w + 1}`, worker: w, lanes: 1, bars: [] }));
  const milestones: ScheduleRow = { label: 'Checks', worker: null, lanes: 1, bars: [] };
  const lanesAt = new Map<number, number>();
  let busy = 0;
  for (const s of sim.schedule) {
    const task = byId.get(s.id);
    const milestone = s.worker === null || s.end === s.start;
    const isCritical = !milestone && critical.has(s.id);
    const phase = task ? (plan.phases[task.phaseIndex]?.id ?? '') : '';
    const lane = milestone ? (lanesAt.get(s.start) ?? 0) : 0;
    if (milestone) lanesAt.set(s.start, lane + 1);
    // The plan gives no estimate: the bar is as long as graph.ts's default, which the tooltip says.
    const defaultEstimate = !milestone && task !== undefined && task.estimateMinutes === undefined;
    const bar: ScheduleBar = {
      id: s.id,
      title: task?.title ?? '',
      kind: task?.kind ?? 'task',
      start: s.start,
      end: s.end,
      milestone,
      critical: isCritical,
      lane,
      line: task?.range.start.line ?? 0,
      phase,
      tooltip: tooltipFor(s.id, task, s.start, s.end, milestone, isCritical, phase, s.worker, defaultEstimate),
    };
    if (s.worker === null || !rows[s.worker]) milestones.bars.push(bar);
    else {
      rows[s.worker]!.bars.push(bar);
      busy += s.end - s.start;
    }
  }
  milestones.lanes = Math.max(1, ...lanesAt.values());
  if (milestones.bars.length > 0) rows.push(milestones);
  const domain = Math.max(sim.makespan, 1);
  const ticks = axisTicks(domain);
  const speedup = sim.makespan > 0 ? sim.totalWork / sim.makespan : 1;
  const batchedMakespan = batched ? batched.makespan : null;
  return {
    title: plan.title,
    workers: sim.workers,
    rows,
    domain,
    ticks,
    summary: {
      workers: sim.workers,
      makespan: sim.makespan,
      lowerBound: sim.lowerBound,
      totalWork: sim.totalWork,
      speedup,
      batchedMakespan,
      criticalPath: sim.criticalPath,
      criticalPathMinutes: sim.criticalPathMinutes,
      utilisation: sim.makespan > 0 ? busy / (sim.workers * sim.makespan) : 0,
      text: {
        makespan: formatMinutes(sim.makespan),
        lowerBound: formatMinutes(sim.lowerBound),
        totalWork: formatMinutes(sim.totalWork),
        speedup: `×${speedup.toFixed(2)}`,
        batched: batchedMakespan === null ? null : formatMinutes(batchedMakespan),
        criticalPath: sim.criticalPath.length > 0 ? `${sim.criticalPath.join(' → ')} (${formatMinutes(sim.criticalPathMinutes)})` : 'none',
      },
    },
  };
}

function tooltipFor(id: string, task: Task | undefined, start: number, end: number, milestone: boolean, critical: boolean, phase: string, worker: number | null, defaultEstimate: boolean): string {
  const head = task?.title ? `${id} ${task.title}` : id;
  // A length the plan did not give is said to be a guess, so nobody plans on it.
  const when = milestone ? `at ${formatMinutes(start)}` : `${formatMinutes(start)} → ${formatMinutes(end)} (${formatMinutes(end - start)}${defaultEstimate ? ', default estimate' : ''})`;
  const where = [phase ? `Phase ${phase}` : '', worker === null ? '' : `Worker ${worker + 1}`].filter(Boolean).join(' · ');
  const extra = [critical ? 'on the critical path' : '', milestone && task?.kind === 'verify' ? 'VERIFY check, no worker' : '', milestone && task && task.childIds.length > 0 ? 'group: done with its children' : '']
    .filter(Boolean)
    .join(' · ');
  return [head, when, where, extra].filter(Boolean).join('\n');
}

/** An empty chart that only says why. */
export function scheduleError(title: string, workers: number, message: string): ScheduleData {
  return { title, workers, error: message, rows: [], domain: 1, ticks: axisTicks(1) };
}

/**
 * Simulates the plan on `workers` workers (clamped to 1..32) and with the batched pattern, and
 * returns what the chart draws. A dependency cycle becomes `error` instead of an exception.
 */
export function computeScheduleData(plan: Plan, graph: PlanGraph, workers: number): ScheduleData {
  const w = clampWorkers(workers);
  try {
    const sim = simulate(plan, graph, { workers: w });
    const batched = simulateBatched(plan, graph, { workers: w });
    return buildScheduleData(plan, sim, batched);
  } catch (e) {
    if (e instanceof PlanError) return scheduleError(plan.title, w, e.message);
    throw e;
  }
}
