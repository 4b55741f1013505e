/**
 * Tells the user when an agent was denied a tool and its task waits for them: one notification per
 * denial, naming the tool call, with Approve and Retry and Open Log. The tree shows the same task with
 * a shield and the same action in its context menu.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';
import { approveAndRetry, type OrchestratorTerminals } from './orchestratorTerminal.js';

export class ApprovalNotifier implements vscode.Disposable {
  /** plan file + task + when it was denied: each denial is announced once. */
  private readonly announced = new Set<string>();
  private readonly subscription: vscode.Disposable;

  constructor(
    workspace: PlanWorkspace,
    private readonly terminals: OrchestratorTerminals,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = workspace.onDidChangePlan((change) => this.check(change.entry));
  }

  private check(entry: PlanEntry): void {
    const tasks = entry.status?.tasks ?? {};
    for (const [id, rec] of Object.entries(tasks)) {
      const denied = rec.run?.needsApproval;
      if (rec.status !== 'failed' || !denied?.length) continue;
      const key = `${entry.uri.fsPath}#${id}@${rec.updatedAt}`;
      if (this.announced.has(key)) continue;
      this.announced.add(key);
      const plan = entry.analysis?.plan.title || path.basename(entry.uri.fsPath);
      const calls = denied.map((d) => d.rule).join(', ');
      void vscode.window.showWarningMessage(`${plan}: task ${id} needs approval: the agent was denied ${calls}.`, 'Approve and Retry', 'Open Log').then(async (choice) => {
        try {
          if (choice === 'Approve and Retry') await approveAndRetry(this.terminals, entry, id);
          else if (choice === 'Open Log' && rec.run?.log) await vscode.window.showTextDocument(vscode.Uri.file(path.join(entry.runsIn?.path ?? entry.root, rec.run.log)));
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          this.log.error(`approve ${id}: ${message}`);
          void vscode.window.showErrorMessage(`Plan Orchestrator: ${message}`);
        }
      });
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
