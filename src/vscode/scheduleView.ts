/**
 * The Show Schedule webview: a Gantt chart of `simulate` for one plan. The numbers come from
 * src/core/scheduleData.ts; media/schedule.js only draws what it is posted, so the chart and the
 * CLI's `planctl simulate` can never disagree. There is one panel, like the Markdown preview: Show
 * Schedule for another plan shows that plan in it, in its column, rather than opening another column.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import type { PlanChange, PlanEntry } from './planWorkspace.js';
import { clampWorkers, computeScheduleData, scheduleError, type ScheduleData } from '../core/scheduleData.js';
import { webviewHtml } from './webviewHtml.js';
import { DEFAULT_TASK_MINUTES } from '../core/graph.js';

export const SCHEDULE_VIEW_TYPE = 'planOrchestrator.schedule';

/** Messages from media/schedule.js. */
export type ScheduleMessage = { type: 'ready' } | { type: 'setWorkers'; workers: number } | { type: 'reveal'; id: string; line?: number };

/**
 * What the page draws: the simulation, how many errors the plan has (a warning banner), and the
 * tasks drawn at the default estimate because the plan gives them none (flagged as guesses).
 */
export type ScheduleView = ScheduleData & { planErrors: number; defaultEstimates: string[]; defaultMinutes: number };

let current: SchedulePanel | undefined;
const contextsWithCleanup = new WeakSet<vscode.ExtensionContext>();

function planTitle(entry: PlanEntry): string {
  return entry.analysis?.plan.title || path.basename(entry.uri.fsPath);
}

export class SchedulePanel implements vscode.Disposable {
  private entry: PlanEntry;
  private workers: number;
  private data: ScheduleView | undefined;
  /** A change arrived while the panel was hidden: compute again when it is shown. */
  private dirty = false;
  private readonly disposables: vscode.Disposable[] = [];
  private changeSubscription: vscode.Disposable | undefined;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    entry: PlanEntry,
    workers: number,
  ) {
    this.entry = entry;
    this.workers = clampWorkers(workers);
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'plans.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.handleMessage(m)),
      panel.onDidChangeViewState(() => {
        if (panel.visible && this.dirty) this.render();
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    this.render();
  }

  get key(): string {
    return this.entry.uri.toString();
  }

  get workerCount(): number {
    return this.workers;
  }

  /** What was last sent to the webview (or would have been, while hidden). */
  get lastData(): ScheduleView | undefined {
    return this.data;
  }

  listenTo(onDidChangePlan: vscode.Event<PlanChange>): void {
    if (this.changeSubscription) return;
    this.changeSubscription = onDidChangePlan((change) => {
      // The chart simulates the whole plan from its estimates, so status changes do not move it.
      if (change.kind === 'analysis' && change.entry.uri.toString() === this.key) this.update(change.entry);
    });
    this.disposables.push(this.changeSubscription);
  }

  /** The plan was analysed again (or the entry replaced after a rescan), or another plan is shown. */
  update(entry: PlanEntry): void {
    this.entry = entry;
    if (this.panel.visible) this.render();
    else this.dirty = true;
  }

  setWorkers(workers: number): void {
    this.workers = clampWorkers(workers);
    this.render();
  }

  render(): ScheduleView {
    this.dirty = false;
    const analysis = this.entry.analysis;
    const title = planTitle(this.entry);
    this.panel.title = `Schedule: ${title}`;
    if (!analysis) this.data = { ...scheduleError(title, this.workers, this.entry.loadError ?? 'the plan has not been read yet'), planErrors: 0, defaultEstimates: [], defaultMinutes: DEFAULT_TASK_MINUTES };
    else {
      const planErrors = analysis.diagnostics.filter((d) => d.severity === 'error').length;
      const defaultEstimates = analysis.plan.tasks.filter((t) => t.kind === 'task' && t.childIds.length === 0 && t.estimateMinutes === undefined).map((t) => t.id);
      this.data = { ...computeScheduleData(analysis.plan, analysis.graph, this.workers), planErrors, defaultEstimates, defaultMinutes: DEFAULT_TASK_MINUTES };
      if (!this.data.title) this.data.title = title;
    }
    void this.panel.webview.postMessage({ type: 'render', data: this.data });
    return this.data;
  }

  async handleMessage(message: unknown): Promise<void> {
    if (!isMessage(message)) return;
    switch (message.type) {
      case 'ready':
        // The webview (re)loaded: after being hidden it starts empty, so it always gets the latest.
        if (this.dirty || !this.data) this.render();
        else void this.panel.webview.postMessage({ type: 'render', data: this.data });
        return;
      case 'setWorkers':
        this.setWorkers(message.workers);
        return;
      case 'reveal':
        await this.reveal(message.id, message.line);
        return;
    }
  }

  /** Opens the plan at the task; looked up by ID at click time, since lines move while editing. */
  async reveal(id: string, fallbackLine?: number): Promise<vscode.TextEditor | undefined> {
    const task = this.entry.analysis?.plan.tasks.find((t) => t.id === id);
    const line = task ? task.range.start.line : fallbackLine;
    if (!line || line < 1) return undefined;
    const position = new vscode.Position(line - 1, task ? Math.max(0, task.range.start.column - 1) : 0);
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === this.key);
    // Keep the chart in view: open the plan in another column than the panel's.
    const viewColumn = visible?.viewColumn ?? (this.panel.viewColumn === vscode.ViewColumn.One ? vscode.ViewColumn.Beside : vscode.ViewColumn.One);
    const editor = await vscode.window.showTextDocument(this.entry.uri, { viewColumn, selection: new vscode.Range(position, position), preserveFocus: false });
    editor.revealRange(new vscode.Range(position, position), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return editor;
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.extensionUri, { script: 'schedule.js', style: 'schedule.css', title: 'Schedule', mainAttributes: 'data-max-workers="32"' });
  }

  dispose(): void {
    if (current === this) current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}

function isMessage(m: unknown): m is ScheduleMessage {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  if (o.type === 'ready') return true;
  if (o.type === 'setWorkers') return typeof o.workers === 'number' || typeof o.workers === 'string';
  if (o.type === 'reveal') return typeof o.id === 'string';
  return false;
}

/**
 * Opens the schedule of a plan, or shows it in the open panel (which keeps its column and the worker
 * count chosen in it); pass `onDidChangePlan` (PlanWorkspace.onDidChangePlan) to redraw on edits.
 */
export function showSchedule(context: vscode.ExtensionContext, entry: PlanEntry, workers: number, onDidChangePlan?: vscode.Event<PlanChange>): void {
  if (!contextsWithCleanup.has(context)) {
    contextsWithCleanup.add(context);
    context.subscriptions.push({ dispose: () => current?.dispose() });
  }
  if (current) {
    if (onDidChangePlan) current.listenTo(onDidChangePlan);
    current.panel.reveal(undefined, false);
    current.update(entry);
    return;
  }
  const media = vscode.Uri.joinPath(context.extensionUri, 'media');
  const panel = vscode.window.createWebviewPanel(SCHEDULE_VIEW_TYPE, `Schedule: ${planTitle(entry)}`, vscode.ViewColumn.Beside, {
    enableScripts: true,
    localResourceRoots: [media],
    enableFindWidget: false,
  });
  const schedulePanel = new SchedulePanel(panel, context.extensionUri, entry, workers);
  current = schedulePanel;
  if (onDidChangePlan) schedulePanel.listenTo(onDidChangePlan);
}

/** Redraws the plan's schedule if its panel is open (cheap no-op otherwise). */
export function refreshSchedule(entry: PlanEntry): void {
  if (current?.key === entry.uri.toString()) current.update(entry);
}

/** The panel of a plan, if open: for tests and for commands that want to drive it. */
export function schedulePanelFor(entry: PlanEntry | vscode.Uri): SchedulePanel | undefined {
  const uri = entry instanceof vscode.Uri ? entry : entry.uri;
  return current?.key === uri.toString() ? current : undefined;
}

/** The data last posted to the plan's schedule panel. */
export function lastRendered(entry: PlanEntry | vscode.Uri): ScheduleView | undefined {
  return schedulePanelFor(entry)?.lastData;
}

/**
 * What the extension's API exposes of this module. The in-VS-Code tests are bundled apart from the
 * extension, so importing this module there would give them a second, empty panel registry.
 */
export interface ScheduleApi {
  lastRendered: typeof lastRendered;
  panelFor: typeof schedulePanelFor;
}

export const scheduleApi: ScheduleApi = { lastRendered, panelFor: schedulePanelFor };
