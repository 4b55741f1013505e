/**
 * Diagnostics and language features for plan documents: thin adapters from src/core (analysis,
 * references.ts) to VS Code. Every feature reads the analysis PlanWorkspace keeps for the exact
 * document version it is asked about, so positions always match the text on screen.
 */
import * as vscode from 'vscode';
import type { Analysis } from '../core/analyzer.js';
import type { Diagnostic as PlanDiagnostic } from '../core/diagnostics.js';
import type { DependencyRef, Plan, SourcePoint, SourceRange, Task } from '../core/model.js';
import { crossPlanFileOverlaps } from '../core/crossPlan.js';
import { planName } from '../core/planFile.js';
import {
  addDependencyEdit,
  findTask,
  idAtOffset,
  markSequentialEdit,
  nextFreeId,
  outline,
  referencesOf,
  removeDependencyEdit,
  removeParallelMarkerEdit,
  removingParallelMarkerResolves,
  renameEdits,
  sequentialMarkerResolves,
  taskFacts,
  type IdOccurrence,
  type OutlineNode,
  type TextEdit,
} from '../core/references.js';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';

const SELECTOR: vscode.DocumentSelector = { language: 'markdown' };
const DEFAULT_DELAY_MS = 150;

function toPosition(p: SourcePoint): vscode.Position {
  return new vscode.Position(p.line - 1, p.column - 1);
}

function toRange(r: SourceRange): vscode.Range {
  return new vscode.Range(toPosition(r.start), toPosition(r.end));
}

const SEVERITY: Record<PlanDiagnostic['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

function toDiagnostic(uri: vscode.Uri, analysis: Analysis, d: PlanDiagnostic): vscode.Diagnostic {
  const out = new vscode.Diagnostic(toRange(d.range), d.message, SEVERITY[d.severity]);
  out.code = d.code;
  out.source = 'plan';
  const related: vscode.DiagnosticRelatedInformation[] = [];
  const relate = (task: Task | undefined, message: string): void => {
    if (task) related.push(new vscode.DiagnosticRelatedInformation(new vscode.Location(uri, toRange(task.idRange)), message));
  };
  const { plan } = analysis;
  if (d.code === 'duplicate-task-id' && d.tasks[0]) {
    relate(findTask(plan, d.tasks[0]), `${d.tasks[0]} is first used here`);
  } else if (d.code === 'file-conflict' && d.data?.first) {
    relate(findTask(plan, d.data.first), `${d.data.first} also touches ${d.data.file ?? 'this file'}`);
  } else if (d.code === 'dependency-cycle') {
    for (const id of d.tasks.slice(1)) relate(findTask(plan, id), `${id} is part of the cycle`);
  }
  if (related.length > 0) out.relatedInformation = related;
  return out;
}

function sameRange(a: vscode.Range, b: vscode.Range): boolean {
  return a.start.isEqual(b.start) && a.end.isEqual(b.end);
}

/**
 * Keeps the `plan-orchestrator` diagnostics current: open plans are re-analysed after a short pause
 * in typing (a newer edit cancels the pending analysis); plans that are not open are published
 * whenever the workspace reads them from disk; plans that go away lose their diagnostics.
 */
class PlanDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('plan-orchestrator');
  private readonly pending = new Map<string, { timer?: ReturnType<typeof setTimeout>; cancel?: vscode.CancellationTokenSource }>();
  /** The analysis each URI's diagnostics were made from: republishing the same one is skipped. */
  private readonly published = new Map<string, Analysis>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  /** Bumped when the other worktrees' plans change, so that publishing the same analysis again is not skipped. */
  private othersVersion = 0;
  private readonly publishedOthers = new Map<string, number>();

  constructor(
    private readonly workspace: PlanWorkspace,
    private readonly log: vscode.LogOutputChannel,
    private readonly others?: OtherPlansSource,
  ) {
    if (others) {
      this.disposables.push(
        others.onDidChangeOtherPlans(() => {
          this.othersVersion++;
          for (const entry of workspace.plans()) this.publish(entry);
        }),
      );
    }
    this.disposables.push(
      vscode.workspace.onDidOpenTextDocument((doc) => this.schedule(doc)),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) this.schedule(e.document);
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => void this.closed(doc)),
      vscode.workspace.onDidDeleteFiles((e) => {
        for (const uri of e.files) this.forgetUnder(uri);
      }),
      workspace.onDidChangePlan((change) => {
        if (change.kind === 'analysis') this.publish(change.entry);
      }),
      workspace.onDidChangePlans(() => this.sync()),
    );
    for (const doc of vscode.workspace.textDocuments) this.schedule(doc);
    this.sync();
  }

  private delay(): number {
    const value = vscode.workspace.getConfiguration('planOrchestrator').get<number>('diagnosticsDelay', DEFAULT_DELAY_MS);
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : DEFAULT_DELAY_MS;
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!this.workspace.isPlanDocument(doc)) return;
    const key = doc.uri.toString();
    const state = this.pending.get(key) ?? {};
    this.pending.set(key, state);
    if (state.timer) clearTimeout(state.timer);
    state.cancel?.cancel();
    state.timer = setTimeout(() => void this.run(doc, state), this.delay());
  }

  private async run(doc: vscode.TextDocument, state: { timer?: ReturnType<typeof setTimeout>; cancel?: vscode.CancellationTokenSource }): Promise<void> {
    state.timer = undefined;
    if (doc.isClosed) return;
    const cancel = new vscode.CancellationTokenSource();
    state.cancel = cancel;
    try {
      const started = performance.now();
      // In the worker thread (core/offThread.ts): the host stays free while a big plan is analysed.
      const analysis = await this.workspace.updateFromDocument(doc, cancel.token);
      if (!analysis || cancel.token.isCancellationRequested) return;
      const entry = this.workspace.get(doc.uri);
      if (entry) this.publish(entry);
      this.log.trace(`analysed ${doc.uri.fsPath} v${doc.version} in ${(performance.now() - started).toFixed(1)} ms`);
    } catch (e) {
      this.log.error(`analysis of ${doc.uri.fsPath} failed: ${e instanceof Error && e.stack ? e.stack : String(e)}`);
    } finally {
      if (state.cancel === cancel) state.cancel = undefined;
      cancel.dispose();
    }
  }

  private publish(entry: PlanEntry): void {
    const key = entry.uri.toString();
    const analysis = entry.analysis;
    if (!analysis) {
      this.forget(entry.uri);
      return;
    }
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
    // Ranges from another version of an open document would point at the wrong text.
    if (open && entry.analyzedVersion !== open.version) {
      this.schedule(open);
      return;
    }
    if (this.published.get(key) === analysis && this.publishedOthers.get(key) === this.othersVersion) return;
    this.published.set(key, analysis);
    this.publishedOthers.set(key, this.othersVersion);
    this.collection.set(entry.uri, [
      ...analysis.diagnostics.map((d) => toDiagnostic(entry.uri, analysis, d)),
      ...this.crossPlan(entry, analysis),
    ]);
  }

  /**
   * Tasks of this plan and of another active plan (another worktree) that touch the same files:
   * the two branches are likely to conflict when they are merged.
   */
  private crossPlan(entry: PlanEntry, analysis: Analysis): vscode.Diagnostic[] {
    const others = this.others?.otherPlans() ?? [];
    if (others.length === 0) return [];
    const name = planName(entry.uri.fsPath);
    const where = new Map(others.map((o) => [o.name, o.where]));
    return crossPlanFileOverlaps([{ name, plan: analysis.plan }, ...others], { anchor: name }).map((o) => {
      const d = new vscode.Diagnostic(
        toRange(o.range),
        `${o.taskB} and ${o.taskA} of plan ${o.planA} (${where.get(o.planA) ?? 'another worktree'}) both touch ${o.file}; their branches are likely to conflict when merged — order the plans or move the change to one of them`,
        vscode.DiagnosticSeverity.Warning,
      );
      d.code = 'cross-plan-file-conflict';
      d.source = 'plan';
      return d;
    });
  }

  /** Plans added or removed: publish the new ones (read from disk without an event), drop the gone. */
  private sync(): void {
    const plans = this.workspace.plans();
    const live = new Set(plans.map((p) => p.uri.toString()));
    for (const key of [...this.published.keys()]) if (!live.has(key)) this.forget(vscode.Uri.parse(key));
    const stale: vscode.Uri[] = [];
    this.collection.forEach((uri) => {
      if (!live.has(uri.toString())) stale.push(uri);
    });
    for (const uri of stale) this.forget(uri);
    for (const entry of plans) this.publish(entry);
  }

  private forget(uri: vscode.Uri): void {
    const key = uri.toString();
    this.collection.delete(uri);
    this.published.delete(key);
    const state = this.pending.get(key);
    if (state?.timer) clearTimeout(state.timer);
    state?.cancel?.cancel();
    this.pending.delete(key);
  }

  private forgetUnder(uri: vscode.Uri): void {
    const prefix = uri.toString().replace(/\/?$/, '/');
    const doomed: vscode.Uri[] = [];
    this.collection.forEach((u) => {
      if (u.toString() === uri.toString() || u.toString().startsWith(prefix)) doomed.push(u);
    });
    for (const u of doomed) this.forget(u);
  }

  private async closed(doc: vscode.TextDocument): Promise<void> {
    const key = doc.uri.toString();
    const state = this.pending.get(key);
    if (state?.timer) clearTimeout(state.timer);
    state?.cancel?.cancel();
    this.pending.delete(key);
    if (!this.workspace.get(doc.uri)) {
      this.forget(doc.uri);
      return;
    }
    try {
      await vscode.workspace.fs.stat(doc.uri);
    } catch {
      this.forget(doc.uri);
    }
  }

  dispose(): void {
    for (const state of this.pending.values()) {
      if (state.timer) clearTimeout(state.timer);
      state.cancel?.cancel();
    }
    this.pending.clear();
    for (const d of this.disposables) d.dispose();
  }
}

interface Current {
  entry: PlanEntry;
  analysis: Analysis;
  text: string;
}

/** The analysis of exactly this document version (analysed now if the debounce has not run yet). */
async function current(workspace: PlanWorkspace, document: vscode.TextDocument, token?: vscode.CancellationToken): Promise<Current | undefined> {
  if (!workspace.isPlanDocument(document)) return undefined;
  const version = document.version;
  const text = document.getText();
  const analysis = await workspace.updateFromDocument(document, token);
  const entry = workspace.get(document.uri);
  // Typing went on while it was analysed: positions from that text would point at the wrong place.
  if (!analysis || !entry || document.version !== version) return undefined;
  return { entry, analysis, text };
}

function occurrenceAt(cur: Current, document: vscode.TextDocument, position: vscode.Position): IdOccurrence | undefined {
  return idAtOffset(cur.analysis.plan, cur.text, document.offsetAt(position));
}

function toWorkspaceEdit(document: vscode.TextDocument, edits: TextEdit[]): vscode.WorkspaceEdit {
  const out = new vscode.WorkspaceEdit();
  for (const e of edits) out.replace(document.uri, new vscode.Range(document.positionAt(e.start), document.positionAt(e.end)), e.newText);
  return out;
}

const STATE_WORDS = { done: 'done', running: 'in progress', failed: 'failed', pending: 'pending', missing: 'not in this plan' } as const;

function list(ids: string[], limit = 12): string {
  if (ids.length === 0) return '—';
  const shown = ids.slice(0, limit).join(', ');
  return ids.length > limit ? `${shown} and ${ids.length - limit} more` : shown;
}

class PlanLanguageProvider
  implements vscode.HoverProvider, vscode.DefinitionProvider, vscode.ReferenceProvider, vscode.RenameProvider, vscode.DocumentSymbolProvider, vscode.CodeActionProvider
{
  static readonly codeActionKinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly workspace: PlanWorkspace) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const cur = await current(this.workspace, document, token);
    if (!cur) return undefined;
    const occ = occurrenceAt(cur, document, position);
    if (!occ || occ.kind === 'phase-dependency') return undefined;
    const { plan, graph } = cur.analysis;
    const task = occ.kind === 'definition' ? plan.tasks[occ.taskIndex]! : findTask(plan, occ.id);
    const md = new vscode.MarkdownString();
    if (!task) {
      md.appendMarkdown(`**${occ.id}** is not a task in this plan.`);
      return new vscode.Hover(md, toRange(occ.range));
    }
    const facts = taskFacts(plan, graph, task.index, this.workspace.statusOf(cur.entry));
    const phase = facts.phase.implicit ? 'Tasks' : `Phase ${facts.phase.id}${facts.phase.title ? `: ${facts.phase.title}` : ''}`;
    let state: string = STATE_WORDS[facts.state];
    if (facts.state === 'pending') state += facts.blockedBy.length === 0 ? ' — ready to start' : ` — waiting for ${list(facts.blockedBy.map((b) => `${b.id} (${STATE_WORDS[b.state]})`), 6)}`;
    if (facts.recorded) state += ` · status file: ${facts.recorded}`;
    md.appendMarkdown(`**${task.id}** ${escape(task.title)}\n\n`);
    md.appendMarkdown(`${escape(phase)} · ${task.kind === 'verify' ? 'VERIFY item · ' : ''}${escape(state)}\n\n`);
    md.appendMarkdown(`Depends on: ${escape(list(facts.waitsFor))}\n\n`);
    md.appendMarkdown(`Needed by: ${escape(list(facts.dependents))}`);
    return new vscode.Hover(md, toRange(occ.range));
  }

  async provideDefinition(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.DefinitionLink[] | undefined> {
    const cur = await current(this.workspace, document, token);
    if (!cur) return undefined;
    const occ = occurrenceAt(cur, document, position);
    if (!occ) return undefined;
    const { plan } = cur.analysis;
    if (occ.kind === 'phase-dependency') {
      const phase = plan.phases.find((p) => p.id === occ.id && !p.implicit);
      if (!phase) return undefined;
      const heading = new vscode.Range(toPosition(phase.range.start), document.lineAt(phase.range.start.line - 1).range.end);
      return [{ originSelectionRange: toRange(occ.range), targetUri: document.uri, targetRange: toRange(phase.range), targetSelectionRange: heading }];
    }
    const task = occ.kind === 'definition' ? plan.tasks[occ.taskIndex]! : findTask(plan, occ.id);
    if (!task) return undefined;
    return [{ originSelectionRange: toRange(occ.range), targetUri: document.uri, targetRange: toRange(task.range), targetSelectionRange: toRange(task.idRange) }];
  }

  async provideReferences(
    document: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.ReferenceContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.Location[] | undefined> {
    const cur = await current(this.workspace, document, token);
    if (!cur) return undefined;
    const occ = occurrenceAt(cur, document, position);
    if (!occ || occ.kind === 'phase-dependency') return undefined;
    const { plan } = cur.analysis;
    const out: vscode.Location[] = [];
    const task = occ.kind === 'definition' ? plan.tasks[occ.taskIndex]! : findTask(plan, occ.id);
    if (context.includeDeclaration && task) out.push(new vscode.Location(document.uri, toRange(task.idRange)));
    // References resolve to the first task with an ID; a duplicate has none of its own.
    if (!task || findTask(plan, task.id) === task) {
      for (const r of referencesOf(plan, cur.text, occ.id)) out.push(new vscode.Location(document.uri, toRange(r.range)));
    }
    return out;
  }

  async prepareRename(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<{ range: vscode.Range; placeholder: string } | undefined> {
    // Other markdown files belong to the markdown extension's rename (headings, links).
    const cur = await current(this.workspace, document, token);
    if (!cur) return undefined;
    const occ = occurrenceAt(cur, document, position);
    if (!occ) throw new Error('Place the cursor on a task ID (its own, or one in a depends list) to rename it');
    if (occ.kind === 'phase-dependency') throw new Error('Phases are renamed in their heading; only task IDs can be renamed here');
    if (occ.kind !== 'definition' && !findTask(cur.analysis.plan, occ.id)) {
      throw new Error(`${occ.id} is not a task in this plan, so there is nothing to rename; correct the reference instead`);
    }
    return { range: toRange(occ.range), placeholder: occ.id };
  }

  async provideRenameEdits(document: vscode.TextDocument, position: vscode.Position, newName: string, token: vscode.CancellationToken): Promise<vscode.WorkspaceEdit | undefined> {
    const cur = await current(this.workspace, document, token);
    if (!cur) return undefined;
    const occ = occurrenceAt(cur, document, position);
    if (!occ) throw new Error('Place the cursor on a task ID (its own, or one in a depends list) to rename it');
    // TaskReferenceError messages say what is wrong with the name; VS Code shows them as the refusal.
    return toWorkspaceEdit(document, renameEdits(cur.analysis.plan, cur.text, occ, newName));
  }

  async provideDocumentSymbols(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.DocumentSymbol[] | undefined> {
    const cur = await current(this.workspace, document, token);
    if (!cur) return undefined;
    const convert = (n: OutlineNode): vscode.DocumentSymbol => {
      const kind = n.kind === 'phase' ? vscode.SymbolKind.Namespace : n.kind === 'task' ? vscode.SymbolKind.Event : vscode.SymbolKind.Boolean;
      const symbol = new vscode.DocumentSymbol(n.name, n.detail, kind, toRange(n.range), toRange(n.selectionRange));
      symbol.children = n.children.map(convert);
      return symbol;
    };
    return outline(cur.analysis.plan, cur.text).map(convert);
  }

  async provideCodeActions(
    document: vscode.TextDocument,
    range: vscode.Range | vscode.Selection,
    context: vscode.CodeActionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.CodeAction[] | undefined> {
    if (context.only && !context.only.contains(vscode.CodeActionKind.QuickFix) && !vscode.CodeActionKind.QuickFix.contains(context.only)) return undefined;
    const cur = await current(this.workspace, document, token);
    if (!cur) return undefined;
    const actions: vscode.CodeAction[] = [];
    for (const d of cur.analysis.diagnostics) {
      const dRange = toRange(d.range);
      if (!dRange.intersection(range) && !dRange.contains(range)) continue;
      // Link to the diagnostic VS Code shows, so the lightbulb and the Problems view agree.
      const shown = context.diagnostics.find((x) => x.code === d.code && sameRange(x.range, dRange)) ?? toDiagnostic(document.uri, cur.analysis, d);
      for (const [title, edits, preferred] of this.fixes(cur, d)) {
        const action = new vscode.CodeAction(title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [shown];
        action.edit = toWorkspaceEdit(document, edits);
        action.isPreferred = preferred;
        actions.push(action);
      }
    }
    return actions;
  }

  private fixes(cur: Current, d: PlanDiagnostic): Array<[string, TextEdit[], boolean]> {
    const { plan, graph } = cur.analysis;
    const out: Array<[string, TextEdit[], boolean]> = [];
    const refAt = (): DependencyRef | undefined =>
      plan.tasks.flatMap((t) => t.dependsOn).find((r) => r.range.start.offset === d.range.start.offset && r.range.end.offset === d.range.end.offset);
    switch (d.code) {
      case 'file-conflict': {
        const first = d.data?.first ? findTask(plan, d.data.first) : undefined;
        const second = d.data?.second ? findTask(plan, d.data.second) : undefined;
        if (!first || !second) break;
        const add = addDependencyEdit(plan, cur.text, second.index, first.id);
        if (add) out.push([`Add (depends: ${first.id}) to ${second.id}`, [add], true]);
        if (sequentialMarkerResolves(plan, graph, first, second)) out.push([`Mark ${second.id} [SEQUENTIAL]`, [markSequentialEdit(cur.text, second)], false]);
        if (removingParallelMarkerResolves(plan, first, second)) {
          const edit = removeParallelMarkerEdit(cur.text, second);
          if (edit) out.push([`Remove the parallel marker from ${second.id}`, [edit], false]);
        }
        break;
      }
      case 'unknown-dependency': {
        const ref = refAt();
        if (!ref) break;
        const shown = ref.kind === 'phase' ? `Phase ${ref.target}` : ref.target;
        if (d.data?.suggestion) out.push([`Change to ${d.data.suggestion}`, [{ start: ref.range.start.offset, end: ref.range.end.offset, newText: d.data.suggestion }], true]);
        out.push([`Remove dependency ${shown}`, [removeDependencyEdit(cur.text, ref)], !d.data?.suggestion]);
        break;
      }
      case 'self-dependency': {
        const ref = refAt();
        if (ref) out.push([`Remove ${ref.target}'s dependency on itself`, [removeDependencyEdit(cur.text, ref)], true]);
        break;
      }
      case 'duplicate-task-id': {
        const task = plan.tasks.find((t) => t.idRange.start.offset === d.range.start.offset && !t.syntheticId);
        if (!task) break;
        const next = nextFreeId(plan, task.id);
        out.push([`Renumber to ${next}`, [{ start: task.idRange.start.offset, end: task.idRange.end.offset, newText: next }], true]);
        break;
      }
    }
    return out;
  }
}

function escape(text: string): string {
  return text.replace(/[\\`*_[\]<>]/g, '\\$&');
}

/** The plans of the other active worktrees, for the cross-plan file warning. */
export interface OtherPlansSource {
  otherPlans(): ReadonlyArray<{ name: string; plan: Plan; where: string }>;
  readonly onDidChangeOtherPlans: vscode.Event<void>;
}

export function registerLanguageFeatures(workspace: PlanWorkspace, log: vscode.LogOutputChannel, others?: OtherPlansSource): vscode.Disposable[] {
  const provider = new PlanLanguageProvider(workspace);
  return [
    new PlanDiagnostics(workspace, log, others),
    vscode.languages.registerHoverProvider(SELECTOR, provider),
    vscode.languages.registerDefinitionProvider(SELECTOR, provider),
    vscode.languages.registerReferenceProvider(SELECTOR, provider),
    vscode.languages.registerRenameProvider(SELECTOR, provider),
    vscode.languages.registerDocumentSymbolProvider(SELECTOR, provider, { label: 'Plan' }),
    vscode.languages.registerCodeActionsProvider(SELECTOR, provider, { providedCodeActionKinds: PlanLanguageProvider.codeActionKinds }),
  ];
}
