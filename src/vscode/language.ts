/** Diagnostics and language features for plan documents (being written: see the language helper's task). */
import type * as vscode from 'vscode';
import type { PlanWorkspace } from './planWorkspace.js';

export function registerLanguageFeatures(_workspace: PlanWorkspace, _log: vscode.LogOutputChannel): vscode.Disposable[] {
  return [];
}
