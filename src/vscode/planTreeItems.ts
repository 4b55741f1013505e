/**
 * What each row of the Plans view looks like: plan, phase, state group and task rows, their
 * descriptions and tooltips. The provider (planTree.ts) decides which rows exist; this module only
 * renders one from the workspace's data.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import type { Task } from '../core/model.js';
import type { TaskRecord } from '../core/status.js';
import { formatCounts } from '../core/progress.js';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';
import { countsOf, type TaskDisplayState, type TaskView } from './taskState.js';
import { humanTime, plural, problemCounts, problemText, progressLine, type ProblemCounts } from './format.js';
import { STATE_TITLE } from './treeOptions.js';

export const ICONS: Record<TaskDisplayState, vscode.ThemeIcon> = {
  done: new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed')),
  running: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  skipped: new vscode.ThemeIcon('debug-step-over', new vscode.ThemeColor('disabledForeground')),
  ready: new vscode.ThemeIcon('circle-large-outline'),
  blocked: new vscode.ThemeIcon('lock-small', new vscode.ThemeColor('disabledForeground')),
};

/** Labels longer than this are cut at a word, so a narrow side bar still shows the state and dependencies. */
export const TITLE_MAX = 28;

export function shortTitle(title: string): string {
  const oneLine = title.replace(/\s+/g, ' ').trim();
  if (oneLine.length <= TITLE_MAX) return oneLine;
  const cut = oneLine.slice(0, TITLE_MAX - 1);
  const word = cut.lastIndexOf(' ');
  return `${word > TITLE_MAX / 2 ? cut.slice(0, word) : cut}…`;
}

/** The URI that carries a task row's problem badge (see TaskProblemDecorations). */
export function taskProblemUri(entry: PlanEntry, taskId: string): vscode.Uri {
  return vscode.Uri.from({ scheme: 'plan-task', path: entry.uri.path, query: taskId });
}

export function planItem(workspace: PlanWorkspace, entry: PlanEntry, running: boolean): vscode.TreeItem {
  const plan = entry.analysis?.plan;
  const name = path.basename(entry.uri.fsPath);
  const item = new vscode.TreeItem(plan?.title || name, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `plan:${entry.uri}`;
  // Menus read it: Stop only while an orchestrator runs the plan.
  item.contextValue = running ? 'plan.running' : 'plan';
  item.resourceUri = entry.uri;
  item.command = { command: 'planOrchestrator.openPlan', title: 'Open Plan', arguments: [entry.uri] };
  const active = workspace.pointedPlan() === entry;
  const c = countsOf(workspace, entry);
  if (!plan || !c) {
    item.description = entry.loadError ? 'cannot read' : '';
    item.iconPath = new vscode.ThemeIcon('warning');
    return item;
  }
  item.description = `${progressLine(c)}${entry.runsIn ? ` · ⎇ ${entry.runsIn.branch}` : ''}${running ? ' · running' : ''}${active ? ' · active' : ''}`;
  const finished = c.tasks.total + c.checks.total > 0 && c.tasks.done === c.tasks.total && c.checks.done === c.checks.total;
  item.iconPath = new vscode.ThemeIcon(finished ? 'pass-filled' : c.running > 0 ? 'sync~spin' : 'checklist');
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escape(plan.title || name)}**\n\n`);
  md.appendText(`${vscode.workspace.asRelativePath(entry.uri)} · ${plan.dialect} dialect`);
  md.appendMarkdown('\n\n');
  const parts = [`${c.tasks.done} of ${plural(c.tasks.total, 'task')} done`];
  if (c.checks.total) parts.push(`${c.checks.done} of ${plural(c.checks.total, 'check')} passed`);
  parts.push(`${c.running} running`, `${c.failed} failed`);
  md.appendText(parts.join(', '));
  if (c.optional) md.appendText(` (${plural(c.optional, 'optional task')} not counted)`);
  if (entry.runsIn) md.appendMarkdown(`\n\nRuns in its worktree on \`${entry.runsIn.branch}\`; the states shown are the worktree's.`);
  if (running) md.appendMarkdown('\n\n$(run-all) An orchestrator is running it.');
  // The same count as the badge VS Code puts on the file (errors and warnings, every source).
  const problems = problemText(problemCounts(entry.uri));
  if (problems) md.appendMarkdown(`\n\n$(error) ${problems} in the plan`);
  item.tooltip = md;
  return item;
}

export function phaseItem(workspace: PlanWorkspace, entry: PlanEntry, phaseIndex: number): vscode.TreeItem {
  const phase = entry.analysis!.plan.phases[phaseIndex]!;
  const c = countsOf(workspace, entry, (t) => t.phaseIndex === phaseIndex)!;
  const item = new vscode.TreeItem(`Phase ${phase.id}: ${phase.title}`, vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `phase:${entry.uri}:${phaseIndex}`;
  item.contextValue = 'phase';
  item.description = formatCounts(c);
  const all = c.tasks.total + c.checks.total;
  const done = c.tasks.done + c.checks.done;
  item.iconPath = new vscode.ThemeIcon(all > 0 && done === all ? 'pass' : c.running ? 'sync~spin' : done > 0 ? 'circle-large-filled' : 'circle-large-outline');
  item.command = { command: 'planOrchestrator.revealTask', title: 'Go to Phase', arguments: [entry.uri, phase.range.start.line] };
  return item;
}

export function groupItem(entry: PlanEntry, state: TaskDisplayState, count: number): vscode.TreeItem {
  const item = new vscode.TreeItem(STATE_TITLE[state], state === 'running' || state === 'failed' || state === 'ready' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
  item.id = `group:${entry.uri}:${state}`;
  item.contextValue = `group.${state}`;
  item.description = String(count);
  item.iconPath = ICONS[state];
  return item;
}

/** The shield of a failed task whose agent waits for an approval. */
function needsApproval(view: TaskView, record: TaskRecord | undefined): boolean {
  return view.state === 'failed' && (record?.run?.needsApproval?.length ?? 0) > 0;
}

/**
 * `contextValue` of a task row, which the menus match: `task.<state>`, then `.needsApproval`,
 * `.verify`, `.optional`, `.log` (its agent ran) when they apply, in that order.
 */
export function taskContext(view: TaskView, record: TaskRecord | undefined): string {
  return `task.${view.state}${needsApproval(view, record) ? '.needsApproval' : ''}${view.task.kind === 'verify' ? '.verify' : ''}${view.task.optional ? '.optional' : ''}${record?.run?.log ? '.log' : ''}`;
}

/** What a task waits for as written (`⇠ 1.1, Phase 2`), else as the graph has it; never its own children. */
export function shownDependencies(view: TaskView): string[] {
  const explicit = view.task.dependsOn.map((d) => (d.kind === 'phase' ? `Phase ${d.target}` : d.target));
  return explicit.length > 0 ? explicit : view.dependsOn;
}

export function taskItem(entry: PlanEntry, view: TaskView, problems: ProblemCounts | undefined, grouped: boolean): vscode.TreeItem {
  const t = view.task;
  const item = new vscode.TreeItem(`${t.id} ${shortTitle(t.title)}`, t.childIds.length > 0 && !grouped ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
  item.id = `${grouped ? 'grouped' : 'task'}:${entry.uri}:${t.id}`;
  const record = entry.status?.tasks[t.id];
  const approval = needsApproval(view, record);
  item.contextValue = taskContext(view, record);
  item.iconPath = approval ? new vscode.ThemeIcon('shield', new vscode.ThemeColor('problemsWarningIcon.foreground')) : ICONS[view.state];
  const shown = shownDependencies(view);
  item.description = [
    view.state === 'ready' || view.state === 'blocked' ? '' : approval ? 'needs approval' : view.state,
    t.optional ? '(optional)' : '',
    agentLine(view.state, record),
    problems && problems.errors + problems.warnings > 0 ? problemText(problems) : '',
    shown.length > 0 ? `⇠ ${shown.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' · ');
  // A badge and the error colour on the label, as the Explorer marks a file with problems.
  if (problems && problems.errors + problems.warnings > 0) item.resourceUri = taskProblemUri(entry, t.id);
  item.tooltip = taskTooltip(entry, view);
  item.command = { command: 'planOrchestrator.revealTask', title: 'Go to Task', arguments: [entry.uri, t.range.start.line] };
  if (vscode.workspace.isTrusted) {
    item.checkboxState = {
      state: view.state === 'done' || view.state === 'skipped' ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked,
      tooltip: view.state === 'done' ? 'Reset this task' : 'Mark this task complete',
    };
  }
  return item;
}

function taskTooltip(entry: PlanEntry, view: TaskView): vscode.MarkdownString {
  const t: Task = view.task;
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${escape(t.id)}** ${escape(t.title)}\n\n`);
  md.appendMarkdown(`State: **${view.state}**${t.optional ? ' · optional (not counted in the progress)' : ''}${t.estimateMinutes !== undefined ? ` · estimate ${t.estimateMinutes} min` : ''}\n\n`);
  if (t.childIds.length) md.appendMarkdown(`Subtasks: ${t.childIds.join(', ')}\n\n`);
  if (view.dependsOn.length) md.appendMarkdown(`Depends on: ${view.dependsOn.join(', ')}\n\n`);
  if (view.waitsFor.length) md.appendMarkdown(`Waits for: ${view.waitsFor.map((w) => `${w.id} (${w.state})`).join(', ')}\n\n`);
  if (view.dependents.length) md.appendMarkdown(`Needed by: ${view.dependents.join(', ')}\n\n`);
  if (t.files.length) md.appendMarkdown(`Files: ${t.files.map((f) => `\`${f.path}\``).join(', ')}\n\n`);
  const record = entry.status?.tasks[t.id];
  if (record?.history?.length) {
    md.appendMarkdown('History:\n');
    for (const h of record.history.slice(-5)) md.appendMarkdown(`- ${escape(humanTime(h.at))}: ${h.status}${h.note ? ` — ${escape(h.note)}` : ''}\n`);
  }
  if (record?.lastError) md.appendMarkdown(`\nLast error: ${escape(record.lastError)}\n`);
  const run = record?.run;
  if (run?.needsApproval?.length) md.appendMarkdown(`\nWaiting for approval: ${run.needsApproval.map((d) => `\`${d.rule}\``).join(', ')} (Approve and Retry)\n`);
  if (run?.kind) {
    const parts = [run.kind, run.host ? `on ${run.host}` : '', run.model, run.turn ? `turn ${run.turn}` : '', run.totalCostUsd ?? run.costUsd ? `$${(run.totalCostUsd ?? run.costUsd)!.toFixed(2)}` : '', run.commit ? `commit ${run.commit.slice(0, 7)}` : ''];
    md.appendMarkdown(`\nAgent: ${escape(parts.filter(Boolean).join(' · '))}${run.activity ? `\n\nLatest: ${escape(run.activity)}` : ''}\n`);
  }
  return md;
}

/** What the agent is doing (running) or why it stopped (failed), short enough for a row. */
export function agentLine(state: string, record: TaskRecord | undefined): string {
  const run = record?.run;
  if (state === 'running' && run?.activity) {
    return [run.activity.length > 48 ? `${run.activity.slice(0, 47)}…` : run.activity, run.turn ? `turn ${run.turn}` : '', run.costUsd ? `$${run.costUsd.toFixed(2)}` : ''].filter(Boolean).join(' · ');
  }
  if (state === 'failed' && record?.lastError) return record.lastError.length > 60 ? `${record.lastError.slice(0, 59)}…` : record.lastError;
  return '';
}

export function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}

/**
 * Problem badges on task rows: a row with errors or warnings on its lines carries a `plan-task:` URI,
 * which this provider decorates like the Explorer decorates a file with problems.
 */
export class TaskProblemDecorations implements vscode.FileDecorationProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri[] | undefined>();
  readonly onDidChangeFileDecorations = this.emitter.event;
  private readonly registration: vscode.Disposable;

  constructor(private readonly problemsOf: (uri: vscode.Uri, taskId: string) => ProblemCounts | undefined) {
    this.registration = vscode.window.registerFileDecorationProvider(this);
  }

  changed(): void {
    this.emitter.fire(undefined);
  }

  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== 'plan-task') return undefined;
    const p = this.problemsOf(uri.with({ scheme: 'file', query: '' }), uri.query);
    if (!p || p.errors + p.warnings === 0) return undefined;
    const n = p.errors || p.warnings;
    return new vscode.FileDecoration(
      n < 10 ? String(n) : '9+',
      problemText(p),
      new vscode.ThemeColor(p.errors ? 'list.errorForeground' : 'list.warningForeground'),
    );
  }

  dispose(): void {
    this.registration.dispose();
    this.emitter.dispose();
  }
}
