/**
 * The Plans view: plans → phases → tasks and VERIFY items. Nodes are kept by key so that a change
 * refreshes only the rows whose rendering changed (VS Code re-renders exactly what we fire).
 */
import * as vscode from 'vscode';
import path from 'node:path';
import type { Phase, Task } from '../core/model.js';
import type { TaskRecord } from '../core/status.js';
import { planProgress } from '../core/progress.js';
import type { PlanChange, PlanEntry, PlanWorkspace } from './planWorkspace.js';
import { taskViews, type TaskDisplayState, type TaskView } from './taskState.js';

export type PlanTreeNode =
  | { kind: 'plan'; key: string; entry: PlanEntry }
  | { kind: 'phase'; key: string; entry: PlanEntry; phaseIndex: number }
  | { kind: 'task'; key: string; entry: PlanEntry; taskId: string }
  | { kind: 'message'; key: string; entry: PlanEntry; text: string };

const ICONS: Record<TaskDisplayState, vscode.ThemeIcon> = {
  done: new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed')),
  running: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  skipped: new vscode.ThemeIcon('debug-step-over', new vscode.ThemeColor('disabledForeground')),
  ready: new vscode.ThemeIcon('circle-large-outline'),
  blocked: new vscode.ThemeIcon('lock-small', new vscode.ThemeColor('disabledForeground')),
};

export class PlanTreeProvider implements vscode.TreeDataProvider<PlanTreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<PlanTreeNode | PlanTreeNode[] | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly nodes = new Map<string, PlanTreeNode>();
  /** What each row looked like when last rendered; a change fires only rows whose signature moved. */
  private readonly rendered = new Map<string, string>();
  /** Child keys per parent, to tell structural changes (refresh the parent) from state changes. */
  private readonly childKeys = new Map<string, string>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Number of rows handed to VS Code since start: lets tests and benchmarks see partial refreshes. */
  renderedItems = 0;

  constructor(private readonly workspace: PlanWorkspace) {
    this.disposables.push(
      this.emitter,
      workspace.onDidChangePlans(() => this.refreshAll()),
      workspace.onDidChangePlan((c) => this.onPlanChanged(c)),
    );
  }

  refreshAll(): void {
    this.rendered.clear();
    this.childKeys.clear();
    this.emitter.fire(undefined);
  }

  private node<T extends PlanTreeNode>(make: T): T {
    const existing = this.nodes.get(make.key) as T | undefined;
    if (existing && existing.entry === make.entry) return existing;
    this.nodes.set(make.key, make);
    return make;
  }

  private planNode(entry: PlanEntry): PlanTreeNode {
    return this.node({ kind: 'plan', key: `plan:${entry.uri}`, entry });
  }

  private readonly queued = new Set<PlanEntry>();

  /**
   * Diffs after the current task, coalescing bursts: whoever caused the change (an edit being
   * checked, a status write) finishes first, and diagnostics are not held up by the tree.
   */
  private onPlanChanged(change: PlanChange): void {
    if (this.queued.size === 0) {
      setTimeout(() => {
        const entries = [...this.queued];
        this.queued.clear();
        for (const e of entries) this.diffPlan(e);
      }, 0);
    }
    this.queued.add(change.entry);
  }

  /** Fires the smallest set of rows that changed for one plan. */
  private diffPlan(entry: PlanEntry): void {
    const planKey = `plan:${entry.uri}`;
    if (!this.rendered.has(planKey)) return; // never shown: nothing to update
    const changed: PlanTreeNode[] = [];
    const visit = (n: PlanTreeNode): boolean => {
      const kids = this.childrenOf(n);
      const kidKeys = kids.map((k) => k.key).join('\n');
      const structural = this.childKeys.has(n.key) && this.childKeys.get(n.key) !== kidKeys;
      if (structural || this.rendered.get(n.key) !== this.signature(n)) {
        changed.push(n);
        if (structural) return true;
      }
      if (this.childKeys.has(n.key)) for (const k of kids) if (this.rendered.has(k.key)) visit(k);
      return false;
    };
    visit(this.planNode(entry));
    if (changed.length > 0) this.emitter.fire(changed);
  }

  getChildren(element?: PlanTreeNode): PlanTreeNode[] {
    const kids = element ? this.childrenOf(element) : this.workspace.plans().map((e) => this.planNode(e));
    if (element) this.childKeys.set(element.key, kids.map((k) => k.key).join('\n'));
    return kids;
  }

  getParent(element: PlanTreeNode): PlanTreeNode | undefined {
    if (element.kind === 'plan') return undefined;
    const plan = element.entry.analysis?.plan;
    if (element.kind === 'task' && plan) {
      const task = plan.tasks.find((t) => t.id === element.taskId);
      if (task?.parentId) return this.taskNode(element.entry, task.parentId);
      const phase = task ? plan.phases[task.phaseIndex] : undefined;
      if (phase && !phase.implicit) return this.phaseNode(element.entry, task!.phaseIndex);
    }
    if (element.kind === 'task' || element.kind === 'phase' || element.kind === 'message') return this.planNode(element.entry);
    return undefined;
  }

  private phaseNode(entry: PlanEntry, phaseIndex: number): PlanTreeNode {
    return this.node({ kind: 'phase', key: `phase:${entry.uri}:${phaseIndex}`, entry, phaseIndex });
  }

  private taskNode(entry: PlanEntry, taskId: string): PlanTreeNode {
    return this.node({ kind: 'task', key: `task:${entry.uri}:${taskId}`, entry, taskId });
  }

  private tasksUnder(entry: PlanEntry, phase: Phase, parentId?: string): PlanTreeNode[] {
    const plan = entry.analysis!.plan;
    const seen = new Set<string>();
    const out: PlanTreeNode[] = [];
    for (const i of [...phase.taskIndices, ...phase.verifyIndices]) {
      const t = plan.tasks[i]!;
      if (t.parentId !== parentId || seen.has(t.id)) continue;
      seen.add(t.id);
      out.push(this.taskNode(entry, t.id));
    }
    return out;
  }

  private childrenOf(element: PlanTreeNode): PlanTreeNode[] {
    const entry = element.entry;
    const plan = entry.analysis?.plan;
    if (element.kind === 'plan') {
      if (entry.loadError) return [this.node({ kind: 'message', key: `msg:${entry.uri}`, entry, text: entry.loadError })];
      if (!plan) return [];
      const out: PlanTreeNode[] = [];
      if (entry.statusError) out.push(this.node({ kind: 'message', key: `msg:${entry.uri}:status`, entry, text: entry.statusError }));
      plan.phases.forEach((p, i) => {
        if (p.implicit) out.push(...this.tasksUnder(entry, p));
        else out.push(this.phaseNode(entry, i));
      });
      return out;
    }
    if (!plan) return [];
    if (element.kind === 'phase') {
      const phase = plan.phases[element.phaseIndex];
      return phase ? this.tasksUnder(entry, phase) : [];
    }
    if (element.kind === 'task') {
      const task = plan.tasks.find((t) => t.id === element.taskId);
      if (!task || task.childIds.length === 0) return [];
      return this.tasksUnder(entry, plan.phases[task.phaseIndex]!, task.id);
    }
    return [];
  }

  /** What a row shows, from the data alone (building the TreeItem, tooltip included, costs far more). */
  private signature(n: PlanTreeNode): string {
    const entry = n.entry;
    const trusted = vscode.workspace.isTrusted ? 't' : 'u';
    switch (n.kind) {
      case 'task': {
        const v = taskViews(this.workspace, entry).get(n.taskId);
        if (!v) return 'missing';
        const deps = v.task.dependsOn.map((d) => d.target).join(',') || v.dependsOn.join(',');
        const rec = entry.status?.tasks[n.taskId];
        const run = rec?.run;
        return `${v.task.title}|${v.state}|${deps}|${v.task.childIds.length}|${v.task.estimateMinutes}|${v.task.files.length}|${v.task.range.start.line}|${trusted}|${rec?.lastError ?? ''}|${run?.activity ?? ''}|${run?.turn ?? ''}|${run?.costUsd ?? ''}|${run?.needsApproval?.length ?? 0}`;
      }
      case 'phase': {
        const plan = entry.analysis?.plan;
        const phase = plan?.phases[n.phaseIndex];
        if (!plan || !phase) return 'missing';
        const views = taskViews(this.workspace, entry);
        const states = [...phase.taskIndices, ...phase.verifyIndices].map((i) => views.get(plan.tasks[i]!.id)?.state ?? '').join(',');
        return `${phase.id}|${phase.title}|${states}|${phase.range.start.line}`;
      }
      case 'plan': {
        const views = [...taskViews(this.workspace, entry).values()].map((v) => v.state[0]).join('');
        const a = entry.analysis;
        return `${a?.plan.title}|${views}|${a?.diagnostics.filter((d) => d.severity === 'error').length}|${this.workspace.pointedPlan() === entry}|${entry.loadError}|${entry.runsIn?.branch ?? ''}`;
      }
      case 'message':
        return n.text;
    }
  }

  getTreeItem(element: PlanTreeNode): vscode.TreeItem {
    const item = this.buildItem(element);
    this.rendered.set(element.key, this.signature(element));
    this.renderedItems++;
    return item;
  }

  private buildItem(element: PlanTreeNode): vscode.TreeItem {
    const entry = element.entry;
    switch (element.kind) {
      case 'plan':
        return this.planItem(entry);
      case 'phase':
        return this.phaseItem(entry, element.phaseIndex);
      case 'task':
        return this.taskItem(entry, element.taskId);
      case 'message': {
        const item = new vscode.TreeItem(element.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.tooltip = element.text;
        return item;
      }
    }
  }

  private planItem(entry: PlanEntry): vscode.TreeItem {
    const plan = entry.analysis?.plan;
    const name = path.basename(entry.uri.fsPath);
    const item = new vscode.TreeItem(plan?.title || name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `plan:${entry.uri}`;
    item.contextValue = 'plan';
    item.resourceUri = entry.uri;
    item.command = { command: 'planOrchestrator.openPlan', title: 'Open Plan', arguments: [entry.uri] };
    const active = this.workspace.pointedPlan() === entry;
    if (plan && entry.analysis) {
      const p = planProgress(plan, entry.analysis.graph, this.workspace.statusOf(entry));
      item.description = `${p.done}/${p.total} · ${p.percent}%${entry.runsIn ? ` · ⎇ ${entry.runsIn.branch}` : ''}${active ? ' · active' : ''}`;
      item.iconPath = new vscode.ThemeIcon(p.total > 0 && p.done === p.total ? 'pass-filled' : p.running > 0 ? 'sync~spin' : 'checklist');
      const errors = entry.analysis.diagnostics.filter((d) => d.severity === 'error').length;
      item.tooltip = new vscode.MarkdownString(
        `**${plan.title || name}**\n\n${vscode.workspace.asRelativePath(entry.uri)} · ${plan.dialect} dialect\n\n` +
          `${p.done} of ${p.total} done, ${p.running} running, ${p.failed} failed` +
          (entry.runsIn ? `\n\nRuns in its worktree on ${entry.runsIn.branch} (${entry.runsIn.path}); the states shown are the worktree's.` : '') +
          (errors ? `\n\n$(error) ${errors} error${errors === 1 ? '' : 's'} in the plan` : ''),
        true,
      );
    } else {
      item.description = entry.loadError ? 'cannot read' : '';
      item.iconPath = new vscode.ThemeIcon('warning');
    }
    return item;
  }

  private phaseItem(entry: PlanEntry, phaseIndex: number): vscode.TreeItem {
    const plan = entry.analysis!.plan;
    const phase = plan.phases[phaseIndex]!;
    const views = taskViews(this.workspace, entry);
    const members = [...phase.taskIndices, ...phase.verifyIndices].map((i) => views.get(plan.tasks[i]!.id)).filter((v): v is TaskView => !!v);
    const done = members.filter((v) => v.state === 'done' || v.state === 'skipped').length;
    const running = members.some((v) => v.state === 'running');
    const item = new vscode.TreeItem(`Phase ${phase.id}: ${phase.title}`, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `phase:${entry.uri}:${phaseIndex}`;
    item.contextValue = 'phase';
    item.description = `${done}/${members.length}`;
    item.iconPath = new vscode.ThemeIcon(
      members.length > 0 && done === members.length ? 'pass' : running ? 'sync~spin' : done > 0 ? 'circle-large-filled' : 'circle-large-outline',
    );
    item.command = { command: 'planOrchestrator.revealTask', title: 'Go to Phase', arguments: [entry.uri, phase.range.start.line] };
    return item;
  }

  private taskItem(entry: PlanEntry, taskId: string): vscode.TreeItem {
    const view = taskViews(this.workspace, entry).get(taskId);
    if (!view) return new vscode.TreeItem(taskId);
    const t = view.task;
    const item = new vscode.TreeItem(
      `${t.id} ${t.title}`,
      t.childIds.length > 0 ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `task:${entry.uri}:${t.id}`;
    const record = entry.status?.tasks[t.id];
    const needsApproval = view.state === 'failed' && (record?.run?.needsApproval?.length ?? 0) > 0;
    // Menus read these: `task.failed` offers Retry, `.log` Open Log (a task whose agent ran).
    item.contextValue = `${needsApproval ? 'task.needsApproval' : view.state === 'failed' ? 'task.failed' : t.kind === 'verify' ? 'task.verify' : 'task'}${record?.run?.log ? '.log' : ''}`;
    item.iconPath = needsApproval ? new vscode.ThemeIcon('shield', new vscode.ThemeColor('problemsWarningIcon.foreground')) : ICONS[view.state];
    const explicit = t.dependsOn.map((d) => (d.kind === 'phase' ? `Phase ${d.target}` : d.target));
    const shown = explicit.length > 0 ? explicit : view.dependsOn;
    item.description = [
      view.state === 'ready' || view.state === 'blocked' ? '' : needsApproval ? 'needs approval' : view.state,
      agentLine(view.state, record),
      shown.length > 0 ? `⇠ ${shown.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    item.tooltip = this.taskTooltip(entry, view);
    item.command = { command: 'planOrchestrator.revealTask', title: 'Go to Task', arguments: [entry.uri, t.range.start.line] };
    if (vscode.workspace.isTrusted) {
      item.checkboxState = {
        state: view.state === 'done' || view.state === 'skipped' ? vscode.TreeItemCheckboxState.Checked : vscode.TreeItemCheckboxState.Unchecked,
        tooltip: view.state === 'done' ? 'Reset this task' : 'Mark this task complete',
      };
    }
    return item;
  }

  private taskTooltip(entry: PlanEntry, view: TaskView): vscode.MarkdownString {
    const t: Task = view.task;
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${t.id}** ${escape(t.title)}\n\n`);
    md.appendMarkdown(`State: **${view.state}**${t.estimateMinutes !== undefined ? ` · estimate ${t.estimateMinutes} min` : ''}\n\n`);
    if (view.dependsOn.length) md.appendMarkdown(`Depends on: ${view.dependsOn.join(', ')}\n\n`);
    if (view.waitsFor.length) md.appendMarkdown(`Waits for: ${view.waitsFor.map((w) => `${w.id} (${w.state})`).join(', ')}\n\n`);
    if (view.dependents.length) md.appendMarkdown(`Needed by: ${view.dependents.join(', ')}\n\n`);
    if (t.files.length) md.appendMarkdown(`Files: ${t.files.map((f) => `\`${f.path}\``).join(', ')}\n\n`);
    const record = entry.status?.tasks[t.id];
    if (record?.history?.length) {
      md.appendMarkdown('History:\n');
      for (const h of record.history.slice(-5)) md.appendMarkdown(`- ${h.at}: ${h.status}${h.note ? ` — ${escape(h.note)}` : ''}\n`);
    }
    if (record?.lastError) md.appendMarkdown(`\nLast error: ${escape(record.lastError)}\n`);
    const run = record?.run;
    if (run?.needsApproval?.length) md.appendMarkdown(`\nWaiting for approval: ${run.needsApproval.map((d) => `\`${d.rule}\``).join(', ')} (Approve and Retry)\n`);
    if (run?.kind) {
      const parts = [run.kind, run.model, run.turn ? `turn ${run.turn}` : '', run.totalCostUsd ?? run.costUsd ? `$${(run.totalCostUsd ?? run.costUsd)!.toFixed(2)}` : '', run.commit ? `commit ${run.commit.slice(0, 7)}` : ''];
      md.appendMarkdown(`\nAgent: ${escape(parts.filter(Boolean).join(' · '))}${run.activity ? `\n\nLatest: ${escape(run.activity)}` : ''}\n`);
    }
    return md;
  }

  /** Ticking a row completes the task; unticking resets it. */
  bindCheckboxes(view: vscode.TreeView<PlanTreeNode>): vscode.Disposable {
    return view.onDidChangeCheckboxState(async (e) => {
      for (const [node, state] of e.items) {
        if (node.kind !== 'task') continue;
        try {
          await this.workspace.setTaskStatus(node.entry, node.taskId, state === vscode.TreeItemCheckboxState.Checked ? 'completed' : 'pending');
        } catch (err) {
          void vscode.window.showErrorMessage(`Plan Orchestrator: ${err instanceof Error ? err.message : String(err)}`);
          this.emitter.fire(node);
        }
      }
    });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** What the agent is doing (running) or why it stopped (failed), short enough for a row. */
function agentLine(state: string, record: TaskRecord | undefined): string {
  const run = record?.run;
  if (state === 'running' && run?.activity) {
    return [run.activity.length > 48 ? `${run.activity.slice(0, 47)}…` : run.activity, run.turn ? `turn ${run.turn}` : '', run.costUsd ? `$${run.costUsd.toFixed(2)}` : ''].filter(Boolean).join(' · ');
  }
  if (state === 'failed' && record?.lastError) return record.lastError.length > 60 ? `${record.lastError.slice(0, 59)}…` : record.lastError;
  return '';
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
