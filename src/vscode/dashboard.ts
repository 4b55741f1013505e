/**
 * The aggregate dashboard: `planctl status --all-plans` and the multi-pane TUI as a webview. One
 * card per active plan with its own activity feed, an overall progress bar, and "Start a plan…" for
 * any plan of the workspace; the numbers come from ActivePlans (orchestratorsView.ts),
 * media/dashboard.js only draws what it is posted.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import { commandArgument, type ActivePlans, type ActivityItem } from './orchestratorsView.js';
import type { PlanWorkspace } from './planWorkspace.js';
import { sumProgress, type Tally } from '../core/progress.js';
import { webviewHtml } from './webviewHtml.js';

export const DASHBOARD_VIEW_TYPE = 'planOrchestrator.dashboard';
export const DASHBOARD_TITLE = 'Plan Dashboard';
/** Status files change in bursts while agents work: the page is redrawn at most this often. */
const THROTTLE_MS = 500;

export interface DashboardPlan {
  key: string;
  title: string;
  name: string;
  where: string;
  branch?: string;
  done: number;
  total: number;
  checks: Tally;
  running: number;
  failed: number;
  percent: number;
  runningTasks: Array<{ id: string; title: string; startedAt?: string; activity?: string; costUsd?: number; host?: string }>;
  failedTasks: Array<{ id: string; title: string; error?: string }>;
  orchestrator?: { pid: number; startedAt?: string };
  error?: string;
  /** This plan's latest task status changes, newest first (one line each). */
  activity: ActivityItem[];
}

/** A plan of the workspace, for "Start a plan…": active or not. */
export interface WorkspacePlanChoice {
  file: string;
  title: string;
  path: string;
}

export interface DashboardData {
  /** When the data was made: the page counts elapsed times from it, whatever the webview's clock. */
  now: string;
  trusted: boolean;
  total: { done: number; total: number; running: number; failed: number; percent: number; plans: number };
  plans: DashboardPlan[];
  /** Every plan of the workspace, for "Start a plan…". */
  workspacePlans: WorkspacePlanChoice[];
}

export type DashboardMessage = { type: 'ready' } | { type: 'start' | 'stop' | 'open'; key: string } | { type: 'startPlan'; file: string };

export function dashboardData(model: ActivePlans, workspace: PlanWorkspace): DashboardData {
  const plans = model.plans().map(
    (p): DashboardPlan => ({
      key: p.key,
      title: p.title,
      name: p.name,
      where: p.worktree ? vscode.workspace.asRelativePath(p.cwd) : 'workspace',
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
    }),
  );
  return {
    now: new Date().toISOString(),
    trusted: vscode.workspace.isTrusted,
    total: { ...sumProgress(plans), plans: plans.length },
    plans,
    workspacePlans: workspace.plans().map((e) => ({ file: e.uri.fsPath, title: e.analysis?.plan.title || path.basename(e.uri.fsPath), path: vscode.workspace.asRelativePath(e.uri) })),
  };
}

export class DashboardPanel implements vscode.Disposable {
  private data: DashboardData | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastPost = 0;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly model: ActivePlans,
    private readonly workspace: PlanWorkspace,
    private readonly onDispose: () => void,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'plans.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.handleMessage(m)),
      model.onDidChange(() => this.schedule()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.schedule()),
      panel.onDidChangeViewState(() => {
        model.hold(this, panel.visible);
        if (panel.visible) this.schedule();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    model.hold(this, true);
    this.post();
  }

  get lastData(): DashboardData | undefined {
    return this.data;
  }

  /** At most one post per THROTTLE_MS; the last change in a burst is always sent. */
  private schedule(): void {
    if (this.timer || this.disposed) return;
    const wait = Math.max(0, this.lastPost + THROTTLE_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.post();
    }, wait);
  }

  post(): DashboardData {
    this.lastPost = Date.now();
    this.data = dashboardData(this.model, this.workspace);
    if (!this.disposed) void this.panel.webview.postMessage({ type: 'render', data: this.data });
    return this.data;
  }

  /** What the page sent (public for tests: the page's messages, without a page). */
  async handleMessage(message: unknown): Promise<unknown> {
    const m = message as { type?: unknown; key?: unknown; file?: unknown } | undefined;
    if (!m || typeof m !== 'object') return undefined;
    if (m.type === 'ready') {
      this.post();
      return undefined;
    }
    if (m.type === 'startPlan' && typeof m.file === 'string') {
      // Only a plan the workspace knows: a message is no proof of anything.
      const entry = this.workspace.plans().find((e) => e.uri.fsPath === m.file);
      if (!entry) return undefined;
      if (!vscode.workspace.isTrusted) {
        void vscode.window.showWarningMessage('Plan Orchestrator: trust this workspace to start orchestrators.');
        return undefined;
      }
      try {
        return await vscode.commands.executeCommand('planOrchestrator.startOrchestrator', entry.uri);
      } finally {
        setTimeout(() => void this.model.refresh(), 1500);
      }
    }
    if ((m.type !== 'start' && m.type !== 'stop' && m.type !== 'open') || typeof m.key !== 'string') return undefined;
    const plan = this.model.plans().find((p) => p.key === m.key);
    if (!plan) return undefined;
    if (m.type === 'open') {
      return vscode.window.showTextDocument(vscode.Uri.file(plan.planFile), { viewColumn: vscode.ViewColumn.One });
    }
    // The page disables the buttons too, but a message is no proof of trust.
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('Plan Orchestrator: trust this workspace to start or stop orchestrators.');
      return undefined;
    }
    try {
      return await vscode.commands.executeCommand(m.type === 'start' ? 'planOrchestrator.startOrchestrator' : 'planOrchestrator.stopOrchestrator', commandArgument(plan));
    } finally {
      // The registry record is written once the orchestrator is up.
      setTimeout(() => void this.model.refresh(), 1500);
    }
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.extensionUri, { script: 'dashboard.js', style: 'dashboard.css', title: DASHBOARD_TITLE });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.model.hold(this, false);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.onDispose();
    this.panel.dispose();
  }
}

/** The one dashboard panel; the command reveals it when open. */
export class Dashboard implements vscode.Disposable {
  private current: DashboardPanel | undefined;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly model: ActivePlans,
    private readonly workspace: PlanWorkspace,
  ) {}

  async show(): Promise<DashboardPanel> {
    if (this.current) {
      this.current.panel.reveal(undefined, false);
      return this.current;
    }
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel(DASHBOARD_VIEW_TYPE, DASHBOARD_TITLE, vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [media],
      retainContextWhenHidden: false,
    });
    const created = new DashboardPanel(panel, this.context.extensionUri, this.model, this.workspace, () => {
      if (this.current === created) this.current = undefined;
    });
    this.current = created;
    await this.model.refresh();
    return created;
  }

  get panel(): DashboardPanel | undefined {
    return this.current;
  }

  /** The data last posted (or being posted) to the page; for tests. */
  lastData(): DashboardData | undefined {
    return this.current?.lastData;
  }

  dispose(): void {
    this.current?.dispose();
  }
}

export function dashboardCommands(dashboard: Dashboard): Record<string, (...args: unknown[]) => unknown> {
  return {
    'planOrchestrator.showDashboard': async () => {
      await dashboard.show();
      return undefined;
    },
  };
}
