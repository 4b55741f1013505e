/**
 * The Orchestrators view, and the model it shares with the dashboard and the status bar: every
 * active plan (each plan worktree's plan, plus the workspace's plans that have a status file) with
 * its progress, running and failed tasks, recent activity, and whether an orchestrator runs it.
 *
 * With the plan event stream (liveUpdates.ts) the model is rebuilt on its events, from what the
 * stream has read (plans, status files, the registry): nothing here reads or watches those files, and
 * a timer only redraws elapsed times. Without it (untrusted workspace, no stream) it polls.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import { AnalysisCache, openPlan, statusLookup } from '../core/session.js';
import { runningRecordFor } from '../run/registry.js';
import { taskCounts } from '../core/progress.js';
import { planName } from '../core/planFile.js';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';
import type { WorktreeTreeProvider } from './worktreeView.js';
import type { PlanWorktree } from '../git/worktreeResults.js';
import { readRegistry } from './orchestratorTerminal.js';
import type { PlanEventStream } from '../run/events/stream.js';
import { countsOf } from './taskState.js';
import { humanTime } from './format.js';
import { activityOf, progressFields, type ActiveTaskRow as TaskRow, type ActivityItem, type ProgressFields } from '../run/events/dashboardModel.js';

export interface ActivePlan extends ProgressFields {
  /** The plan file's absolute path: unique across worktrees. */
  key: string;
  title: string;
  name: string;
  planFile: string;
  /** Where the orchestrator runs: the plan worktree, or the checkout the plan is in. */
  cwd: string;
  branch?: string;
  worktree?: PlanWorktree;
  entry?: PlanEntry;
  orchestrator?: { pid: number; host?: string; startedAt?: string };
  statusPath: string;
  updatedAt?: string;
  error?: string;
  /** The plan's latest task status changes, newest first. */
  activity: ActivityItem[];
}

/** A worktree plan as the model needs it: from the stream's read, or opened here when polling. */
type OpenedPlan = Pick<Awaited<ReturnType<typeof openPlan>>, 'analysis' | 'status' | 'statusPath' | 'statusOf'>;

export class ActivePlans implements vscode.Disposable {
  private plansList: ActivePlan[] = [];
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;
  private readonly ticker = new vscode.EventEmitter<void>();
  /** Nothing changed, but elapsed times did: views that show them redraw (stream mode; polling reloads instead). */
  readonly onDidTick = this.ticker.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter, this.ticker];
  /** The event stream while it runs; undefined: poll. */
  private stream: { source: PlanEventStream; unsubscribe: () => void } | undefined;
  private soonTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly watchers = new Map<string, vscode.Disposable>();
  private loading: Promise<void> | undefined;
  private again = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Things that show live data (the view while visible, the dashboard while open) hold a poll. */
  private readonly pollers = new Set<object>();
  /** Without the stream, worktree plans are re-read every 2 s while the view is visible; unchanged text is not re-analysed. */
  private readonly analyses = new AnalysisCache();

  constructor(
    private readonly workspace: PlanWorkspace,
    private readonly worktrees: WorktreeTreeProvider,
    private readonly repoRoot: () => string | undefined,
  ) {
    const soon = (): void => this.refreshSoon();
    this.disposables.push(workspace.onDidChangePlan(soon), workspace.onDidChangePlans(soon), worktrees.onDidChangeTreeData(soon));
  }

  plans(): readonly ActivePlan[] {
    return this.plansList;
  }

  /**
   * Re-reads everything; concurrent calls coalesce, and a call during a load schedules one more, so
   * the last change is never missed.
   */
  refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = this.load().finally(() => {
      this.loading = undefined;
      this.emitter.fire();
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.loading;
  }

  /**
   * While at least one holder shows live elapsed times, a 2 s timer runs: with the stream it only
   * ticks (and only while a task runs); without it, it re-reads everything (liveness, status files).
   */
  hold(holder: object, on: boolean): void {
    if (on) this.pollers.add(holder);
    else this.pollers.delete(holder);
    this.setTimer();
  }

  private setTimer(): void {
    const want = this.pollers.size > 0;
    if (want && !this.timer) {
      this.timer = setInterval(() => {
        if (!this.stream) void this.refresh();
        else if (this.plansList.some((p) => p.runningTasks.length > 0)) this.ticker.fire();
      }, 2000);
      if (!this.stream) void this.refresh();
    } else if (!want && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Rebuilds from the stream's events from now on (see the file comment). */
  useStream(source: PlanEventStream): void {
    this.stopStream();
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
    // Events come in bursts (a task event, its activity, the read's plan.status): one rebuild each burst.
    const { unsubscribe } = source.subscribe(() => this.refreshSoon());
    this.stream = { source, unsubscribe };
    void this.refresh();
  }

  /** Reads plans and the registry itself again, polling while held (untrusted workspace, no stream). */
  usePolling(): void {
    this.stopStream();
    void this.refresh();
  }

  private stopStream(): void {
    this.stream?.unsubscribe();
    this.stream = undefined;
    if (this.soonTimer) clearTimeout(this.soonTimer);
    this.soonTimer = undefined;
  }

  private refreshSoon(): void {
    this.soonTimer ??= setTimeout(() => {
      this.soonTimer = undefined;
      void this.refresh();
    }, 20);
  }

  /** A worktree's plan: the stream's read when it has one; else read here (polling, or a plan the stream does not know yet). */
  private async open(planFile: string, worktree: string): Promise<OpenedPlan> {
    const state = this.stream?.source.planState(planFile);
    if (state?.analysis && state.statusPath && !state.statusError) {
      return { analysis: state.analysis, status: state.status, statusPath: state.statusPath, statusOf: statusLookup(state.status) };
    }
    if (state?.error) throw new Error(state.error);
    return openPlan(planFile, worktree, this.analyses);
  }

  /** The registry: as the stream last read it, or read here. */
  private async registry(root: string | undefined): Promise<Array<{ name: string; alive: boolean; pid: number; host?: string; startedAt?: string }>> {
    if (this.stream) return this.stream.source.listOrchestrators();
    return root ? readRegistry(root) : [];
  }

  private async load(): Promise<void> {
    const registry = await this.registry(this.repoRoot());
    const out: ActivePlan[] = [];
    const live = (planFile: string): ActivePlan['orchestrator'] => {
      const r = runningRecordFor(registry, planFile);
      return r ? { pid: r.pid, host: r.host, startedAt: r.startedAt } : undefined;
    };
    const worktrees = this.worktrees.worktrees().filter((w) => w.plan && !w.missing);
    const worktreeNames = new Set(worktrees.map((w) => w.name));
    for (const w of worktrees) {
      const planFile = path.join(w.path, w.plan!);
      try {
        const s = await this.open(planFile, w.path);
        const title = s.analysis.plan.title || planName(planFile);
        const c = taskCounts(s.analysis.plan, s.analysis.graph, s.statusOf);
        const status = s.status.version > 0 || Object.keys(s.status.tasks).length > 0 ? s.status : undefined;
        out.push({
          key: planFile,
          title,
          name: w.name,
          planFile,
          cwd: w.path,
          branch: w.branch,
          worktree: w,
          ...progressFields(c, s.analysis.plan, status),
          orchestrator: live(planFile),
          statusPath: s.statusPath,
          updatedAt: status?.updatedAt,
          activity: activityOf(s.analysis.plan, status, planFile, title),
        });
        if (!this.stream) this.watch(path.dirname(s.statusPath));
      } catch (e) {
        out.push({
          key: planFile, title: w.name, name: w.name, planFile, cwd: w.path, branch: w.branch, worktree: w,
          done: 0, total: 0, checks: { done: 0, total: 0 }, running: 0, failed: 0, percent: 0, runningTasks: [], failedTasks: [],
          orchestrator: live(planFile), statusPath: '', error: e instanceof Error ? e.message : String(e), activity: [],
        });
      }
    }
    for (const entry of this.workspace.plans()) {
      const name = planName(entry.uri.fsPath);
      // The worktree's row stands for the plan: Start/Stop on a workspace plan act on its worktree anyway.
      if (!entry.status || !entry.analysis || worktreeNames.has(name)) continue;
      const plan = entry.analysis.plan;
      const title = plan.title || name;
      const c = countsOf(this.workspace, entry)!;
      out.push({
        key: entry.uri.fsPath,
        title,
        name,
        planFile: entry.uri.fsPath,
        cwd: entry.root,
        entry,
        ...progressFields(c, plan, entry.status),
        orchestrator: live(entry.uri.fsPath),
        statusPath: entry.statusPath,
        updatedAt: entry.status.updatedAt,
        activity: activityOf(plan, entry.status, entry.uri.fsPath, title),
      });
    }
    this.plansList = out;
    // Worktrees that went away take their watchers with them.
    const dirs = new Set(out.filter((p) => p.worktree && p.statusPath).map((p) => path.dirname(p.statusPath)));
    for (const [dir, w] of this.watchers) {
      if (!dirs.has(dir)) {
        w.dispose();
        this.watchers.delete(dir);
      }
    }
  }

  /** Status files of worktree plans are outside what PlanWorkspace watches. */
  private watch(dir: string): void {
    if (this.watchers.has(dir)) return;
    const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), 'status.json'));
    const soon = (): void => void this.refresh();
    const subs = [watcher, watcher.onDidChange(soon), watcher.onDidCreate(soon), watcher.onDidDelete(soon)];
    this.watchers.set(dir, { dispose: () => subs.forEach((s) => s.dispose()) });
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    this.stopStream();
    for (const w of this.watchers.values()) w.dispose();
    this.watchers.clear();
    for (const d of this.disposables) d.dispose();
  }
}

/** What the start/stop commands accept for a plan: a worktree row, or the plan's Uri. */
export function commandArgument(p: ActivePlan): unknown {
  return p.worktree ? { kind: 'worktree', worktree: p.worktree } : vscode.Uri.file(p.planFile);
}

export function formatElapsed(ms: number): string {
  if (!(ms >= 0)) return '';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Plan rows are shaped as the start/stop commands take them (a worktree row, or a node with the
 * plan's entry), so the view's inline buttons call those commands directly.
 */
export type OrchestratorNode =
  | { kind: 'worktree'; worktree: PlanWorktree; plan: ActivePlan }
  | { kind: 'plan'; entry?: PlanEntry; plan: ActivePlan }
  | { kind: 'task'; plan: ActivePlan; task: TaskRow; state: 'running' | 'failed' }
  | { kind: 'info'; text: string };

export class OrchestratorsTreeProvider implements vscode.TreeDataProvider<OrchestratorNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<OrchestratorNode | OrchestratorNode[] | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  /** The running-task rows as last given to the view, by plan: a tick redraws only them (their elapsed time). */
  private readonly runningRows = new Map<string, OrchestratorNode[]>();

  constructor(readonly model: ActivePlans) {
    this.disposables.push(
      model.onDidChange(() => {
        this.runningRows.clear();
        this.emitter.fire(undefined);
      }),
      model.onDidTick(() => {
        const rows = [...this.runningRows.values()].flat();
        if (rows.length > 0) this.emitter.fire(rows);
      }),
    );
  }

  /** Live elapsed times only while someone looks at the view. */
  bindVisibility(view: vscode.TreeView<OrchestratorNode>): vscode.Disposable {
    this.model.hold(this, view.visible);
    return view.onDidChangeVisibility((e) => this.model.hold(this, e.visible));
  }

  getChildren(element?: OrchestratorNode): OrchestratorNode[] {
    if (!element) {
      const plans = this.model.plans();
      return plans.map((plan): OrchestratorNode => (plan.worktree ? { kind: 'worktree', worktree: plan.worktree, plan } : { kind: 'plan', entry: plan.entry, plan }));
    }
    if (element.kind !== 'plan' && element.kind !== 'worktree') return [];
    const p = element.plan;
    const kids: OrchestratorNode[] = [
      ...p.runningTasks.map((task) => ({ kind: 'task' as const, plan: p, task, state: 'running' as const })),
      ...p.failedTasks.map((task) => ({ kind: 'task' as const, plan: p, task, state: 'failed' as const })),
    ];
    if (p.error) kids.unshift({ kind: 'info', text: p.error });
    this.runningRows.set(p.key, kids.filter((k) => k.kind === 'task' && k.state === 'running'));
    return kids;
  }

  getTreeItem(element: OrchestratorNode): vscode.TreeItem {
    if (element.kind === 'info') {
      const item = new vscode.TreeItem(element.text);
      item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
      item.tooltip = element.text;
      return item;
    }
    if (element.kind === 'task') {
      const { task, state } = element;
      const item = new vscode.TreeItem(`${task.id} ${task.title}`);
      item.id = `orchestrators:${element.plan.key}#${state}:${task.id}`;
      item.contextValue = `orchestrator.task.${state}`;
      if (state === 'running') {
        item.iconPath = new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue'));
        item.description = [
          task.startedAt ? `running ${formatElapsed(Date.now() - Date.parse(task.startedAt))}` : 'running',
          task.activity,
          task.host ? `on ${task.host}` : '',
          task.turn ? `turn ${task.turn}` : '',
          task.costUsd ? `$${task.costUsd.toFixed(2)}` : '',
        ]
          .filter(Boolean)
          .join(' · ');
      } else {
        item.iconPath = task.needsApproval
          ? new vscode.ThemeIcon('shield', new vscode.ThemeColor('problemsWarningIcon.foreground'))
          : new vscode.ThemeIcon('error', new vscode.ThemeColor('problemsErrorIcon.foreground'));
        item.description = task.needsApproval ? `needs approval: ${task.error ?? ''}` : task.error ? `failed: ${task.error}` : 'failed';
      }
      item.tooltip = `${task.id} ${task.title}\n${item.description}`;
      return item;
    }
    const p = element.plan;
    const item = new vscode.TreeItem(p.title, p.runningTasks.length || p.failedTasks.length || p.error ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = `orchestrators:${p.key}`;
    // The menus tell running from idle rows apart to show Stop or Start inline.
    item.contextValue = p.orchestrator ? 'orchestrator.plan.running' : 'orchestrator.plan';
    const parts = [
      `${p.done}/${p.total} (${p.percent}%)`,
      p.checks.total ? `${p.checks.done}/${p.checks.total} checks` : '',
      p.running ? `${p.running} running` : '',
      p.failed ? `${p.failed} failed` : '',
      p.orchestrator ? `▶ pid ${p.orchestrator.pid}` : '',
      p.branch ?? (p.worktree ? '' : 'workspace'),
    ];
    item.description = parts.filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon(
      p.orchestrator ? 'run-all' : p.failed ? 'warning' : p.total > 0 && p.done === p.total ? 'pass' : 'circle-outline',
      p.orchestrator ? new vscode.ThemeColor('charts.green') : p.failed ? new vscode.ThemeColor('problemsWarningIcon.foreground') : undefined,
    );
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${p.title}**${p.branch ? ` — \`${p.branch}\`` : ''}\n\n`);
    md.appendMarkdown(`${p.done} of ${p.total} tasks done (${p.percent}%)${p.checks.total ? `, ${p.checks.done} of ${p.checks.total} checks passed` : ''}, ${p.running} running, ${p.failed} failed\n\n`);
    md.appendMarkdown(p.orchestrator ? `Orchestrator running: pid ${p.orchestrator.pid}${p.orchestrator.startedAt ? `, started ${humanTime(p.orchestrator.startedAt)}` : ''}\n\n` : 'No orchestrator running\n\n');
    md.appendText(p.planFile);
    item.tooltip = md;
    item.command = { command: 'vscode.open', title: 'Open Plan', arguments: [vscode.Uri.file(p.planFile)] };
    return item;
  }

  dispose(): void {
    this.model.hold(this, false);
    for (const d of this.disposables) d.dispose();
  }
}

export function orchestratorsViewCommands(model: ActivePlans): Record<string, (...args: unknown[]) => unknown> {
  return { 'planOrchestrator.orchestrators.refresh': () => model.refresh() };
}
