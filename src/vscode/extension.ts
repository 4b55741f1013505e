/**
 * Activation and the command table. Everything about plans comes from src/core through
 * PlanWorkspace; the modules here only adapt it to VS Code.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import { PlanWorkspace } from './planWorkspace.js';
import { PlanTreeProvider } from './planTree.js';
import { registerLanguageFeatures } from './language.js';
import { TaskDecorations } from './decorations.js';
import { PlanStatusBar } from './statusBar.js';
import { commandTable, type CommandContext } from './commands.js';
import { scheduleApi, type ScheduleApi } from './scheduleView.js';
import { WorktreeTreeProvider, worktreeCommands, workspaceRepoRoot } from './worktreeView.js';
import { ApprovalNotifier } from './approvals.js';
import { statusFileFor } from '../core/planFile.js';
import type { RunOutcome, RunSpec } from './orchestratorRun.js';
import { OrchestratorTerminals, orchestratorCommands } from './orchestratorTerminal.js';
import { ActivePlans, OrchestratorsTreeProvider, orchestratorsViewCommands } from './orchestratorsView.js';
import { Dashboard, dashboardCommands, type DashboardData } from './dashboard.js';
import { ApiServerController, apiServerCommands } from './apiServer.js';
import { TreeOptions, treeOptionCommands } from './treeOptions.js';
import { AgentOutputDocuments } from './agentOutput.js';
import { TaskFailureNotifier, taskRunCommands } from './taskRun.js';
import { TaskCodeActions } from './taskCodeActions.js';
import type { DashboardPanel } from './dashboard.js';
import { LiveUpdates } from './liveUpdates.js';
import { AnalysisCache } from '../core/session.js';
import type { StatusFile } from '../core/status.js';

export interface PlanOrchestratorApi {
  workspace: PlanWorkspace;
  tree: PlanTreeProvider;
  statusBar: PlanStatusBar;
  /** The Show Schedule panels (tests reach them here: the suite is bundled apart from the extension). */
  schedule: ScheduleApi;
  worktrees: WorktreeTreeProvider;
  /** The Orchestrators view: every active plan across the plan worktrees. */
  orchestrators: OrchestratorsTreeProvider;
  /** Where live plan data comes from: the plan event stream, or polling (untrusted, or no stream). */
  liveUpdates: LiveUpdates;
  /** Plan: Start/Stop API Server (`planctl serve` as a child process). */
  apiServer: ApiServerController;
  /** The data last posted to the dashboard page, if it is open. */
  lastDashboardData(): DashboardData | undefined;
  /** The open dashboard panel (tests send it the page's messages). */
  dashboardPanel(): DashboardPanel | undefined;
  /** The Plans view's filter and grouping. */
  treeOptions: TreeOptions;
  /** The Plans view itself (its description shows the filter). */
  planView: vscode.TreeView<import('./planTree.js').PlanTreeNode>;
  /** The orchestrator run shown in one of our terminals: what it runs, where, and how it ended. */
  orchestratorRun(terminal: vscode.Terminal): { spec: RunSpec; outcome?: RunOutcome } | undefined;
  /** How long activation took, in ms (for the benchmarks); the workspace scan is not part of it. */
  activationMs: number;
  /** Settles when the first scan of the workspace's plans is done. */
  ready: Promise<void>;
}

export async function activate(context: vscode.ExtensionContext): Promise<PlanOrchestratorApi | undefined> {
  const started = performance.now();
  const log = vscode.window.createOutputChannel('Plan Orchestrator', { log: true });
  context.subscriptions.push(log);
  try {
    // Analyses of plan texts, shared by the workspace and the event stream: a text is analysed once.
    const analyses = new AnalysisCache();
    const workspace = new PlanWorkspace(log, analyses);
    context.subscriptions.push(workspace);
    const treeOptions = new TreeOptions();
    const tree = new PlanTreeProvider(workspace, treeOptions);
    const view = vscode.window.createTreeView('planOrchestrator.plans', { treeDataProvider: tree, showCollapseAll: true, manageCheckboxStateManually: true });
    // A filtered view says so where the user looks: beside its title, and in a message when nothing matches.
    const showFilter = (): void => {
      const text = treeOptions.describe();
      view.description = text ? `Filter: ${text}` : undefined;
      view.message = text && tree.getChildren().length === 0 ? `No tasks match the filter ${text}. Clear it with the button above.` : undefined;
    };
    context.subscriptions.push(treeOptions, tree, view, tree.bindCheckboxes(view), treeOptions.onDidChange(showFilter), tree.onDidChangeTreeData(() => treeOptions.filter && showFilter()));
    const ctx: CommandContext = { extension: context, workspace, tree, view, log };
    const worktrees = new WorktreeTreeProvider(workspaceRepoRoot);
    context.subscriptions.push(worktrees, vscode.window.createTreeView('planOrchestrator.worktrees', { treeDataProvider: worktrees }));
    // One truth: a plan that has a worktree is shown (and its tasks set) from the worktree's status.
    workspace.setStatusPlace((entry, plan) => {
      const name = path.basename(entry.uri.fsPath).replace(/\.md$/i, '');
      const w = worktrees.worktrees().find((x) => x.name === name && !x.missing);
      if (!w) return undefined;
      const planInWorktree = path.join(w.path, w.plan ?? path.relative(entry.root, entry.uri.fsPath));
      return { statusPath: statusFileFor(planInWorktree, plan, w.path), runsIn: { branch: w.branch ?? `plan/${name}`, path: w.path } };
    });
    context.subscriptions.push(worktrees.onDidChangeTreeData(() => workspace.refreshStatusPlaces()));
    const terminals = new OrchestratorTerminals(context, worktrees);
    context.subscriptions.push(terminals);
    const activePlans = new ActivePlans(workspace, worktrees, workspaceRepoRoot);
    const orchestrators = new OrchestratorsTreeProvider(activePlans);
    const orchestratorsView = vscode.window.createTreeView('planOrchestrator.orchestrators', { treeDataProvider: orchestrators });
    const dashboard = new Dashboard(context, activePlans, workspace);
    context.subscriptions.push(activePlans, orchestrators, orchestratorsView, orchestrators.bindVisibility(orchestratorsView), dashboard);
    const liveUpdates = new LiveUpdates(workspace, activePlans, worktrees, workspaceRepoRoot, analyses, log);
    context.subscriptions.push(liveUpdates);
    const apiServer = new ApiServerController(context, workspaceRepoRoot, log);
    context.subscriptions.push(apiServer);
    const agentOutputs = new AgentOutputDocuments();
    context.subscriptions.push(agentOutputs);
    // Plans an orchestrator runs: their rows offer Stop, the plan's CodeLens too.
    const runningPlans = (): Set<string> => {
      const out = new Set<string>();
      for (const p of activePlans.plans()) {
        if (!p.orchestrator) continue;
        const entry = p.entry ?? workspace.plans().find((e) => path.basename(e.uri.fsPath).replace(/\.md$/i, '') === p.name);
        if (entry) out.add(entry.uri.toString());
      }
      return out;
    };
    context.subscriptions.push(activePlans.onDidChange(() => tree.setRunning(runningPlans())));
    // Ahead/behind and dirty in the Worktrees view move with every task commit: re-read them (a few
    // git calls and a disk walk per worktree) when a worktree plan's task finished, when a run ends,
    // and when a worktree came or went, at most once a second. Not on every status write: a running
    // agent's activity rewrites the status file about once a second and commits nothing.
    let worktreeTimer: ReturnType<typeof setTimeout> | undefined;
    const refreshWorktreesSoon = (): void => {
      worktreeTimer ??= setTimeout(() => {
        worktreeTimer = undefined;
        void worktrees.refresh();
      }, 1000);
    };
    const finishedBefore = new WeakMap<object, string>();
    context.subscriptions.push(
      workspace.onDidChangePlan((c) => {
        if (c.kind !== 'status' || !c.entry.runsIn) return;
        const finished = finishedTasks(c.entry.status);
        if (finishedBefore.get(c.entry) !== finished) refreshWorktreesSoon();
        finishedBefore.set(c.entry, finished);
      }),
      liveUpdates.onEvent((e) => {
        if (e.type === 'worktree.created' || e.type === 'worktree.removed' || e.type === 'orchestrator.stopped') refreshWorktreesSoon();
      }),
      terminals.onDidEndRun(() => refreshWorktreesSoon()),
      { dispose: () => worktreeTimer && clearTimeout(worktreeTimer) },
    );
    const commands = {
      ...commandTable(ctx),
      ...treeOptionCommands(treeOptions),
      ...taskRunCommands(workspace, terminals, agentOutputs),
      ...worktreeCommands(worktrees, workspace, log),
      ...orchestratorCommands(terminals, workspace),
      ...orchestratorsViewCommands(activePlans),
      ...dashboardCommands(dashboard),
      ...apiServerCommands(apiServer),
    };
    for (const [id, run] of Object.entries(commands)) {
      context.subscriptions.push(
        vscode.commands.registerCommand(id, async (...args: unknown[]) => {
          try {
            return await run(...args);
          } catch (e) {
            // One clear message for the user, the details in the log; never an unhandled rejection.
            const message = e instanceof Error ? e.message : String(e);
            log.error(`${id}: ${message}`);
            void vscode.window.showErrorMessage(`Plan Orchestrator: ${message}`);
          }
        }),
      );
    }
    context.subscriptions.push(new ApprovalNotifier(workspace, terminals, log), new TaskFailureNotifier(workspace));
    context.subscriptions.push(...registerLanguageFeatures(workspace, log, worktrees));
    context.subscriptions.push(
      new TaskDecorations(workspace, (entry) => runningPlans().has(entry.uri.toString()), activePlans.onDidChange),
      vscode.languages.registerCodeActionsProvider({ language: 'markdown' }, new TaskCodeActions(workspace), { providedCodeActionKinds: TaskCodeActions.providedCodeActionKinds }),
    );
    const statusBar = new PlanStatusBar(workspace);
    context.subscriptions.push(statusBar, activePlans.onDidChange(() => statusBar.setActivePlans(activePlans.plans())));
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('planOrchestrator.planGlobs')) void workspace.rescan();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => {
        tree.refreshAll();
        void ready.then(() => liveUpdates.useStream());
      }),
    );
    // Scanning the workspace can take a while in a big repository: views fill in when it is done.
    const ready = workspace.initialize().then(
      () => log.info(`found ${workspace.plans().length} plans`),
      (e: unknown) => {
        log.error(`scanning for plans failed: ${e instanceof Error ? e.message : String(e)}`);
        void vscode.window.showErrorMessage(`Plan Orchestrator could not scan for plans: ${e instanceof Error ? e.message : String(e)}`);
      },
    );
    void worktrees.refresh();
    // The stream starts once the plans are known (it is told which ones the views show).
    void ready.then(() => liveUpdates.start()).then(() => activePlans.refresh());
    const activationMs = performance.now() - started;
    log.info(`activated in ${activationMs.toFixed(1)} ms`);
    return {
      workspace,
      tree,
      statusBar,
      schedule: scheduleApi,
      worktrees,
      orchestrators,
      liveUpdates,
      apiServer,
      lastDashboardData: () => dashboard.lastData(),
      dashboardPanel: () => dashboard.panel,
      treeOptions,
      planView: view,
      orchestratorRun: (t) => terminals.runOf(t),
      activationMs,
      ready,
    };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    log.error(`activation failed: ${e instanceof Error && e.stack ? e.stack : message}`);
    void vscode.window.showErrorMessage(`Plan Orchestrator could not start: ${message}`, 'Show Log').then((choice) => {
      if (choice) log.show();
    });
    return undefined;
  }
}

/**
 * The tasks that reached an end (completed, failed, skipped) and when: what changes a worktree's
 * commits. An agent's activity, written while its task runs, leaves it as it is.
 */
function finishedTasks(status: StatusFile | undefined): string {
  const out: string[] = [];
  for (const [id, t] of Object.entries(status?.tasks ?? {})) {
    if (t.status === 'completed' || t.status === 'failed' || t.status === 'skipped') out.push(`${id}:${t.status}:${t.updatedAt}`);
  }
  return out.sort().join(' ');
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
