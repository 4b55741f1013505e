/**
 * Editor decorations on plan documents: after each task line its live state and what it waits for
 * ("waits for 1.2 (running)"), and the dependencies/dependents of the task under the cursor highlighted.
 * CodeLens only above the plan's title (run, stop) and its phase headings (progress, ready tasks): a
 * lens above every task would double the plan's line height. Task actions live in the tree, the
 * hover and the editor's code actions (language.ts).
 */
import * as vscode from 'vscode';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';
import { countsOf, taskViews, type TaskDisplayState, type TaskView } from './taskState.js';
import { formatCounts } from '../core/progress.js';

const STATE_TEXT: Record<TaskDisplayState, string> = {
  done: '✓ done',
  running: '● running',
  failed: '✗ failed',
  skipped: '↷ skipped',
  ready: '○ ready',
  blocked: '◌ blocked',
};

const STATE_COLOR: Record<TaskDisplayState, string> = {
  done: 'testing.iconPassed',
  running: 'charts.blue',
  failed: 'testing.iconFailed',
  skipped: 'disabledForeground',
  ready: 'editorCodeLens.foreground',
  blocked: 'editorCodeLens.foreground',
};

function describe(view: TaskView): string {
  if (view.state !== 'blocked') return STATE_TEXT[view.state];
  const waits = view.waitsFor.slice(0, 3).map((w) => `${w.id} (${w.state})`);
  return `waits for ${waits.join(', ')}${view.waitsFor.length > 3 ? ` +${view.waitsFor.length - 3}` : ''}`;
}

export class TaskDecorations implements vscode.Disposable {
  private readonly stateTypes = new Map<TaskDisplayState, vscode.TextEditorDecorationType>();
  private readonly dependencyType = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.wordHighlightBackground'),
    isWholeLine: true,
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.wordHighlightForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });
  private readonly dependentType = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.wordHighlightStrongBackground'),
    isWholeLine: true,
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.wordHighlightStrongForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
  });
  private readonly disposables: vscode.Disposable[] = [];
  private readonly lenses = new vscode.EventEmitter<void>();

  /** `isRunning` tells whether an orchestrator runs the plan; `onDidChangeRunning` when that may have changed. */
  constructor(
    private readonly workspace: PlanWorkspace,
    private readonly isRunning: (entry: PlanEntry) => boolean = () => false,
    onDidChangeRunning?: vscode.Event<void>,
  ) {
    if (onDidChangeRunning) this.disposables.push(onDidChangeRunning(() => this.lenses.fire()));
    for (const state of Object.keys(STATE_TEXT) as TaskDisplayState[]) {
      this.stateTypes.set(
        state,
        vscode.window.createTextEditorDecorationType({
          after: { margin: '0 0 0 2em', color: new vscode.ThemeColor(STATE_COLOR[state]), fontStyle: 'italic' },
          rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
        }),
      );
    }
    this.disposables.push(
      this.dependencyType,
      this.dependentType,
      this.lenses,
      ...this.stateTypes.values(),
      vscode.window.onDidChangeVisibleTextEditors(() => this.renderAll()),
      vscode.window.onDidChangeTextEditorSelection((e) => this.highlight(e.textEditor)),
      // After the current task, so that whoever changed the plan (an edit being checked) finishes first.
      workspace.onDidChangePlan((c) =>
        setTimeout(() => {
          for (const editor of vscode.window.visibleTextEditors) if (editor.document.uri.toString() === c.entry.uri.toString()) this.render(editor);
          this.lenses.fire();
        }, 0),
      ),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('planOrchestrator.decorations')) this.renderAll();
      }),
      vscode.languages.registerCodeLensProvider({ language: 'markdown' }, { provideCodeLenses: (doc) => this.codeLenses(doc), onDidChangeCodeLenses: this.lenses.event }),
    );
    this.renderAll();
  }

  private entryFor(editor: vscode.TextEditor): PlanEntry | undefined {
    const entry = this.workspace.get(editor.document.uri);
    // Decorations describe the analysed text; while an edit is being analysed, line numbers may not match.
    return entry?.analysis && entry.analyzedVersion === editor.document.version ? entry : entry?.analyzedVersion === -1 && !editor.document.isDirty ? entry : undefined;
  }

  private renderAll(): void {
    for (const editor of vscode.window.visibleTextEditors) this.render(editor);
  }

  private render(editor: vscode.TextEditor): void {
    const entry = this.entryFor(editor);
    const enabled = vscode.workspace.getConfiguration('planOrchestrator').get<boolean>('decorations', true);
    const byState = new Map<TaskDisplayState, vscode.DecorationOptions[]>();
    if (entry && enabled) {
      for (const view of taskViews(this.workspace, entry).values()) {
        const line = view.task.range.start.line - 1;
        if (line >= editor.document.lineCount) continue;
        const end = editor.document.lineAt(line).range.end;
        const list = byState.get(view.state) ?? [];
        list.push({ range: new vscode.Range(end, end), renderOptions: { after: { contentText: describe(view) } } });
        byState.set(view.state, list);
      }
    }
    for (const [state, type] of this.stateTypes) editor.setDecorations(type, byState.get(state) ?? []);
    this.highlight(editor);
  }

  /** The task under the cursor: its dependencies and dependents light up. */
  private highlight(editor: vscode.TextEditor): void {
    const entry = this.entryFor(editor);
    const deps: vscode.Range[] = [];
    const dependents: vscode.Range[] = [];
    if (entry?.analysis) {
      const line = editor.selection.active.line + 1;
      const views = taskViews(this.workspace, entry);
      const current = [...views.values()].find((v) => v.task.range.start.line === line);
      if (current) {
        const lineOf = (id: string): vscode.Range | undefined => {
          const t = views.get(id)?.task;
          return t ? new vscode.Range(t.range.start.line - 1, 0, t.range.start.line - 1, 0) : undefined;
        };
        for (const id of current.dependsOn) {
          const r = lineOf(id);
          if (r) deps.push(r);
        }
        for (const id of current.dependents) {
          const r = lineOf(id);
          if (r) dependents.push(r);
        }
      }
    }
    editor.setDecorations(this.dependencyType, deps);
    editor.setDecorations(this.dependentType, dependents);
  }

  private codeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const entry = this.workspace.get(document.uri);
    if (!entry?.analysis || (entry.analyzedVersion !== document.version && entry.analyzedVersion !== -1)) return [];
    const trusted = vscode.workspace.isTrusted;
    const lenses: vscode.CodeLens[] = [];
    const views = taskViews(this.workspace, entry);
    const plan = entry.analysis.plan;
    plan.phases.forEach((phase, phaseIndex) => {
      if (phase.implicit) return;
      const members = [...phase.taskIndices, ...phase.verifyIndices].map((i) => views.get(plan.tasks[i]!.id)!).filter(Boolean);
      const ready = members.filter((v) => v.state === 'ready' && v.task.childIds.length === 0).map((v) => v.task.id);
      const counts = countsOf(this.workspace, entry, (t) => t.phaseIndex === phaseIndex)!;
      const range = new vscode.Range(phase.range.start.line - 1, 0, phase.range.start.line - 1, 0);
      lenses.push(
        new vscode.CodeLens(range, {
          title: `${formatCounts(counts)}${ready.length ? ` · ready: ${ready.slice(0, 4).join(', ')}${ready.length > 4 ? '…' : ''}` : ''}`,
          command: 'planOrchestrator.showNextTasks',
          arguments: [entry.uri],
        }),
      );
    });
    if (!trusted || !plan.titleRange) return lenses;
    const at = new vscode.Range(plan.titleRange.start.line - 1, 0, plan.titleRange.start.line - 1, 0);
    if (this.isRunning(entry)) lenses.push(new vscode.CodeLens(at, { title: '$(debug-stop) Stop orchestrator', command: 'planOrchestrator.stopOrchestrator', arguments: [entry.uri] }));
    else lenses.push(new vscode.CodeLens(at, { title: '$(run-all) Run orchestrator', command: 'planOrchestrator.startOrchestrator', arguments: [entry.uri] }));
    lenses.push(new vscode.CodeLens(at, { title: '$(graph) Schedule', command: 'planOrchestrator.showSchedule', arguments: [entry.uri] }));
    return lenses;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
