/**
 * The Worktrees view and its commands: one git worktree per plan (src/git/worktreeManager.ts),
 * with ahead/behind, dirty, size, staleness, and predicted merge conflicts between plan branches.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import { formatBytes } from '../git/diskUsage.js';
import { WorktreeManager } from '../git/worktreeManager.js';
import { WorktreeError, type PlanWorktree, type WorktreeListReport } from '../git/worktreeResults.js';
import { FALLBACK_IDENTITY, GitService } from '../git/gitService.js';
import { predictConflicts, type ConflictReport } from '../git/conflicts.js';
import { findRepoRoot } from '../core/status.js';
import { PlanError } from '../core/source.js';
import type { PlanWorkspace } from './planWorkspace.js';
import type { OtherPlansSource } from './language.js';
import type { Plan } from '../core/model.js';
import { parsePlan } from '../core/analyzer.js';
import { planName, readPlanFile } from '../core/planFile.js';
import { humanTime, listNames, plural } from './format.js';

export type WorktreeNode = { kind: 'worktree'; worktree: PlanWorktree } | { kind: 'info'; text: string; icon: string };

export class WorktreeTreeProvider implements vscode.TreeDataProvider<WorktreeNode>, OtherPlansSource, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<WorktreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly othersEmitter = new vscode.EventEmitter<void>();
  readonly onDidChangeOtherPlans = this.othersEmitter.event;
  private others: Array<{ name: string; plan: Plan; where: string }> = [];
  private report: WorktreeListReport | undefined;
  private conflicts: ConflictReport | undefined;
  private error: string | undefined;
  private loading: Promise<void> | undefined;

  constructor(private readonly root: () => string | undefined) {}

  /** Reloads the list from git (a few git calls per worktree), coalescing concurrent requests. */
  refresh(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
      this.emitter.fire(undefined);
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    const root = this.root();
    if (!root) {
      this.report = undefined;
      return;
    }
    try {
      const manager = await WorktreeManager.open(root);
      this.report = await manager.listReport();
      this.error = undefined;
      await this.loadOtherPlans();
    } catch (e) {
      this.report = undefined;
      this.error = e instanceof Error ? e.message : String(e);
    }
  }

  /** The plan of each worktree, read from that worktree (its branch may have changed the plan). */
  private async loadOtherPlans(): Promise<void> {
    const others: Array<{ name: string; plan: Plan; where: string }> = [];
    for (const w of this.report?.worktrees ?? []) {
      if (!w.plan || w.missing) continue;
      try {
        const file = path.join(w.path, w.plan);
        others.push({ name: planName(file), plan: parsePlan(await readPlanFile(file)), where: w.branch ?? w.name });
      } catch {
        // an unreadable plan in another worktree is that worktree's problem, shown in its own window
      }
    }
    this.others = others;
    this.othersEmitter.fire();
  }

  otherPlans(): ReadonlyArray<{ name: string; plan: Plan; where: string }> {
    return this.others;
  }

  setConflicts(report: ConflictReport | undefined): void {
    this.conflicts = report;
    this.emitter.fire(undefined);
  }

  worktrees(): PlanWorktree[] {
    return this.report?.worktrees ?? [];
  }

  getChildren(element?: WorktreeNode): WorktreeNode[] {
    if (element) return [];
    const out: WorktreeNode[] = [];
    if (this.error && !/not a git repository|not-a-repository/i.test(this.error)) out.push({ kind: 'info', text: this.error, icon: 'warning' });
    for (const warning of this.report?.warnings ?? []) out.push({ kind: 'info', text: warning, icon: 'warning' });
    for (const w of this.worktrees()) out.push({ kind: 'worktree', worktree: w });
    return out;
  }

  getTreeItem(element: WorktreeNode): vscode.TreeItem {
    if (element.kind === 'info') {
      const item = new vscode.TreeItem(element.text);
      item.iconPath = new vscode.ThemeIcon(element.icon, new vscode.ThemeColor('problemsWarningIcon.foreground'));
      item.tooltip = element.text;
      return item;
    }
    const w = element.worktree;
    const item = new vscode.TreeItem(w.name);
    item.id = `worktree:${w.path}`;
    item.contextValue = w.missing ? 'worktree.missing' : 'worktree';
    const conflicting = this.conflictsOf(w);
    const order = this.conflicts?.order.findIndex((o) => o.branch === w.branch) ?? -1;
    const parts = [
      w.branch ?? '(detached)',
      `↑${w.ahead} ↓${w.behind}`,
      w.dirty ? 'dirty' : '',
      formatBytes(w.diskBytes),
      w.stale ? 'stale' : '',
      w.blocked ? 'blocked' : '',
      conflicting.length ? `⚠ ${conflicting.length} conflict${conflicting.length === 1 ? '' : 's'}` : '',
      order >= 0 ? `merge #${order + 1}` : '',
    ];
    item.description = parts.filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon(
      w.missing ? 'circle-slash' : w.blocked || conflicting.length ? 'warning' : w.dirty ? 'git-branch-changes' : 'git-branch',
      w.blocked || conflicting.length ? new vscode.ThemeColor('problemsWarningIcon.foreground') : undefined,
    );
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${w.name}** — \`${w.branch ?? 'detached'}\` from \`${w.base}\`\n\n`);
    md.appendMarkdown(`${vscode.workspace.asRelativePath(w.path)}${w.plan ? ` · plan \`${w.plan}\`` : ''}\n\n`);
    md.appendMarkdown(`${w.ahead} ahead, ${w.behind} behind \`${w.comparedWith}\`${w.dirty ? ` · uncommitted: ${w.changes.slice(0, 5).join(', ')}` : ''}\n\n`);
    md.appendMarkdown(`Last activity: ${w.lastActivityAt ? humanTime(w.lastActivityAt) : 'unknown'}${w.stale ? ' (stale)' : ''} · ${formatBytes(w.diskBytes)}\n\n`);
    if (w.blocked) md.appendMarkdown(`$(warning) Blocked: ${w.blocked.hint}\n\n`);
    for (const c of conflicting) md.appendMarkdown(`$(warning) Conflicts with \`${c.other}\`: ${c.files.map((f) => `\`${f}\``).join(', ')}\n\n`);
    if (order >= 0) md.appendMarkdown(`Recommended merge position ${order + 1}: ${this.conflicts!.order[order]!.reason}\n`);
    item.tooltip = md;
    return item;
  }

  private conflictsOf(w: PlanWorktree): Array<{ other: string; files: string[] }> {
    if (!this.conflicts || !w.branch) return [];
    const out: Array<{ other: string; files: string[] }> = [];
    for (const p of this.conflicts.pairs) {
      if (p.clean) continue;
      if (p.a === w.branch) out.push({ other: p.b, files: p.conflicts });
      else if (p.b === w.branch) out.push({ other: p.a, files: p.conflicts });
    }
    return out;
  }

  dispose(): void {
    this.emitter.dispose();
    this.othersEmitter.dispose();
  }
}

type Handler = (...args: unknown[]) => Promise<unknown> | unknown;

/** The repository of the first workspace folder that is in one. */
export function workspaceRepoRoot(): string | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? findRepoRoot(folder.uri.fsPath) : undefined;
}

function requireTrust(): void {
  if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: git worktrees are not created or changed');
}

export function worktreeCommands(provider: WorktreeTreeProvider, plans: PlanWorkspace, log: vscode.LogOutputChannel): Record<string, Handler> {
  const manager = async (): Promise<WorktreeManager> => {
    const root = workspaceRepoRoot();
    if (!root) throw new PlanError('invalid-argument', 'open a folder that is a git repository first');
    return WorktreeManager.open(root);
  };

  const pickWorktree = async (arg: unknown): Promise<PlanWorktree | undefined> => {
    const node = arg as WorktreeNode | undefined;
    if (typeof node === 'object' && node !== null && node.kind === 'worktree') return node.worktree;
    if (typeof arg === 'string') {
      await provider.refresh();
      return provider.worktrees().find((w) => w.name === arg);
    }
    await provider.refresh();
    const picked = await vscode.window.showQuickPick(
      provider.worktrees().map((w) => ({ label: w.name, description: w.branch, w })),
      { placeHolder: 'Choose a plan worktree' },
    );
    return picked?.w;
  };

  const progress = <T>(title: string, work: (token: vscode.CancellationToken) => Promise<T>, cancellable = false): Thenable<T> =>
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable }, (_p, token) => work(token));

  return {
    'planOrchestrator.worktree.refresh': () => provider.refresh(),
    'planOrchestrator.worktree.create': async (arg, second) => {
      requireTrust();
      let planUri: vscode.Uri | undefined;
      if (arg instanceof vscode.Uri) planUri = arg;
      else if (typeof arg === 'object' && arg !== null && 'entry' in arg) planUri = (arg as { entry: { uri: vscode.Uri } }).entry.uri;
      else {
        const picked = await vscode.window.showQuickPick(
          plans.plans().map((e) => ({ label: e.analysis?.plan.title || path.basename(e.uri.fsPath), description: vscode.workspace.asRelativePath(e.uri), uri: e.uri })),
          { placeHolder: 'Create a worktree for which plan?' },
        );
        planUri = picked?.uri;
      }
      if (!planUri) return undefined;
      const choices = typeof second === 'object' && second !== null ? (second as CreateChoices) : {};
      if (!(await planCommitted(planUri, choices))) return undefined;
      const m = await manager();
      const created = await progress(`Creating a worktree for ${path.basename(planUri.fsPath)}`, () => m.create(planUri.fsPath));
      for (const w of created.warnings) log.warn(`${created.name}: ${w}`);
      await provider.refresh();
      // Not awaited: the command is done when the worktree is; the offer stays until dismissed.
      void vscode.window
        .showInformationMessage(`Worktree ${created.name} created on ${created.branch} (${vscode.workspace.asRelativePath(created.path)})`, 'Open in New Window')
        .then((choice) => choice && vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(created.path), { forceNewWindow: true }));
      return created;
    },
    'planOrchestrator.worktree.open': async (arg) => {
      const w = await pickWorktree(arg);
      if (w) await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(w.path), { forceNewWindow: true });
    },
    'planOrchestrator.worktree.remove': async (arg) => {
      requireTrust();
      const w = await pickWorktree(arg);
      if (!w) return;
      const m = await manager();
      const keep = await vscode.window.showWarningMessage(`Remove the worktree ${w.name}?`, { modal: true }, 'Remove (keep branch)', 'Remove and delete branch');
      if (!keep) return;
      const deleteBranch = keep === 'Remove and delete branch';
      try {
        await m.remove(w.name, { deleteBranch });
      } catch (e) {
        // Only the refusals that --force overrides are offered as "Remove Anyway"; others (locked, git errors) are shown as they are.
        if (!(e instanceof WorktreeError) || !['dirty', 'unmerged', 'ignored-files'].includes(e.code)) throw e;
        const force = await vscode.window.showWarningMessage(`${e.message}. Remove it anyway? Its uncommitted, unmerged or git-ignored files will be lost.`, { modal: true }, 'Remove Anyway');
        if (force !== 'Remove Anyway') return;
        await m.remove(w.name, { deleteBranch, force: true });
      }
      await provider.refresh();
    },
    'planOrchestrator.worktree.complete': async (arg) => {
      requireTrust();
      const w = await pickWorktree(arg);
      if (!w) return;
      const m = await manager();
      let result;
      try {
        result = await progress(`Merging ${w.branch ?? w.name}`, () => m.complete(w.name));
      } catch (e) {
        if (!(e instanceof WorktreeError)) throw e;
        // A refusal is something to act on, not a toast that disappears into the notification centre.
        void showRefusal(`${w.branch ?? w.name} was not merged`, e, w);
        return { refused: e.code, message: e.message };
      }
      await provider.refresh();
      if (result.outcome === 'conflict') {
        // Left mid-merge on purpose: the user finishes it in the Source Control view / merge editor.
        await vscode.commands.executeCommand('workbench.view.scm');
        void vscode.window.showWarningMessage(`Merging ${result.branch} stopped on conflicts in ${result.conflicts?.files.join(', ')}. ${result.hint ?? ''}`);
      } else {
        const rebased = result.dependents.filter((d) => d.rebase === 'rebased').map((d) => d.name);
        const pending = result.dependents.filter((d) => d.rebase !== 'rebased');
        const message = `${result.branch} merged into ${result.target} (${result.strategy})${result.removed ? '; worktree removed' : ''}${rebased.length ? `; rebased ${rebased.join(', ')}` : ''}`;
        if (pending.length === 0) void vscode.window.showInformationMessage(message);
        else {
          // Plans built on the merged branch now carry its commits twice unless they move onto main.
          void vscode.window
            .showInformationMessage(`${message}. ${pending.map((d) => d.name).join(', ')} ${pending.length === 1 ? 'was' : 'were'} based on it.`, 'Rebase Them')
            .then(async (choice) => {
              if (!choice) return;
              for (const d of pending) {
                const r = await m.rebase(d.name);
                if (r.outcome === 'conflict') void vscode.window.showWarningMessage(`Rebase of ${r.branch} stopped on conflicts in ${r.conflicts?.join(', ')}. ${r.hint ?? ''}`);
              }
              await provider.refresh();
            });
        }
      }
      return result;
    },
    'planOrchestrator.worktree.rebase': async (arg) => {
      requireTrust();
      const w = await pickWorktree(arg);
      if (!w) return;
      const m = await manager();
      const result = await progress(`Rebasing ${w.branch ?? w.name}`, () => m.rebase(w.name));
      await provider.refresh();
      if (result.outcome === 'conflict') void vscode.window.showWarningMessage(`Rebase of ${result.branch} stopped on conflicts in ${result.conflicts?.join(', ')}. ${result.hint ?? ''}`);
      return result;
    },
    'planOrchestrator.worktree.cleanup': async () => {
      requireTrust();
      const m = await manager();
      const report = await progress('Cleaning up plan worktrees', () => m.cleanup());
      await provider.refresh();
      void vscode.window.showInformationMessage(
        `Removed ${plural(report.removed.length, 'worktree')}${report.kept.length ? `; kept ${report.kept.map((k) => `${k.name} (${k.reason})`).join(', ')}` : ''}.`,
      );
      return report;
    },
    'planOrchestrator.worktree.conflicts': async () => {
      const root = workspaceRepoRoot();
      if (!root) throw new PlanError('invalid-argument', 'open a folder that is a git repository first');
      const report = await progress(
        'Predicting merge conflicts between plan branches',
        async (token) => {
          const git = await GitService.open(root);
          const r = await predictConflicts(git);
          return token.isCancellationRequested ? undefined : r;
        },
        true,
      );
      if (!report) return undefined;
      provider.setConflicts(report);
      void vscode.window.showInformationMessage(conflictSummary(report));
      return report;
    },
  };
}

/** `2 plan branches: plan/a and plan/b both change src/x.ts. Merge in this order: plan/a → plan/b.` */
export function conflictSummary(report: ConflictReport): string {
  const pairs = report.pairs.filter((p) => !p.clean);
  const head = plural(report.branches.length, 'plan branch', 'plan branches');
  const clashes = pairs.length
    ? pairs.map((p) => `${p.a} and ${p.b} both change ${listNames(p.conflicts, 3)}`).join('; ')
    : report.branches.length > 1
      ? 'no two of them conflict'
      : 'nothing to conflict with';
  const order = report.order.map((o) => o.branch);
  return `${head}: ${clashes}.${order.length > 1 ? ` Merge in this order: ${order.join(' → ')}.` : ''}`;
}

/** Answers to Create Worktree's question given in advance (the run flow, tests). */
export interface CreateChoices {
  /** Save and commit the plan first when it has unsaved or uncommitted edits (false: create from the last commit). */
  commitPlan?: boolean;
}

/**
 * A worktree is checked out from the last commit: the plan there is the committed one. A plan with
 * unsaved or uncommitted edits would run without them, so the user is offered to save and commit
 * just the plan first. False when the user cancelled.
 */
async function planCommitted(planUri: vscode.Uri, choices: CreateChoices): Promise<boolean> {
  const root = findRepoRoot(path.dirname(planUri.fsPath));
  const rel = path.relative(root, planUri.fsPath).split(path.sep).join('/');
  const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === planUri.toString());
  const unsaved = document?.isDirty ?? false;
  const git = await GitService.open(root).catch(() => undefined);
  const uncommitted = git ? (await git.statusEntries()).some((e) => e.path === rel) : false;
  if (!unsaved && !uncommitted) return true;
  let commit = choices.commitPlan;
  if (commit === undefined) {
    const what = unsaved ? 'unsaved edits' : 'changes that are not committed';
    const answer = await vscode.window.showWarningMessage(
      `${path.basename(planUri.fsPath)} has ${what}. The worktree starts from the last commit, so the plan would run without them.`,
      { modal: true, detail: `Save and Commit Plan commits only ${rel}, nothing else.` },
      'Save and Commit Plan',
      'Create from Last Commit',
    );
    if (!answer) return false;
    commit = answer === 'Save and Commit Plan';
  }
  if (!commit) return true;
  if (document?.isDirty && !(await document.save())) throw new PlanError('invalid-argument', `${rel} could not be saved`);
  if (!git) throw new PlanError('invalid-argument', `${rel} is not in a git repository`);
  // A machine without a git identity still gets the commit, as the orchestrator's commits do.
  const identity = (await git.hasIdentity()) ? undefined : FALLBACK_IDENTITY;
  await git.commitPaths([rel], `Update the plan ${path.basename(rel)} before running it`, identity ? { identity } : {});
  return true;
}

/** A refusal of Complete Plan, as a modal with what to do about it. */
async function showRefusal(title: string, e: WorktreeError, w: PlanWorktree): Promise<void> {
  const actions: Record<string, () => Thenable<unknown>> = {};
  if (e.code === 'dirty' || e.code === 'in-progress') {
    actions['Open Worktree in New Window'] = () => vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(w.path), { forceNewWindow: true });
  }
  if (e.code === 'main-checkout' || e.code === 'in-progress') actions['Open Source Control'] = () => vscode.commands.executeCommand('workbench.view.scm');
  const pick = await vscode.window.showErrorMessage(title, { modal: true, detail: e.message }, ...Object.keys(actions));
  if (pick) await actions[pick]!();
}
