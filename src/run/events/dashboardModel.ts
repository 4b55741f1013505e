/**
 * What the dashboard shows, built from what the event stream knows of each plan (its analysis, its
 * status file, its orchestrator): one card per active plan with its counts, running and failed tasks
 * and its activity feed, and the totals over all cards. The VS Code webview and the browser page of
 * `planctl serve` draw the same DashboardData with the same media/dashboard.js, so both hosts build
 * it here.
 *
 * Pure: no I/O, no `vscode`.
 */
import type { Analysis } from '../../core/analyzer.js';
import type { Plan } from '../../core/model.js';
import { taskCounts, type Tally, type TaskCounts, sumProgress } from '../../core/progress.js';
import { statusLookup } from '../../core/session.js';
import type { StatusFile } from '../../core/status.js';

/** The page's title in both hosts. */
export const DASHBOARD_TITLE = 'Plan Dashboard';

/** How many status changes each plan's activity feed keeps, newest first. */
export const ACTIVITY_LIMIT = 12;

/** A running or failed task as the dashboard and the Orchestrators view list it. */
export interface ActiveTaskRow {
  id: string;
  title: string;
  startedAt?: string;
  error?: string;
  /** The agent's latest action, turn and cost, while it runs. */
  activity?: string;
  turn?: number;
  costUsd?: number;
  needsApproval?: boolean;
  /** The worker host running it (orchestrate --queue). */
  host?: string;
}

/** One line of a plan's activity feed: a task's status change. */
export interface ActivityItem {
  plan: string;
  planTitle: string;
  id: string;
  title: string;
  status: string;
  at: string;
  note?: string;
}

/** A plan's counts, as every view of it shows them. */
export interface PlanCounts {
  /** Tasks done and in all (core's taskCounts: what the tree and the status bar count too). */
  done: number;
  total: number;
  /** VERIFY items, counted apart. */
  checks: Tally;
  running: number;
  failed: number;
  percent: number;
}

/** The counts and task lists of an active plan. */
export interface ProgressFields extends PlanCounts {
  runningTasks: ActiveTaskRow[];
  failedTasks: ActiveTaskRow[];
}

/** A card of the dashboard. */
export interface DashboardPlan extends PlanCounts {
  /** What the host's start, stop and open actions name the plan by (VS Code: the plan file; the API: the plan's name). */
  key: string;
  title: string;
  name: string;
  where: string;
  branch?: string;
  runningTasks: Array<{ id: string; title: string; startedAt?: string; activity?: string; costUsd?: number; host?: string }>;
  failedTasks: Array<{ id: string; title: string; error?: string }>;
  orchestrator?: { pid: number; startedAt?: string };
  error?: string;
  /** This plan's latest task status changes, newest first (one line each). */
  activity: ActivityItem[];
}

/** A plan the host can start, for "Start a plan…": active or not. */
export interface WorkspacePlanChoice {
  /** What the host's startPlan action names the plan by (VS Code: the plan file; the API: the plan's name). */
  file: string;
  title: string;
  path: string;
}

export interface DashboardData {
  /** When the data was made: the page counts elapsed times from it, whatever the page's clock. */
  now: string;
  /** Whether orchestrators may be started and stopped from the page (VS Code: a trusted workspace). */
  trusted: boolean;
  /** Whether a card opens its plan (VS Code opens the file in an editor; a browser has nowhere to). */
  canOpen?: boolean;
  total: { done: number; total: number; running: number; failed: number; percent: number; plans: number };
  plans: DashboardPlan[];
  workspacePlans: WorkspacePlanChoice[];
}

/** What the page sends its host. */
export type DashboardMessage = { type: 'ready' } | { type: 'start' | 'stop' | 'open'; key: string } | { type: 'startPlan'; file: string };

/** The first line of a text, its spaces collapsed, cut at a word to `max` characters with `…`. */
export function oneLine(text: string, max = 80): string {
  const first = text.split(/\r?\n/).find((l) => l.trim()) ?? '';
  const line = first.replace(/\s+/g, ' ').trim();
  if (line.length <= max && !/\S\s*\r?\n\s*\S/.test(text.trim())) return line;
  if (line.length <= max) return `${line} …`;
  const cut = line.slice(0, max - 1);
  const word = cut.lastIndexOf(' ');
  return `${word > max / 2 ? cut.slice(0, word) : cut}…`;
}

/** Newest first, at most ACTIVITY_LIMIT. */
export function latest(items: ActivityItem[]): ActivityItem[] {
  return items.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, ACTIVITY_LIMIT);
}

/** The counts and task rows of an active plan, the same for a worktree's plan and a workspace's. */
export function progressFields(c: TaskCounts, plan: Plan, status: StatusFile | undefined): ProgressFields {
  return {
    done: c.tasks.done,
    total: c.tasks.total,
    checks: c.checks,
    running: c.running,
    failed: c.failed,
    percent: c.percent,
    runningTasks: activeTaskRows(plan, status, 'in_progress'),
    failedTasks: activeTaskRows(plan, status, 'failed'),
  };
}

function activeTaskRows(plan: Plan, status: StatusFile | undefined, wanted: 'in_progress' | 'failed'): ActiveTaskRow[] {
  if (!status) return [];
  const out: ActiveTaskRow[] = [];
  for (const t of plan.tasks) {
    const r = status.tasks[t.id];
    if (r?.status !== wanted) continue;
    const run = r.run;
    out.push({
      id: t.id,
      title: oneLine(t.title),
      startedAt: r.startedAt,
      error: r.lastError,
      ...(run?.activity && wanted === 'in_progress' ? { activity: run.activity } : {}),
      ...(run?.turn && wanted === 'in_progress' ? { turn: run.turn } : {}),
      ...(run?.costUsd && wanted === 'in_progress' ? { costUsd: run.costUsd } : {}),
      ...(run?.needsApproval?.length ? { needsApproval: true } : {}),
      ...(run?.host && wanted === 'in_progress' ? { host: run.host } : {}),
    });
  }
  return out;
}

export function activityOf(plan: Plan, status: StatusFile | undefined, key: string, planTitle: string): ActivityItem[] {
  if (!status) return [];
  // A task's title can be a whole paragraph (Kiro, spec-kit): a feed entry is one line.
  const titles = new Map(plan.tasks.map((t) => [t.id, oneLine(t.title)]));
  const out: ActivityItem[] = [];
  for (const [id, record] of Object.entries(status.tasks)) {
    for (const h of record.history) out.push({ plan: key, planTitle, id, title: titles.get(id) ?? '', status: h.status, at: h.at, note: h.note ? oneLine(h.note) : undefined });
  }
  return latest(out);
}

/** What a host knows of one active plan: everything a card shows, and more that the card leaves out. */
export type DashboardPlanSource = Omit<DashboardPlan, 'runningTasks' | 'failedTasks' | 'orchestrator'> & {
  runningTasks: readonly ActiveTaskRow[];
  failedTasks: readonly ActiveTaskRow[];
  orchestrator?: { pid: number; startedAt?: string };
};

/** A card: only the fields the page draws (the page gets no paths or hosts it does not show). */
export function dashboardPlan(p: DashboardPlanSource): DashboardPlan {
  return {
    key: p.key,
    title: p.title,
    name: p.name,
    where: p.where,
    branch: p.branch,
    done: p.done,
    total: p.total,
    checks: p.checks,
    running: p.running,
    failed: p.failed,
    percent: p.percent,
    runningTasks: p.runningTasks.map(({ id, title, startedAt, activity, costUsd, host }) => ({ id, title, startedAt, activity, costUsd, host })),
    failedTasks: p.failedTasks.map(({ id, title, error }) => ({ id, title, error })),
    orchestrator: p.orchestrator && { pid: p.orchestrator.pid, startedAt: p.orchestrator.startedAt },
    error: p.error,
    activity: p.activity,
  };
}

/** A plan as the event stream holds it: its analysis (absent when unreadable), its status and its live orchestrator. */
export interface WatchedPlanState {
  key: string;
  name: string;
  where: string;
  branch?: string;
  analysis?: Analysis;
  status: StatusFile;
  error?: string;
  orchestrator?: { pid: number; startedAt?: string };
}

/** The card of a plan the event stream watches (the API's dashboard). */
export function dashboardPlanOf(s: WatchedPlanState): DashboardPlan {
  const base = { key: s.key, name: s.name, where: s.where, ...(s.branch ? { branch: s.branch } : {}), ...(s.orchestrator ? { orchestrator: s.orchestrator } : {}), ...(s.error ? { error: s.error } : {}) };
  if (!s.analysis) {
    return dashboardPlan({ ...base, title: s.name, done: 0, total: 0, checks: { done: 0, total: 0 }, running: 0, failed: 0, percent: 0, runningTasks: [], failedTasks: [], activity: [] });
  }
  const { plan, graph } = s.analysis;
  const title = plan.title || s.name;
  const counts = taskCounts(plan, graph, statusLookup(s.status));
  return dashboardPlan({ ...base, title, ...progressFields(counts, plan, s.status), activity: activityOf(plan, s.status, s.key, title) });
}

/** The page's data: the cards, their totals, and what "Start a plan…" offers. */
export function dashboardData(plans: DashboardPlan[], host: { now: Date; trusted: boolean; canOpen: boolean; workspacePlans: WorkspacePlanChoice[] }): DashboardData {
  return {
    now: host.now.toISOString(),
    trusted: host.trusted,
    canOpen: host.canOpen,
    total: { ...sumProgress(plans), plans: plans.length },
    plans,
    workspacePlans: host.workspacePlans,
  };
}
