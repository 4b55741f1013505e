/**
 * What `planctl top` shows, as plain data: the plans of the watcher's snapshot, one activity feed per
 * plan built from its events, and the choices the screen makes from them (which plans get a pane,
 * what a filter keeps, how an event reads as one line). No terminal here: the Ink views draw this,
 * and the plain output for a pipe prints the same lines.
 */
import path from 'node:path';
import { sumProgress, type ProgressSum } from '../core/progress.js';
import type { EventMessage, OrchestratorInfo, SnapshotMessage, TaskRow } from '../run/events/messages.js';

export type DashboardPlan = SnapshotMessage['plans'][number];

export type Tone = 'ok' | 'bad' | 'run' | 'warn' | 'info';

export interface FeedLine {
  /** When it happened (ISO 8601). */
  at: string;
  text: string;
  tone: Tone;
}

/** A feed keeps this many lines per plan: more than any screen shows, bounded however long top runs. */
export const FEED_LIMIT = 200;

/** Terminal control characters (and C1 controls) out of text from files: a log or a title must not move the cursor or recolour the screen. */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, '').replace(/\t/g, '  ');
}

export const STATE_ICON: Record<TaskRow['state'], string> = { done: '✓', running: '▶', failed: '✗', skipped: '↷', ready: '○', blocked: '·' };

/** A task waits for the user's approval of a tool its agent was denied. */
export function needsApproval(t: TaskRow): boolean {
  return (t.agent?.needsApproval?.length ?? 0) > 0;
}

export function isRunning(p: DashboardPlan): boolean {
  return p.orchestrator?.alive === true;
}

/** Plans with something going on: a live orchestrator or a task in progress. */
export function isActive(p: DashboardPlan): boolean {
  return isRunning(p) || p.running > 0;
}

export function aggregate(plans: readonly DashboardPlan[]): ProgressSum & { plans: number; running: number; costUsd: number } {
  return { ...sumProgress(plans), plans: plans.length, running: plans.filter(isRunning).length, costUsd: plans.reduce((n, p) => n + planCost(p), 0) };
}

/** What the plan's agents have cost so far, as they reported it. */
export function planCost(p: DashboardPlan): number {
  return p.tasks.reduce((n, t) => n + (t.agent?.totalCostUsd ?? t.agent?.costUsd ?? 0), 0);
}

export function runningTasks(p: DashboardPlan): TaskRow[] {
  return p.tasks.filter((t) => t.state === 'running');
}

/** Case-insensitive substring match on a plan's name, title and path, or on any of its tasks. */
export function planMatches(p: DashboardPlan, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return [p.name, p.title, p.plan].some((s) => s.toLowerCase().includes(f)) || p.tasks.some((t) => taskMatches(t, f));
}

export function taskMatches(t: TaskRow, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  return t.id.toLowerCase().includes(f) || t.title.toLowerCase().includes(f) || t.state.includes(f);
}

/** The tasks of the plan the filter keeps: all of them when the plan itself matches by name. */
export function visibleTasks(p: DashboardPlan, filter: string): TaskRow[] {
  if (!filter || [p.name, p.title, p.plan].some((s) => s.toLowerCase().includes(filter.toLowerCase()))) return p.tasks;
  return p.tasks.filter((t) => taskMatches(t, filter));
}

/** Seconds, minutes or hours since `iso`, for a running task's elapsed time. */
export function elapsed(iso: string | undefined, now: number): string {
  if (!iso) return '';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

export function money(usd: number | undefined): string {
  return usd ? `$${usd.toFixed(2)}` : '';
}

/** A running task in one line: elapsed time, cost, the worker host (distributed runs), the agent's latest action. */
export function runningLine(t: TaskRow, now: number): string {
  const parts = [elapsed(t.startedAt, now), money(t.agent?.costUsd), t.agent?.host ? `@${t.agent.host}` : '', t.agent?.activity ? `· ${t.agent.activity}` : ''];
  return printable(parts.filter(Boolean).join('  '));
}

export function orchestratorLabel(o: OrchestratorInfo | null): string {
  if (!o) return 'not running';
  return o.alive ? `running (pid ${o.pid}${o.host ? ` on ${o.host}` : ''})` : 'stopped';
}

const TASK_WORDS: Record<string, [string, Tone]> = {
  in_progress: ['▶', 'run'],
  completed: ['✓', 'ok'],
  failed: ['✗', 'bad'],
  skipped: ['↷', 'info'],
  pending: ['↺', 'warn'],
};

/** An event as one feed line, and the plan whose feed it belongs to (none: a repository-wide event). */
export function feedLineOf(e: EventMessage): { plan?: string; line: FeedLine } | undefined {
  const line = (text: string, tone: Tone): FeedLine => ({ at: e.at, text: printable(text), tone });
  switch (e.type) {
    case 'task': {
      const [icon, tone] = TASK_WORDS[e.status] ?? ['•', 'info'];
      const what = e.status === 'in_progress' ? 'started' : e.status === 'completed' ? 'done' : e.status;
      const why = e.error ? `: ${e.error}` : e.note && e.status === 'pending' ? ` (${e.note})` : '';
      return { plan: e.plan, line: line(`${icon} ${e.task} ${what}${why}  [${e.progress.done}/${e.progress.total}]`, tone) };
    }
    case 'task.activity':
      return { plan: e.plan, line: line(`· ${e.task} ${e.activity}${e.costUsd ? `  ${money(e.costUsd)}` : ''}`, 'info') };
    case 'orchestrator.started':
    case 'orchestrator.stopped': {
      const o = e.orchestrator;
      const verb = e.type === 'orchestrator.started' ? 'started' : 'stopped';
      return { ...(o.plan ? { plan: o.plan } : {}), line: line(`■ orchestrator ${verb} (pid ${o.pid} on ${o.host})`, e.type === 'orchestrator.started' ? 'run' : 'info') };
    }
    case 'plan.added':
      return { plan: e.plan.name, line: line(`+ plan found: ${e.plan.plan} in ${path.basename(e.plan.worktree)}`, 'info') };
    case 'plan.changed':
      return e.plan.error ? { plan: e.plan.name, line: line(`! ${e.plan.error}`, 'bad') } : undefined;
    case 'plan.removed':
      return { line: line(`- plan ${e.plan} is gone`, 'info') };
    case 'worktree.created':
    case 'worktree.removed':
      return { line: line(`${e.type === 'worktree.created' ? '+' : '-'} worktree ${e.worktree.path}${e.worktree.branch ? ` (${e.worktree.branch})` : ''}`, 'info') };
  }
}

/** Bounded activity feeds, one per plan name, and one for what belongs to no plan. */
export class Feeds {
  private readonly byPlan = new Map<string, FeedLine[]>();
  private readonly general: FeedLine[] = [];

  add(plan: string | undefined, line: FeedLine): void {
    let list = this.general;
    if (plan !== undefined) {
      list = this.byPlan.get(plan) ?? [];
      this.byPlan.set(plan, list);
    }
    list.push(line);
    if (list.length > FEED_LIMIT) list.splice(0, list.length - FEED_LIMIT);
  }

  of(plan: string | undefined): readonly FeedLine[] {
    return plan === undefined ? this.general : (this.byPlan.get(plan) ?? []);
  }
}

/**
 * The panes to draw, in plan-list order: every active plan and the selected one, the selected one
 * always kept when there is not room for all.
 */
export function panePlans(plans: readonly DashboardPlan[], selected: string | undefined, maxPanes: number): { shown: DashboardPlan[]; hidden: number } {
  const wanted = plans.filter((p) => p.name === selected || isActive(p));
  if (wanted.length <= maxPanes) return { shown: wanted, hidden: 0 };
  const others = wanted.filter((p) => p.name !== selected).slice(0, Math.max(0, maxPanes - 1));
  const keep = new Set([...others.map((p) => p.name), selected]);
  const shown = wanted.filter((p) => keep.has(p.name));
  return { shown, hidden: wanted.length - shown.length };
}

/** The first index of a window of `height` rows over `count` items that keeps `cursor` in view, near the middle. */
export function scrollStart(count: number, cursor: number, height: number): number {
  if (count <= height || height <= 0) return 0;
  return Math.max(0, Math.min(count - height, cursor - Math.floor(height / 2)));
}
