/** The active plan's progress in the status bar; a click opens the plan. */
import * as vscode from 'vscode';
import path from 'node:path';
import { formatCounts } from '../core/progress.js';
import type { PlanWorkspace } from './planWorkspace.js';
import { countsOf } from './taskState.js';

export class PlanStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('planOrchestrator.progress', vscode.StatusBarAlignment.Left, 50);
  private readonly disposables: vscode.Disposable[] = [];
  private active: ReadonlyArray<{ title: string; done: number; total: number; running: number; failed: number; percent: number; branch?: string }> = [];

  constructor(private readonly workspace: PlanWorkspace) {
    this.item.name = 'Plan Progress';
    this.disposables.push(
      this.item,
      workspace.onDidChangePlan(() => setTimeout(() => this.update(), 0)),
      workspace.onDidChangePlans(() => this.update()),
      // Without a pointer the plan in the editor is the active one.
      vscode.window.onDidChangeActiveTextEditor(() => this.update()),
    );
    this.update();
  }

  /** The text shown, for tests. */
  get text(): string {
    return this.item.text;
  }

  /** Every active plan (across worktrees): with more than one, the item shows their total. */
  setActivePlans(plans: ReadonlyArray<{ title: string; done: number; total: number; running: number; failed: number; percent: number; branch?: string }>): void {
    this.active = plans;
    this.update();
  }

  update(): void {
    if (this.active.length > 1) {
      const sum = (f: (p: (typeof this.active)[number]) => number): number => this.active.reduce((n, p) => n + f(p), 0);
      const [done, total, running, failed] = [sum((p) => p.done), sum((p) => p.total), sum((p) => p.running), sum((p) => p.failed)];
      this.item.text = `$(checklist) ${done}/${total} · ${this.active.length} plans${running ? ` $(sync~spin) ${running}` : ''}${failed ? ` $(error) ${failed}` : ''}`;
      const md = new vscode.MarkdownString(`**${this.active.length} active plans**: ${done} of ${total} tasks done\n\n`);
      for (const p of this.active) {
        md.appendMarkdown(`- `);
        md.appendText(`${p.title}${p.branch ? ` (${p.branch})` : ''}: ${p.done}/${p.total} tasks (${p.percent}%)${p.running ? `, ${p.running} running` : ''}${p.failed ? `, ${p.failed} failed` : ''}`);
        md.appendMarkdown('\n');
      }
      md.appendMarkdown('\nClick to open the dashboard.');
      this.item.tooltip = md;
      this.item.command = { command: 'planOrchestrator.showDashboard', title: 'Dashboard' };
      this.item.show();
      return;
    }
    const entry = this.workspace.activePlan();
    if (!entry?.analysis) {
      this.item.hide();
      return;
    }
    // The same numbers as the plan's row in the tree (core's taskCounts).
    const c = countsOf(this.workspace, entry)!;
    const name = entry.analysis.plan.title || path.basename(entry.uri.fsPath);
    this.item.text = `$(checklist) ${c.tasks.done}/${c.tasks.total}${c.running ? ` $(sync~spin) ${c.running}` : ''}${c.failed ? ` $(error) ${c.failed}` : ''}`;
    this.item.tooltip = new vscode.MarkdownString(`**${name}**: ${formatCounts(c)} done (${c.percent}%), ${c.running} running, ${c.failed} failed\n\nClick to open the plan.`);
    this.item.command = { command: 'planOrchestrator.openPlan', title: 'Open Plan', arguments: [entry.uri] };
    this.item.show();
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
