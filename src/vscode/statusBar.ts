/** The active plan's progress in the status bar; a click opens the plan. */
import * as vscode from 'vscode';
import path from 'node:path';
import { planProgress } from '../core/progress.js';
import type { PlanWorkspace } from './planWorkspace.js';

export class PlanStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('planOrchestrator.progress', vscode.StatusBarAlignment.Left, 50);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly workspace: PlanWorkspace) {
    this.item.name = 'Plan Progress';
    this.disposables.push(this.item, workspace.onDidChangePlan(() => setTimeout(() => this.update(), 0)), workspace.onDidChangePlans(() => this.update()));
    this.update();
  }

  /** The text shown, for tests. */
  get text(): string {
    return this.item.text;
  }

  update(): void {
    const entry = this.workspace.activePlan();
    if (!entry?.analysis) {
      this.item.hide();
      return;
    }
    const p = planProgress(entry.analysis.plan, entry.analysis.graph, this.workspace.statusOf(entry));
    const name = entry.analysis.plan.title || path.basename(entry.uri.fsPath);
    this.item.text = `$(checklist) ${p.done}/${p.total}${p.running ? ` $(sync~spin) ${p.running}` : ''}${p.failed ? ` $(error) ${p.failed}` : ''}`;
    this.item.tooltip = new vscode.MarkdownString(`**${name}**: ${p.done} of ${p.total} done (${p.percent}%), ${p.running} running, ${p.failed} failed\n\nClick to open the plan.`);
    this.item.command = { command: 'planOrchestrator.openPlan', title: 'Open Plan', arguments: [entry.uri] };
    this.item.show();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
