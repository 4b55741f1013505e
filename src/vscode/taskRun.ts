/**
 * One task from the user's side: Run Task (the plan's orchestrator runs it when it is ready),
 * Show Agent Output (its agent's log, followed as it grows), and a notification when an agent's task
 * fails, with what to do next.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import { PlanError } from '../core/source.js';
import { runningRecordFor } from '../run/registry.js';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';
import { taskViews } from './taskState.js';
import { readRegistry, type OrchestratorTerminals } from './orchestratorTerminal.js';
import type { AgentOutputDocuments } from './agentOutput.js';
import { listNames } from './format.js';
import { setTaskState } from './taskActions.js';

type Handler = (...args: unknown[]) => Promise<unknown> | unknown;

/** A task from a tree node (`{ entry, taskId }`) or a `{ uri, id }` reference (CodeLens, hover, tests). */
function taskTarget(workspace: PlanWorkspace, arg: unknown): { entry: PlanEntry; taskId: string } {
  const a = arg as { entry?: PlanEntry; taskId?: string; uri?: vscode.Uri; id?: string } | undefined;
  if (a?.entry && a.taskId) return { entry: a.entry, taskId: a.taskId };
  if (a?.uri instanceof vscode.Uri && typeof a.id === 'string') {
    const entry = workspace.get(a.uri);
    if (entry) return { entry, taskId: a.id };
  }
  throw new PlanError('invalid-argument', 'choose a task in the Plans view');
}

export interface RunTaskResult {
  /** What happened: the orchestrator was started, or was running already; or the task is done. */
  started: boolean;
  message: string;
}

export function taskRunCommands(workspace: PlanWorkspace, terminals: OrchestratorTerminals, outputs: AgentOutputDocuments): Record<string, Handler> {
  return {
    /**
     * The orchestrator runs tasks in dependency order, so "run this task" means: make it runnable
     * (a failed task goes back to pending) and make sure the plan's orchestrator runs; the task starts
     * as soon as it is ready. The message says when that is.
     */
    'planOrchestrator.runTask': async (arg: unknown): Promise<RunTaskResult | undefined> => {
      if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: nothing is run');
      const { entry, taskId } = taskTarget(workspace, arg);
      const view = taskViews(workspace, entry).get(taskId);
      if (!view) throw new PlanError('unknown-task', `unknown task ID "${taskId}" in ${vscode.workspace.asRelativePath(entry.uri)}`);
      if (view.state === 'done' || view.state === 'skipped') {
        const message = `${taskId} is already ${view.state}.`;
        void vscode.window.showInformationMessage(message);
        return { started: false, message };
      }
      if (view.state === 'failed') await setTaskState(workspace, entry, taskId, 'pending');
      const { cwd, planFile } = terminals.placeFor(entry);
      const running = runningRecordFor(await readRegistry(cwd), planFile);
      let started = false;
      if (!running && view.state !== 'running') {
        const terminal = await terminals.start(entry);
        if (!terminal) return undefined; // the user cancelled the run flow
        started = true;
      }
      const waits = view.waitsFor.map((w) => w.id);
      const message =
        view.state === 'running'
          ? `${taskId} is running.`
          : waits.length > 0
            ? `${taskId} runs once ${listNames(waits)} ${waits.length === 1 ? 'is' : 'are'} done: the orchestrator runs the plan in dependency order.`
            : `${taskId} is ready: the orchestrator starts it as soon as an agent is free.`;
      void vscode.window.showInformationMessage(`${started ? 'Orchestrator started. ' : ''}${message}`);
      return { started, message };
    },
    'planOrchestrator.showAgentOutput': async (arg: unknown) => {
      const { entry, taskId } = taskTarget(workspace, arg);
      const run = entry.status?.tasks[taskId]?.run;
      if (!run?.log) throw new PlanError('invalid-argument', `task ${taskId} has no agent output yet: it has not run`);
      const base = entry.runsIn?.path ?? entry.root;
      return outputs.show(path.join(base, run.log), run.kind, base, taskId);
    },
  };
}

/**
 * A notification when an agent's task fails (needs-approval failures have their own, see
 * approvals.ts). Failures already there when a plan is first seen are not announced, nor a task a
 * person marked failed by hand (no agent ran it).
 */
export class TaskFailureNotifier implements vscode.Disposable {
  private readonly announced = new Set<string>();
  private readonly seenPlans = new Set<string>();
  private readonly subscription: vscode.Disposable;

  constructor(workspace: PlanWorkspace) {
    this.subscription = workspace.onDidChangePlan((change) => this.check(change.entry));
    for (const entry of workspace.plans()) this.check(entry);
  }

  private check(entry: PlanEntry): void {
    const tasks = entry.status?.tasks;
    if (!tasks) return;
    const first = !this.seenPlans.has(entry.uri.toString());
    this.seenPlans.add(entry.uri.toString());
    for (const [id, rec] of Object.entries(tasks)) {
      if (rec.status !== 'failed' || !rec.run?.kind || rec.run.needsApproval?.length) continue;
      const key = `${entry.uri.fsPath}#${id}@${rec.updatedAt}`;
      if (this.announced.has(key)) continue;
      this.announced.add(key);
      if (first) continue;
      const plan = entry.analysis?.plan.title || path.basename(entry.uri.fsPath);
      void vscode.window
        .showWarningMessage(`${plan}: task ${id} failed${rec.lastError ? `: ${rec.lastError}` : ''}`, 'Retry Task', 'Show Agent Output')
        .then((choice) => {
          const node = { entry, taskId: id };
          if (choice === 'Retry Task') void vscode.commands.executeCommand('planOrchestrator.retryTask', node);
          else if (choice === 'Show Agent Output') void vscode.commands.executeCommand('planOrchestrator.showAgentOutput', node);
        });
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
