/**
 * The task actions in the editor, where CodeLens used to put them above every task: Ctrl+. (or the
 * light bulb) on a task's line offers what the tree's context menu offers for its state.
 */
import * as vscode from 'vscode';
import type { PlanWorkspace } from './planWorkspace.js';
import { taskViews, type TaskDisplayState } from './taskState.js';

interface Action {
  title: string;
  command: string;
  /** The states it is offered in. */
  when: readonly TaskDisplayState[];
  /** Only for a task whose agent ran (it has a log). */
  needsLog?: boolean;
}

/** The same rules as the tree's menus (package.json): Complete never on a blocked task. */
const ACTIONS: readonly Action[] = [
  { title: 'Run Task {id}', command: 'planOrchestrator.runTask', when: ['ready', 'blocked', 'failed'] },
  { title: 'Mark Task {id} Complete', command: 'planOrchestrator.completeTask', when: ['ready', 'running', 'failed'] },
  { title: 'Mark Task {id} Started', command: 'planOrchestrator.startTask', when: ['ready', 'failed'] },
  { title: 'Skip Task {id}', command: 'planOrchestrator.skipTask', when: ['ready', 'blocked', 'failed'] },
  { title: 'Reset Task {id}', command: 'planOrchestrator.resetTask', when: ['done', 'skipped', 'failed', 'running'] },
  { title: 'Show Agent Output of {id}', command: 'planOrchestrator.showAgentOutput', when: ['running', 'failed', 'done'], needsLog: true },
];

export const TASK_ACTION_KIND = vscode.CodeActionKind.Empty.append('planOrchestrator').append('task');

export class TaskCodeActions implements vscode.CodeActionProvider {
  static readonly providedCodeActionKinds = [TASK_ACTION_KIND];

  constructor(private readonly workspace: PlanWorkspace) {}

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] | undefined {
    if (context.only && !context.only.contains(TASK_ACTION_KIND) && !TASK_ACTION_KIND.contains(context.only)) return undefined;
    const entry = this.workspace.get(document.uri);
    if (!entry?.analysis || !vscode.workspace.isTrusted) return undefined;
    const line = range.start.line + 1;
    // The innermost task on the line: a Kiro parent's range holds its children's lines.
    const view = [...taskViews(this.workspace, entry).values()]
      .filter((v) => v.task.range.start.line <= line && line <= v.task.range.end.line)
      .sort((a, b) => b.task.range.start.line - a.task.range.start.line)[0];
    if (!view) return undefined;
    const hasLog = Boolean(entry.status?.tasks[view.task.id]?.run?.log);
    const arg = { uri: entry.uri, id: view.task.id };
    return ACTIONS.filter((a) => a.when.includes(view.state) && (!a.needsLog || hasLog)).map((a) => {
      const action = new vscode.CodeAction(a.title.replace('{id}', view.task.id), TASK_ACTION_KIND);
      action.command = { title: action.title, command: a.command, arguments: [arg] };
      return action;
    });
  }
}
