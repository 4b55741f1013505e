/**
 * Changing a task's state from the editor's side: the status file (through PlanWorkspace) and, for
 * complete and reset, the task's markdown box, ticked or unticked as an edit of the document so that
 * Undo takes it back like any other edit.
 */
import * as vscode from 'vscode';
import type { TaskStatus } from '../core/schedule.js';
import { checkboxEdits } from '../core/sync.js';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';

export async function setTaskState(workspace: PlanWorkspace, entry: PlanEntry, taskId: string, status: TaskStatus, reason?: string): Promise<void> {
  await workspace.setTaskStatus(entry, taskId, status, reason);
  // A ticked box counts as done whatever the status file says: a reset must untick it.
  // A plan that runs in its worktree keeps its boxes on its branch: ticking the main checkout's copy
  // would leave an edit there that conflicts with the plan branch when it is merged.
  if ((status === 'completed' || status === 'pending') && !entry.runsIn) await setCheckbox(workspace, entry, taskId, status === 'completed');
}

/**
 * Ticks or unticks the task's box in the plan (core's checkboxEdits on the document's text). A plan
 * that had no unsaved edits is saved again, so the file on disk says what the tree shows; one with
 * unsaved edits stays unsaved, for its author to save.
 */
export async function setCheckbox(workspace: PlanWorkspace, entry: PlanEntry, taskId: string, ticked: boolean): Promise<boolean> {
  const document = await vscode.workspace.openTextDocument(entry.uri);
  const wasDirty = document.isDirty;
  // VS Code refuses an edit made against an older version of the document (it was just reloaded from
  // disk, and that news has not reached us yet): wait for the new text and compute the edit again.
  for (let attempt = 0; attempt < 4; attempt++) {
    const analysis = (await workspace.updateFromDocument(document)) ?? entry.analysis;
    if (!analysis) return false;
    const edits = checkboxEdits(document.getText(), analysis.plan, [taskId], ticked);
    if (edits.length === 0) return false;
    const edit = new vscode.WorkspaceEdit();
    for (const e of edits) {
      const at = document.positionAt(e.offset);
      edit.replace(entry.uri, new vscode.Range(at, at.translate(0, 1)), e.char);
    }
    if (await vscode.workspace.applyEdit(edit)) {
      if (!wasDirty && !document.isUntitled) await document.save();
      return true;
    }
    await nextChange(document, 250 * (attempt + 1));
  }
  return false;
}

/** Resolves on the document's next change, or after `ms`. */
function nextChange(document: vscode.TextDocument, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      sub.dispose();
      resolve();
    };
    const timer = setTimeout(done, ms);
    const sub = vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.document === document) done();
    });
  });
}
