/**
 * Start/stop a plan's orchestrator in a terminal bound to its worktree (see orchestratorRun.ts: the
 * terminal's process is `planctl orchestrate`, no shell), with PLAN_FILE, CLAUDE_WORKTREE and the
 * bundled planctl on PATH for the agents it starts.
 */
import * as vscode from 'vscode';
import { parseRedisUrl } from '../run/queue/redisUrl.js';
import { assertRemoteName } from '../git/slug.js';
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { PlanError } from '../core/source.js';
import { GitService } from '../git/gitService.js';
import { listRegistry, registryDir, runningRecordFor } from '../run/registry.js';
import { approveTask } from '../run/approvals.js';
import { openPlan } from '../core/session.js';
import { approveCommands, readApprovedCommands } from '../run/approvals.js';
import { gateCommands, unapprovedCommands } from '../run/gates.js';
import { checkPlace } from '../run/preflight.js';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';
import { OrchestratorRun, announceOutcome, type RunOutcome } from './orchestratorRun.js';
import type { WorktreeTreeProvider } from './worktreeView.js';
import type { PlanWorktree } from '../git/worktreeResults.js';

const registryDirs = new Map<string, string>();

/**
 * The orchestrators recorded for the repository of `repoDir` (core's registry; its folder is looked
 * up with git once per repository, as the views ask every 2 s).
 */
export async function readRegistry(repoDir: string): Promise<RegistryListing> {
  let dir = registryDirs.get(repoDir);
  if (!dir) {
    const git = await GitService.open(repoDir).catch(() => undefined);
    if (!git) return [];
    dir = await registryDir(git, '');
    registryDirs.set(repoDir, dir);
  }
  return listRegistry(dir);
}

type RegistryListing = Awaited<ReturnType<typeof listRegistry>>;

export class OrchestratorTerminals implements vscode.Disposable {
  private readonly terminals = new Map<string, vscode.Terminal>();
  private readonly runs = new WeakMap<vscode.Terminal, OrchestratorRun>();
  private readonly disposables: vscode.Disposable[] = [];
  private shim: string | undefined;
  private readonly ended = new vscode.EventEmitter<{ planFile: string; outcome: RunOutcome }>();
  /** A run this extension started has ended (the Worktrees view re-reads ahead/behind then). */
  readonly onDidEndRun = this.ended.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly worktrees: WorktreeTreeProvider,
  ) {
    this.disposables.push(
      this.ended,
      vscode.window.onDidCloseTerminal((t) => {
        for (const [key, term] of this.terminals) if (term === t) this.terminals.delete(key);
      }),
    );
  }

  /**
   * A `planctl` executable for the terminal's PATH: the bundled CLI run by the extension host's own
   * runtime (ELECTRON_RUN_AS_NODE makes the desktop app's binary behave as node).
   */
  private async planctlShim(): Promise<string> {
    if (this.shim) return this.shim;
    const dir = path.join(this.context.globalStorageUri.fsPath, 'bin');
    await fs.mkdir(dir, { recursive: true });
    const file = path.join(dir, 'planctl');
    const cli = path.join(this.context.extensionPath, 'dist', 'planctl.mjs');
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    await fs.writeFile(file, `#!/bin/sh\nELECTRON_RUN_AS_NODE=1 exec ${quote(process.execPath)} ${quote(cli)} "$@"\n`, { mode: 0o755 });
    this.shim = file;
    return file;
  }

  placeFor(entry: PlanEntry): { cwd: string; planFile: string } {
    return this.placeOf(entry);
  }

  /** Where the plan runs: its plan worktree when it has one, else the checkout the plan is in. */
  private placeOf(entry: PlanEntry): { cwd: string; planFile: string } {
    const name = path.basename(entry.uri.fsPath).replace(/\.md$/i, '');
    const w = this.worktrees.worktrees().find((x) => x.name === name && !x.missing);
    if (w) {
      const rel = path.relative(entry.root, entry.uri.fsPath);
      return { cwd: w.path, planFile: path.join(w.path, w.plan ?? rel) };
    }
    return { cwd: entry.root, planFile: entry.uri.fsPath };
  }

  /**
   * The one run flow, wherever Start is pressed: a plan without a worktree is offered one (the
   * default) or a run here that commits to the current branch; gate commands are shown and approved
   * first; uncommitted changes are named before they are left out of the commits. Undefined when the
   * user cancelled.
   */
  async start(entry: PlanEntry, choices: StartChoices = {}): Promise<vscode.Terminal | undefined> {
    if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: orchestrators are not started');
    await this.worktrees.refresh();
    const args: string[] = [];
    const name = path.basename(entry.uri.fsPath).replace(/\.md$/i, '');
    if (!this.worktrees.worktrees().some((x) => x.name === name && !x.missing)) {
      let runHere = choices.runHere;
      if (runHere === undefined) {
        const git = await GitService.open(entry.root).catch(() => undefined);
        const branch = (await git?.currentBranch()) ?? 'the current branch';
        const pick = await vscode.window.showQuickPick(
          [
            { label: '$(git-branch) Create a Worktree and Start', detail: `The plan runs on its own branch plan/${name}; merge it back with Complete Plan.`, here: false },
            { label: '$(run) Run Here', detail: `Each task is committed to ${branch} in this checkout.`, here: true },
          ],
          { title: `Start "${entry.analysis?.plan.title || name}"`, placeHolder: 'This plan has no worktree yet' },
        );
        if (!pick) return undefined;
        runHere = pick.here;
      }
      if (runHere) args.push('--in-place');
      else {
        const created = await vscode.commands.executeCommand('planOrchestrator.worktree.create', entry.uri);
        if (!created) return undefined;
        await this.worktrees.refresh();
      }
    }
    const { cwd, planFile } = this.placeOf(entry);
    const session = await openPlan(planFile);
    const missing = unapprovedCommands(gateCommands(session.analysis.plan), await readApprovedCommands(session.statusPath));
    if (missing.length > 0 && !choices.approveCommands) {
      const run = await vscode.window.showWarningMessage(
        `"${session.analysis.plan.title || name}" runs ${missing.length === 1 ? 'this command' : 'these commands'} to check its phases. Run ${missing.length === 1 ? 'it' : 'them'}?`,
        { modal: true, detail: `${missing.map((c) => `$ ${c}`).join('\n')}\n\nNo shell is used unless a command names one. Your answer is remembered for these commands of this plan.` },
        'Run Them',
      );
      if (run !== 'Run Them') return undefined;
    }
    // Exactly the commands shown are approved: one the plan gains before planctl reads it is refused there.
    if (missing.length > 0) await approveCommands(session.statusPath, missing);
    const git = await GitService.open(cwd).catch(() => undefined);
    if (git) {
      const changed = await checkPlace(git, cwd, session.statusPath, session.relPath, { inPlace: true, allowDirty: true });
      if (changed.size > 0 && !choices.allowDirty) {
        const shown = [...changed].slice(0, 5).join(', ');
        const answer = await vscode.window.showWarningMessage(
          `${changed.size} file${changed.size === 1 ? ' has' : 's have'} uncommitted changes where the plan runs.`,
          { modal: true, detail: `${shown}${changed.size > 5 ? ', …' : ''}\n\nThey are left out of every task's commit and stay as they are.` },
          'Run Anyway',
        );
        if (answer !== 'Run Anyway') return undefined;
      }
      if (changed.size > 0) args.push('--allow-dirty');
    }
    return this.startAt(cwd, planFile, entry.analysis?.plan.title || path.basename(planFile), args);
  }

  /** One terminal per plan: a second start focuses the running one. */
  async startAt(cwd: string, planFile: string, title: string, extraArgs: string[] = []): Promise<vscode.Terminal> {
    if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: orchestrators are not started');
    const key = planFile;
    const existing = this.terminals.get(key);
    if (existing && existing.exitStatus === undefined && this.runs.get(existing)?.running !== false) {
      existing.show();
      return existing;
    }
    // A finished run's terminal stays for reading; a new run gets a new one.
    if (existing) this.terminals.delete(key);
    const running = runningRecordFor(await readRegistry(cwd), planFile);
    if (running) throw new PlanError('invalid-argument', `an orchestrator for this plan is already running (pid ${running.pid}); stop it first`);
    const config = vscode.workspace.getConfiguration('planOrchestrator');
    const args = ['orchestrate', '--plan', planFile, '--max-parallel', String(config.get<number>('maxParallel', 3))];
    args.push(...agentArgs(config), ...queueArgs(config), ...extraArgs);
    const shim = await this.planctlShim();
    // The user's terminal environment setting applies here as in any terminal (its values as written, not expanded).
    const platformEnv = vscode.workspace.getConfiguration('terminal.integrated').get<Record<string, string | null>>(`env.${process.platform === 'darwin' ? 'osx' : process.platform === 'win32' ? 'windows' : 'linux'}`) ?? {};
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(platformEnv)) if (typeof v === 'string') env[k] = v;
    Object.assign(env, { PLAN_FILE: planFile, CLAUDE_WORKTREE: cwd, PATH: `${path.dirname(shim)}${path.delimiter}${env.PATH ?? process.env.PATH ?? ''}` });
    // The queue's password from the secret storage, in the environment: never an argument (ps shows those).
    const password = queueArgs(config).length > 0 ? await this.context.secrets.get(QUEUE_PASSWORD_KEY) : undefined;
    if (password) env.PLAN_REDIS_PASSWORD = password;
    const run = new OrchestratorRun({ title, cwd, planFile, args, cli: path.join(this.context.extensionPath, 'dist', 'planctl.mjs'), env });
    const terminal = vscode.window.createTerminal({ name: `Plan: ${title}`, pty: run, iconPath: new vscode.ThemeIcon('run-all'), isTransient: true });
    this.runs.set(terminal, run);
    const logsDir = await openPlan(planFile)
      .then((s) => path.join(path.dirname(s.statusPath), 'logs'))
      .catch(() => undefined);
    run.onDidFinish((outcome) => {
      this.ended.fire({ planFile, outcome });
      void announceOutcome(title, outcome, logsDir);
    });
    this.terminals.set(key, terminal);
    terminal.show(true);
    return terminal;
  }

  /** Keeps (or, with undefined, forgets) the queue's Redis password in the secret storage. */
  async setQueuePassword(password: string | undefined): Promise<void> {
    if (password) await this.context.secrets.store(QUEUE_PASSWORD_KEY, password);
    else await this.context.secrets.delete(QUEUE_PASSWORD_KEY);
  }

  /** The run shown in a terminal this extension opened (for tests and the views). */
  runOf(terminal: vscode.Terminal): OrchestratorRun | undefined {
    return this.runs.get(terminal);
  }

  /** Asks the plan's orchestrator to stop (SIGTERM: it lets running tasks finish, then exits). */
  async stop(entry: PlanEntry): Promise<number | undefined> {
    const { cwd, planFile } = this.placeOf(entry);
    return this.stopAt(cwd, planFile);
  }

  /** Works for orchestrators started outside VS Code too: they are found through the registry. */
  async stopAt(cwd: string, planFile: string): Promise<number | undefined> {
    const record = runningRecordFor(await readRegistry(cwd), planFile);
    // A record from another machine names a pid that means nothing here.
    if (!record || record.host !== os.hostname()) return undefined;
    process.kill(record.pid, 'SIGTERM');
    return record.pid;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

type Handler = (...args: unknown[]) => Promise<unknown> | unknown;

/** Answers to the run flow's questions given in advance (a caller that already asked, or a test). */
export interface StartChoices {
  runHere?: boolean;
  approveCommands?: boolean;
  allowDirty?: boolean;
}

/**
 * Allows exactly the calls the task's agent was denied (saved for the plan, shown in the action that
 * led here) and retries the task: the running orchestrator picks it up, or a new one starts.
 */
export async function approveAndRetry(terminals: OrchestratorTerminals, entry: PlanEntry, taskId: string): Promise<string[]> {
  if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: nothing is approved or run');
  const { cwd, planFile } = terminals.placeFor(entry);
  const session = await openPlan(planFile);
  const denied = session.status.tasks[taskId]?.run?.needsApproval ?? [];
  if (denied.length === 0) throw new PlanError('invalid-argument', `task ${taskId} is not waiting for an approval`);
  const result = await approveTask(session, taskId);
  const running = runningRecordFor(await readRegistry(cwd), planFile);
  if (!running) await terminals.start(entry);
  return result.approved;
}

/** planctl orchestrate's agent flags from the settings; unset ones leave git-workflow.json's `agent` in charge. */
export function agentArgs(config: vscode.WorkspaceConfiguration): string[] {
  const args: string[] = [];
  const kind = config.get<string>('agent.kind', '');
  const command = config.get<string[]>('agentCommand', []);
  if (kind) args.push('--agent-kind', kind);
  if (Array.isArray(command) && command.length > 0 && (!kind || kind === 'command')) args.push('--agent', JSON.stringify(command));
  const model = config.get<string>('agent.model', '');
  if (model) args.push('--model', model);
  for (const rule of config.get<string[]>('agent.allowedTools', [])) if (typeof rule === 'string' && rule) args.push('--allowed-tool', rule);
  const maxCost = config.get<number>('agent.maxCostUsd', 0);
  if (maxCost > 0) args.push('--max-cost', String(maxCost));
  return args;
}

/** Where the queue's password is kept (VS Code's secret storage; Plan: Set Queue Password). */
const QUEUE_PASSWORD_KEY = 'planOrchestrator.queuePassword';

/**
 * `--queue` and `--remote` from the queue settings (docs/distributed.md); none when the URL is empty.
 * A password written into the URL is refused: settings are plain text, often committed.
 */
function queueArgs(config: vscode.WorkspaceConfiguration): string[] {
  const url = config.get<string>('queue.url', '').trim();
  if (!url) return [];
  const target = parseRedisUrl(url, {});
  if (target.password) throw new PlanError('invalid-argument', 'planOrchestrator.queue.url holds a password: remove it from the setting and use Plan: Set Queue Password');
  const remote = config.get<string>('queue.remote', 'origin').trim() || 'origin';
  assertRemoteName(remote);
  return ['--queue', url, '--remote', remote];
}

export function orchestratorCommands(terminals: OrchestratorTerminals, plans: PlanWorkspace): Record<string, Handler> {
  /** A plan entry, or a worktree row (its plan inside the worktree), from the command's argument. */
  const target = async (arg: unknown): Promise<{ cwd?: string; planFile?: string; title?: string; entry?: PlanEntry } | undefined> => {
    const node = arg as { kind?: string; entry?: PlanEntry; worktree?: PlanWorktree } | undefined;
    if (node?.kind === 'worktree' && node.worktree?.plan) {
      // The same run flow as from the plan (gate commands, uncommitted changes) when the plan is known here.
      const entry = plans.plans().find((e) => path.basename(e.uri.fsPath) === path.basename(node.worktree!.plan!));
      if (entry) return { entry };
      return { cwd: node.worktree.path, planFile: path.join(node.worktree.path, node.worktree.plan), title: node.worktree.name };
    }
    if (node?.entry) return { entry: node.entry };
    if (arg instanceof vscode.Uri) {
      const entry = plans.get(arg);
      if (!entry) throw new PlanError('plan-not-found', `${vscode.workspace.asRelativePath(arg)} is not a plan of this workspace`);
      return { entry };
    }
    const editor = vscode.window.activeTextEditor;
    const fromEditor = editor ? plans.get(editor.document.uri) : undefined;
    if (fromEditor) return { entry: fromEditor };
    const picked = await vscode.window.showQuickPick(
      plans.plans().map((e) => ({ label: e.analysis?.plan.title || path.basename(e.uri.fsPath), description: vscode.workspace.asRelativePath(e.uri), e })),
      { placeHolder: 'Which plan?' },
    );
    return picked ? { entry: picked.e } : undefined;
  };
  return {
    'planOrchestrator.setQueuePassword': async () => {
      const value = await vscode.window.showInputBox({
        title: 'Queue Password',
        prompt: 'The password of the Redis in planOrchestrator.queue.url (kept in VS Code\'s secret storage; empty removes it)',
        password: true,
        ignoreFocusOut: true,
      });
      if (value === undefined) return undefined;
      await terminals.setQueuePassword(value || undefined);
      void vscode.window.showInformationMessage(value ? 'Queue password saved.' : 'Queue password removed.');
      return Boolean(value);
    },
    'planOrchestrator.approveTask': async (arg: unknown, taskArg?: unknown) => {
      // From the tree (a task node) or from the approval notification (plan entry + task ID).
      const node = arg as { kind?: string; entry?: PlanEntry; taskId?: string } | undefined;
      const entry = node?.entry;
      const taskId = node?.taskId ?? (typeof taskArg === 'string' ? taskArg : undefined);
      if (!entry || !taskId) throw new PlanError('invalid-argument', 'choose a task that needs approval in the Plans view');
      return approveAndRetry(terminals, entry, taskId);
    },
    'planOrchestrator.retryTask': async (arg: unknown) => {
      const node = arg as { entry?: PlanEntry; taskId?: string } | undefined;
      if (!node?.entry || !node.taskId) throw new PlanError('invalid-argument', 'choose a failed task in the Plans view');
      // Back to pending in the status the views show (the worktree's when the plan runs there).
      await plans.setTaskStatus(node.entry, node.taskId, 'pending');
      const { cwd, planFile } = terminals.placeFor(node.entry);
      if (!runningRecordFor(await readRegistry(cwd), planFile)) return terminals.start(node.entry);
      return undefined;
    },
    'planOrchestrator.openTaskLog': async (arg: unknown) => {
      const node = arg as { entry?: PlanEntry; taskId?: string } | undefined;
      if (!node?.entry || !node.taskId) throw new PlanError('invalid-argument', 'choose a task in the Plans view');
      const log = node.entry.status?.tasks[node.taskId]?.run?.log;
      const base = node.entry.runsIn?.path ?? node.entry.root;
      if (!log) throw new PlanError('invalid-argument', `task ${node.taskId} has no agent log yet: it has not run`);
      return vscode.window.showTextDocument(vscode.Uri.file(path.join(base, log)), { preview: true });
    },
    'planOrchestrator.startOrchestrator': async (arg, choices) => {
      const t = await target(arg);
      if (!t) return undefined;
      const given = typeof choices === 'object' && choices !== null ? (choices as StartChoices) : {};
      return t.entry ? terminals.start(t.entry, given) : terminals.startAt(t.cwd!, t.planFile!, t.title!);
    },
    'planOrchestrator.stopOrchestrator': async (arg) => {
      const t = await target(arg);
      if (!t) return undefined;
      const pid = t.entry ? await terminals.stop(t.entry) : await terminals.stopAt(t.cwd!, t.planFile!);
      void vscode.window.showInformationMessage(pid ? `Asked the orchestrator (pid ${pid}) to stop; running tasks finish first.` : 'No orchestrator is running for this plan.');
      return pid;
    },
  };
}
