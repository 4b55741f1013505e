/**
 * The command table: each command resolves its target (a tree node, a `{ uri, id }` from a CodeLens,
 * a Uri, or the editor's cursor), then calls core through PlanWorkspace.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import type { Task } from '../core/model.js';
import { readyTasks, type TaskStatus } from '../core/schedule.js';
import { tickCompletedTasks } from '../core/sync.js';
import { PlanError } from '../core/source.js';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';
import type { PlanTreeNode, PlanTreeProvider } from './planTree.js';
import { showSchedule } from './scheduleView.js';
import { formatInitReport, initRepository } from '../setup/init.js';
import { findRepoRoot } from '../core/status.js';
import { setTaskState } from './taskActions.js';

export interface CommandContext {
  extension: vscode.ExtensionContext;
  workspace: PlanWorkspace;
  tree: PlanTreeProvider;
  view: vscode.TreeView<PlanTreeNode>;
  log: vscode.LogOutputChannel;
}

type Handler = (...args: unknown[]) => Promise<unknown> | unknown;

function isUri(x: unknown): x is vscode.Uri {
  return x instanceof vscode.Uri;
}

function isNode(x: unknown): x is PlanTreeNode {
  return typeof x === 'object' && x !== null && 'kind' in x && 'entry' in x;
}

function isTaskRef(x: unknown): x is { uri: vscode.Uri; id: string } {
  return typeof x === 'object' && x !== null && 'uri' in x && 'id' in x && isUri((x as { uri: unknown }).uri);
}

export function commandTable(ctx: CommandContext): Record<string, Handler> {
  const { workspace } = ctx;

  const entryFromUri = (uri: vscode.Uri): PlanEntry => {
    const entry = workspace.get(uri);
    if (!entry) throw new PlanError('plan-not-found', `${vscode.workspace.asRelativePath(uri)} is not a plan of this workspace (see the planOrchestrator.planGlobs setting)`);
    return entry;
  };

  /** A plan from the argument, the active editor, or a quick pick. */
  const pickPlan = async (arg: unknown): Promise<PlanEntry | undefined> => {
    if (isNode(arg)) return arg.entry;
    if (isUri(arg)) return entryFromUri(arg);
    if (isTaskRef(arg)) return entryFromUri(arg.uri);
    const editor = vscode.window.activeTextEditor;
    const fromEditor = editor ? workspace.get(editor.document.uri) : undefined;
    if (fromEditor) return fromEditor;
    const plans = workspace.plans();
    if (plans.length === 0) throw new PlanError('plan-not-found', 'no plans in this workspace');
    if (plans.length === 1) return plans[0];
    const picked = await vscode.window.showQuickPick(
      plans.map((e) => ({ label: e.analysis?.plan.title || path.basename(e.uri.fsPath), description: vscode.workspace.asRelativePath(e.uri), entry: e })),
      { placeHolder: 'Choose a plan' },
    );
    return picked?.entry;
  };

  /** A task from the argument, the cursor line, or a quick pick. */
  const pickTask = async (arg: unknown): Promise<{ entry: PlanEntry; task: Task } | undefined> => {
    const find = (entry: PlanEntry, id: string): { entry: PlanEntry; task: Task } => {
      const task = entry.analysis?.plan.tasks.find((t) => t.id === id);
      if (!task) throw new PlanError('unknown-task', `unknown task ID "${id}" in ${vscode.workspace.asRelativePath(entry.uri)}`);
      return { entry, task };
    };
    if (isNode(arg) && arg.kind === 'task') return find(arg.entry, arg.taskId);
    if (isTaskRef(arg)) return find(entryFromUri(arg.uri), arg.id);
    const editor = vscode.window.activeTextEditor;
    const entry = editor ? workspace.get(editor.document.uri) : await pickPlan(arg);
    if (!entry?.analysis) return undefined;
    if (editor && workspace.get(editor.document.uri) === entry) {
      const line = editor.selection.active.line + 1;
      const atCursor = entry.analysis.plan.tasks.find((t) => t.range.start.line <= line && line <= t.range.end.line && t.childIds.length === 0);
      if (atCursor) return { entry, task: atCursor };
    }
    const picked = await vscode.window.showQuickPick(
      entry.analysis.plan.tasks.map((t) => ({ label: t.id, description: t.title, task: t })),
      { placeHolder: 'Choose a task', matchOnDescription: true },
    );
    return picked ? { entry, task: picked.task } : undefined;
  };

  const setStatus = (status: TaskStatus): Handler => async (arg) => {
    const target = await pickTask(arg);
    if (!target) return;
    let reason: string | undefined;
    if (status === 'failed') {
      reason = await vscode.window.showInputBox({ prompt: `Why did ${target.task.id} fail?`, placeHolder: 'e.g. tests fail on CI' });
      if (reason === undefined) return;
    }
    await setTaskState(workspace, target.entry, target.task.id, status, reason);
  };

  return {
    'planOrchestrator.refresh': async () => {
      await workspace.rescan();
      ctx.tree.refreshAll();
    },
    'planOrchestrator.setActivePlan': async (arg) => {
      const entry = await pickPlan(arg);
      if (!entry) return;
      if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: the active plan pointer is not written');
      const pointer = await workspace.setActivePlan(entry);
      void vscode.window.showInformationMessage(`Active plan: ${vscode.workspace.asRelativePath(entry.uri)} (${vscode.workspace.asRelativePath(pointer)})`);
    },
    'planOrchestrator.startTask': setStatus('in_progress'),
    'planOrchestrator.completeTask': setStatus('completed'),
    'planOrchestrator.failTask': setStatus('failed'),
    'planOrchestrator.skipTask': setStatus('skipped'),
    'planOrchestrator.resetTask': setStatus('pending'),
    'planOrchestrator.showNextTasks': async (arg) => {
      // The plan in the editor first: that is the one the user is looking at.
      const editor = vscode.window.activeTextEditor;
      const entry = await pickPlan(arg ?? (editor && workspace.get(editor.document.uri)?.uri) ?? workspace.activePlan()?.uri);
      if (!entry?.analysis) return;
      const ready = readyTasks(entry.analysis.plan, entry.analysis.graph, workspace.statusOf(entry), 20);
      if (ready.length === 0) {
        void vscode.window.showInformationMessage('No task can start now.');
        return;
      }
      const picked = await vscode.window.showQuickPick(
        ready.map((t) => ({
          label: `${t.id} ${t.title}`,
          description: `${t.estimateMinutes} min · remaining path ${t.priority} min${t.status === 'failed' ? ' · retry' : ''}`,
          detail: t.files.length ? t.files.join(', ') : undefined,
          line: t.line,
        })),
        { placeHolder: `Ready in ${entry.analysis.plan.title || path.basename(entry.uri.fsPath)} (longest remaining path first)` },
      );
      if (picked) await revealLine(entry.uri, picked.line);
    },
    'planOrchestrator.syncCheckboxes': async (arg) => {
      const entry = await pickPlan(arg);
      if (!entry?.analysis) return;
      if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: the plan is not changed');
      const document = await vscode.workspace.openTextDocument(entry.uri);
      const version = document.version;
      const analysis = (await workspace.updateFromDocument(document)) ?? entry.analysis;
      // The offsets below are of the analysed text: an edit while it was analysed would shift them.
      if (document.version !== version) throw new PlanError('plan-unreadable', 'the plan changed while it was read; run the command again');
      const { ticked } = tickCompletedTasks(document.getText(), analysis.plan, workspace.statusOf(entry));
      if (ticked.length === 0) {
        void vscode.window.showInformationMessage('Nothing to tick: every completed task is already checked.');
        return;
      }
      // Edit through the document so unsaved changes in an open editor are kept, one character per box.
      const edit = new vscode.WorkspaceEdit();
      for (const id of ticked) {
        const task = analysis.plan.tasks.find((t) => t.id === id)!;
        const at = document.positionAt(task.checkboxOffset);
        edit.replace(entry.uri, new vscode.Range(at, at.translate(0, 1)), 'x');
      }
      await vscode.workspace.applyEdit(edit);
      if (!document.isUntitled) await document.save();
      void vscode.window.showInformationMessage(`Ticked ${ticked.length} checkbox${ticked.length === 1 ? '' : 'es'}: ${ticked.join(', ')}`);
    },
    'planOrchestrator.showSchedule': async (arg) => {
      const entry = await pickPlan(arg);
      if (!entry) return;
      const workers = vscode.workspace.getConfiguration('planOrchestrator').get<number>('simulateWorkers', 3);
      showSchedule(ctx.extension, entry, workers, ctx.workspace.onDidChangePlan);
    },
    'planOrchestrator.openPlan': async (arg) => {
      const entry = await pickPlan(arg);
      if (entry) await vscode.window.showTextDocument(entry.uri);
    },
    'planOrchestrator.initRepository': async () => {
      const folder = vscode.workspace.workspaceFolders?.[0];
      if (!folder) throw new PlanError('invalid-argument', 'open a folder first: the repository is set up in its root');
      if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: nothing is written');
      const report = await initRepository(findRepoRoot(folder.uri.fsPath));
      for (const line of formatInitReport(report)) ctx.log.info(`init: ${line}`);
      const kept = report.files.filter((f) => f.action === 'kept').map((f) => f.newFile);
      const changed = report.files.filter((f) => f.action !== 'unchanged').length;
      const message = kept.length > 0 ? `Plan Orchestrator: set up; your own versions were kept, the new ones are in ${kept.join(', ')}` : `Plan Orchestrator: set up (${changed} file(s) written; /plan:* commands in .claude/commands/plan)`;
      void vscode.window.showInformationMessage(message);
      return report;
    },
    'planOrchestrator.revealTask': async (uri, line) => {
      if (isUri(uri) && typeof line === 'number') await revealLine(uri, line);
    },
  };
}

async function revealLine(uri: vscode.Uri, line: number): Promise<void> {
  const editor = await vscode.window.showTextDocument(uri, { preserveFocus: false });
  const pos = new vscode.Position(Math.max(0, line - 1), 0);
  editor.selection = new vscode.Selection(pos, pos);
  editor.revealRange(new vscode.Range(pos, pos), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
}
