/**
 * The Plans view: plans → phases → tasks and VERIFY items (or, grouped by state, plans → Running,
 * Failed, Ready, Blocked, Done → tasks), filtered by text and state (treeOptions.ts). Nodes are kept
 * by key so that a change refreshes only the rows whose rendering changed (VS Code re-renders exactly
 * what we fire). How each row looks is planTreeItems.ts.
 */
import * as vscode from 'vscode';
import type { Phase } from '../core/model.js';
import type { PlanChange, PlanEntry, PlanWorkspace } from './planWorkspace.js';
import { taskViews, type TaskDisplayState } from './taskState.js';
import { STATE_ORDER, type TreeOptions } from './treeOptions.js';
import { groupItem, phaseItem, planItem, taskItem, TaskProblemDecorations } from './planTreeItems.js';
import { problemCounts, type ProblemCounts } from './format.js';
import { setTaskState } from './taskActions.js';

export type PlanTreeNode =
  | { kind: 'plan'; key: string; entry: PlanEntry }
  | { kind: 'phase'; key: string; entry: PlanEntry; phaseIndex: number }
  | { kind: 'group'; key: string; entry: PlanEntry; state: TaskDisplayState }
  | { kind: 'task'; key: string; entry: PlanEntry; taskId: string; grouped?: TaskDisplayState }
  | { kind: 'message'; key: string; entry: PlanEntry; text: string };

/** Skipped tasks sit with the done ones when grouped: both are finished. */
const groupOf = (state: TaskDisplayState): TaskDisplayState => (state === 'skipped' ? 'done' : state);

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

  /** Plans an orchestrator runs (their URIs), for the plan rows' Stop action and description. */
  private running = new Set<string>();
  /** Problems per task of each analysis, for the rows' badges; dropped when diagnostics change. */
  private problemsCache = new WeakMap<object, Map<string, ProblemCounts>>();
  private readonly decorations: TaskProblemDecorations;

  constructor(
    private readonly workspace: PlanWorkspace,
    private readonly options: TreeOptions,
  ) {
    this.decorations = new TaskProblemDecorations((uri, id) => {
      const entry = workspace.get(uri);
      return entry ? this.taskProblems(entry).get(id) : undefined;
    });
    this.disposables.push(
      this.emitter,
      this.decorations,
      workspace.onDidChangePlans(() => this.refreshAll()),
      workspace.onDidChangePlan((c) => this.onPlanChanged(c)),
      options.onDidChange(() => this.refreshAll()),
      vscode.languages.onDidChangeDiagnostics((e) => {
        let any = false;
        for (const uri of e.uris) {
          const entry = workspace.get(uri);
          if (!entry?.analysis) continue;
          this.problemsCache.delete(entry.analysis);
          this.queue(entry);
          any = true;
        }
        if (any) this.decorations.changed();
      }),
    );
  }

  refreshAll(): void {
    this.rendered.clear();
    this.childKeys.clear();
    this.emitter.fire(undefined);
  }

  /** Which plans an orchestrator runs now (from the Orchestrators view's model). */
  setRunning(uris: ReadonlySet<string>): void {
    const changed = [...new Set([...uris, ...this.running])].filter((u) => uris.has(u) !== this.running.has(u));
    this.running = new Set(uris);
    for (const u of changed) {
      const entry = this.workspace.plans().find((e) => e.uri.toString() === u);
      if (entry) this.queue(entry);
    }
  }

  /** Errors and warnings on each task's lines (0-based), from every diagnostics source. */
  taskProblems(entry: PlanEntry): Map<string, ProblemCounts> {
    const analysis = entry.analysis;
    if (!analysis) return new Map();
    const cached = this.problemsCache.get(analysis);
    if (cached) return cached;
    const out = new Map<string, ProblemCounts>();
    const diagnostics = vscode.languages.getDiagnostics(entry.uri).filter((d) => d.severity <= vscode.DiagnosticSeverity.Warning);
    if (diagnostics.length > 0) {
      for (const t of analysis.plan.tasks) {
        // Only a task's own lines: a parent's range holds its children's, which carry their own.
        const first = t.range.start.line - 1;
        const last = t.childIds.length > 0 ? first : t.range.end.line - 1;
        const p = problemCounts(entry.uri, { start: first, end: last });
        if (p.errors + p.warnings > 0 && !out.has(t.id)) out.set(t.id, p);
      }
    }
    this.problemsCache.set(analysis, out);
    return out;
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

  private onPlanChanged(change: PlanChange): void {
    this.queue(change.entry);
  }

  /**
   * Diffs after the current task, coalescing bursts: whoever caused the change (an edit being
   * checked, a status write) finishes first, and diagnostics are not held up by the tree.
   */
  private queue(entry: PlanEntry): void {
    if (this.queued.size === 0) {
      setTimeout(() => {
        const entries = [...this.queued];
        this.queued.clear();
        // A filter can make a plan appear or disappear: the list of plans is then what changed.
        if (this.options.filter && entries.some((e) => this.visiblePlans().includes(e) !== this.rendered.has(`plan:${e.uri}`))) {
          this.refreshAll();
          return;
        }
        for (const e of entries) this.diffPlan(e);
      }, 0);
    }
    this.queued.add(entry);
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

  /** Plans with at least one task through the filter (every plan without a filter). */
  private visiblePlans(): PlanEntry[] {
    const plans = this.workspace.plans();
    if (!this.options.filter) return plans;
    return plans.filter((e) => [...taskViews(this.workspace, e).values()].some((v) => this.options.matches(v)));
  }

  getChildren(element?: PlanTreeNode): PlanTreeNode[] {
    const kids = element ? this.childrenOf(element) : this.visiblePlans().map((e) => this.planNode(e));
    if (element) this.childKeys.set(element.key, kids.map((k) => k.key).join('\n'));
    return kids;
  }

  getParent(element: PlanTreeNode): PlanTreeNode | undefined {
    if (element.kind === 'plan') return undefined;
    const plan = element.entry.analysis?.plan;
    if (element.kind === 'task' && element.grouped) return this.groupNode(element.entry, element.grouped);
    if (element.kind === 'task' && plan) {
      const task = plan.tasks.find((t) => t.id === element.taskId);
      if (task?.parentId) return this.taskNode(element.entry, task.parentId);
      const phase = task ? plan.phases[task.phaseIndex] : undefined;
      if (phase && !phase.implicit) return this.phaseNode(element.entry, task!.phaseIndex);
    }
    return this.planNode(element.entry);
  }

  private phaseNode(entry: PlanEntry, phaseIndex: number): PlanTreeNode {
    return this.node({ kind: 'phase', key: `phase:${entry.uri}:${phaseIndex}`, entry, phaseIndex });
  }

  private groupNode(entry: PlanEntry, state: TaskDisplayState): PlanTreeNode {
    return this.node({ kind: 'group', key: `group:${entry.uri}:${state}`, entry, state });
  }

  private taskNode(entry: PlanEntry, taskId: string, grouped?: TaskDisplayState): PlanTreeNode {
    return this.node({ kind: 'task', key: `${grouped ? 'grouped' : 'task'}:${entry.uri}:${taskId}`, entry, taskId, grouped });
  }

  /** Does the task, or one of its subtasks, pass the filter? */
  private shown(entry: PlanEntry, taskId: string, depth = 0): boolean {
    if (!this.options.filter) return true;
    const views = taskViews(this.workspace, entry);
    const v = views.get(taskId);
    if (!v) return false;
    if (this.options.matches(v)) return true;
    return depth < 16 && v.task.childIds.some((c) => this.shown(entry, c, depth + 1));
  }

  private tasksUnder(entry: PlanEntry, phase: Phase, parentId?: string): PlanTreeNode[] {
    const plan = entry.analysis!.plan;
    const seen = new Set<string>();
    const out: PlanTreeNode[] = [];
    for (const i of [...phase.taskIndices, ...phase.verifyIndices]) {
      const t = plan.tasks[i]!;
      if (t.parentId !== parentId || seen.has(t.id)) continue;
      seen.add(t.id);
      if (this.shown(entry, t.id)) out.push(this.taskNode(entry, t.id));
    }
    return out;
  }

  /** Work items in one state group: tasks without subtasks and VERIFY items, through the filter. */
  private groupMembers(entry: PlanEntry, state: TaskDisplayState): string[] {
    const out: string[] = [];
    for (const v of taskViews(this.workspace, entry).values()) {
      if (v.task.childIds.length === 0 && groupOf(v.state) === state && this.options.matches(v)) out.push(v.task.id);
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
      if (this.options.groupByState) {
        for (const state of STATE_ORDER) if (state !== 'skipped' && this.groupMembers(entry, state).length > 0) out.push(this.groupNode(entry, state));
        return out;
      }
      plan.phases.forEach((p, i) => {
        if (p.implicit) out.push(...this.tasksUnder(entry, p));
        else if (!this.options.filter || this.tasksUnder(entry, p).length > 0) out.push(this.phaseNode(entry, i));
      });
      return out;
    }
    if (!plan) return [];
    if (element.kind === 'group') return this.groupMembers(entry, element.state).map((id) => this.taskNode(entry, id, element.state));
    if (element.kind === 'phase') {
      const phase = plan.phases[element.phaseIndex];
      return phase ? this.tasksUnder(entry, phase) : [];
    }
    if (element.kind === 'task') {
      const task = plan.tasks.find((t) => t.id === element.taskId);
      if (!task || task.childIds.length === 0 || element.grouped) return [];
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
        const p = this.taskProblems(entry).get(n.taskId);
        return `${v.task.title}|${v.state}|${deps}|${v.task.childIds.length}|${v.task.estimateMinutes}|${v.task.files.length}|${v.task.range.start.line}|${trusted}|${rec?.lastError ?? ''}|${run?.activity ?? ''}|${run?.turn ?? ''}|${run?.costUsd ?? ''}|${run?.needsApproval?.length ?? 0}|${run?.log ?? ''}|${p ? `${p.errors}/${p.warnings}` : ''}|${rec?.history?.length ?? 0}`;
      }
      case 'phase': {
        const plan = entry.analysis?.plan;
        const phase = plan?.phases[n.phaseIndex];
        if (!plan || !phase) return 'missing';
        const views = taskViews(this.workspace, entry);
        const states = [...phase.taskIndices, ...phase.verifyIndices].map((i) => views.get(plan.tasks[i]!.id)?.state ?? '').join(',');
        return `${phase.id}|${phase.title}|${states}|${phase.range.start.line}`;
      }
      case 'group':
        return `${n.state}|${this.groupMembers(entry, n.state).length}`;
      case 'plan': {
        const views = [...taskViews(this.workspace, entry).values()].map((v) => v.state[0]).join('');
        const a = entry.analysis;
        const p = problemCounts(entry.uri);
        return `${a?.plan.title}|${views}|${p.errors}/${p.warnings}|${this.workspace.pointedPlan() === entry}|${entry.loadError}|${entry.runsIn?.branch ?? ''}|${this.running.has(entry.uri.toString())}`;
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
        return planItem(this.workspace, entry, this.running.has(entry.uri.toString()));
      case 'phase':
        return phaseItem(this.workspace, entry, element.phaseIndex);
      case 'group':
        return groupItem(entry, element.state, this.groupMembers(entry, element.state).length);
      case 'task': {
        const view = taskViews(this.workspace, entry).get(element.taskId);
        if (!view) return new vscode.TreeItem(element.taskId);
        return taskItem(entry, view, this.taskProblems(entry).get(element.taskId), element.grouped !== undefined);
      }
      case 'message': {
        const item = new vscode.TreeItem(element.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.tooltip = element.text;
        return item;
      }
    }
  }

  /** Ticking a row completes the task; unticking resets it. */
  bindCheckboxes(view: vscode.TreeView<PlanTreeNode>): vscode.Disposable {
    return view.onDidChangeCheckboxState(async (e) => {
      for (const [node, state] of e.items) {
        if (node.kind !== 'task') continue;
        try {
          await setTaskState(this.workspace, node.entry, node.taskId, state === vscode.TreeItemCheckboxState.Checked ? 'completed' : 'pending');
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
