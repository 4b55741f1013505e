/**
 * Every plan of the workspace with its latest analysis and status, kept current by file watchers.
 * The tree, diagnostics, decorations, CodeLens and the status bar all read from here, so a plan is
 * parsed once per change, incrementally. Analysis runs in a worker thread (core/offThread.ts, which
 * keeps one chunk cache per plan), so that a huge or pathological plan never blocks the extension host.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import { promises as fsp } from 'node:fs';
import type { Plan } from '../core/model.js';
import { AnalysisCancelled, type Analysis } from '../core/analyzer.js';
import { AnalysisWorker } from '../core/offThread.js';
import { readPlanFile, statusFileFor, relativeToRoot, POINTER_FILES, writePlanPointer, DEFAULT_PLAN_GLOBS } from '../core/planFile.js';
import { findRepoRoot, readStatusFile, StatusStore, type StatusFile } from '../core/status.js';
import { statusLookup } from '../core/session.js';
import type { StatusLookup, TaskStatus } from '../core/schedule.js';
import { PlanError } from '../core/source.js';
import { loadWorkflowConfig } from '../core/workflowConfig.js';

export interface PlanEntry {
  uri: vscode.Uri;
  /** Repository (worktree) root the status file is relative to. */
  root: string;
  analysis?: Analysis;
  /** The document version the analysis is for, or -1 when read from disk. */
  analyzedVersion: number;
  statusPath: string;
  status?: StatusFile;
  /** A corrupt or unreadable status file: shown to the user, never overwritten. */
  statusError?: string;
  /** The plan file itself could not be read (binary, not UTF-8, …). */
  loadError?: string;
  /**
   * Where the plan runs when that is not here: its worktree's branch (`plan/notes-cache`). Its status
   * is then read from and written to the worktree's status.json: one truth for every view.
   */
  runsIn?: { branch: string; path: string };
}

/** Where a plan's status lives when it runs elsewhere (its worktree); undefined: beside the plan. */
export type StatusPlace = (entry: PlanEntry, plan: Plan) => { statusPath: string; runsIn: { branch: string; path: string } } | undefined;

export interface PlanChange {
  entry: PlanEntry;
  /** What changed: the markdown (and so the analysis), or only the status file. */
  kind: 'analysis' | 'status';
}

export function planGlobs(): string[] {
  const globs = vscode.workspace.getConfiguration('planOrchestrator').get<string[]>('planGlobs');
  return Array.isArray(globs) && globs.length > 0 ? globs : [...DEFAULT_PLAN_GLOBS];
}

export class PlanWorkspace implements vscode.Disposable {
  private readonly entries = new Map<string, PlanEntry>();
  private readonly byStatusPath = new Map<string, PlanEntry>();
  private readonly changed = new vscode.EventEmitter<PlanChange>();
  private readonly listChanged = new vscode.EventEmitter<void>();
  private readonly disposables: vscode.Disposable[] = [];
  private activePlanPath: string | undefined;
  private readonly statusReads = new WeakMap<PlanEntry, number>();
  /** mtime:size of each status file as last read, for the poll that backs up the file watcher. */
  private readonly statusStamps = new Map<string, string>();
  private pollTimer: ReturnType<typeof setInterval> | undefined;
  /** Analyses plans off the extension host's thread; keyed by URI so each plan's re-analysis is incremental. */
  private readonly analyses = new AnalysisWorker();
  /** The analysis under way for an open document, per plan: callers asking for the same version share it. */
  private readonly inflight = new WeakMap<PlanEntry, { version: number; promise: Promise<Analysis | undefined> }>();

  /** One plan's analysis or status changed. */
  readonly onDidChangePlan = this.changed.event;
  /** Plans were added or removed. */
  readonly onDidChangePlans = this.listChanged.event;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.disposables.push(this.changed, this.listChanged);
  }

  plans(): PlanEntry[] {
    return [...this.entries.values()].sort((a, b) => a.uri.fsPath.localeCompare(b.uri.fsPath));
  }

  get(uri: vscode.Uri): PlanEntry | undefined {
    return this.entries.get(uri.toString());
  }

  /**
   * The plan the user works on: the worktree's pointer (`planctl use`, Set Active Plan), else the plan
   * open in the editor, else the only plan. Never just the first one in alphabetical order.
   */
  activePlan(): PlanEntry | undefined {
    const pointed = this.pointedPlan();
    if (pointed) return pointed;
    const editor = vscode.window.activeTextEditor;
    const inEditor = editor ? this.get(editor.document.uri) : undefined;
    if (inEditor) return inEditor;
    const all = this.plans();
    return all.length === 1 ? all[0] : undefined;
  }

  /** The plan the worktree's pointer names (what the tree labels "active"). */
  pointedPlan(): PlanEntry | undefined {
    return this.activePlanPath ? this.plans().find((p) => p.uri.fsPath === this.activePlanPath) : undefined;
  }

  async initialize(): Promise<void> {
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      for (const glob of planGlobs()) {
        const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, glob));
        watcher.onDidCreate((uri) => void this.addPlan(uri), undefined, this.disposables);
        watcher.onDidChange((uri) => void this.reloadFromDisk(uri), undefined, this.disposables);
        watcher.onDidDelete((uri) => this.removePlan(uri), undefined, this.disposables);
        this.disposables.push(watcher);
      }
      // Status files may live in any `**Output:**` folder; we map them back to plans by path.
      const statusWatcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '**/status.json'));
      const onStatus = (uri: vscode.Uri): void => {
        const entry = this.byStatusPath.get(uri.fsPath);
        if (entry) void this.reloadStatus(entry);
      };
      statusWatcher.onDidCreate(onStatus, undefined, this.disposables);
      statusWatcher.onDidChange(onStatus, undefined, this.disposables);
      statusWatcher.onDidDelete(onStatus, undefined, this.disposables);
      this.disposables.push(statusWatcher);
      const pointerWatcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, `{${POINTER_FILES.join(',')}}`));
      const onPointer = (): void => void this.readActivePointer().then(() => this.listChanged.fire());
      pointerWatcher.onDidCreate(onPointer, undefined, this.disposables);
      pointerWatcher.onDidChange(onPointer, undefined, this.disposables);
      this.disposables.push(pointerWatcher);
    }
    // An editor closed without saving leaves the analysis of text that no longer exists: read the file.
    vscode.workspace.onDidCloseTextDocument((d) => void this.reloadFromDisk(d.uri), undefined, this.disposables);
    // File watchers coalesce events: two quick atomic rewrites of a status file can arrive as one,
    // read before the second write. A stat per plan every half second catches what they miss.
    this.pollTimer = setInterval(() => void this.pollStatusFiles(), 500);
    await this.rescan();
    await this.readActivePointer();
  }

  /** Finds every plan again (after a settings change, or the Refresh command). */
  async rescan(): Promise<void> {
    const found = new Map<string, vscode.Uri>();
    const worktrees = await this.worktreesExclude();
    this.excludedDirs = worktrees.dirs;
    const exclude = `{**/node_modules/**,${worktrees.glob}}`;
    for (const glob of planGlobs()) {
      for (const uri of await vscode.workspace.findFiles(glob, exclude)) found.set(uri.toString(), uri);
    }
    for (const key of [...this.entries.keys()]) if (!found.has(key)) this.removePlan(this.entries.get(key)!.uri, false);
    await Promise.all([...found.values()].filter((u) => !this.entries.has(u.toString())).map((u) => this.addPlan(u, false)));
    this.listChanged.fire();
  }

  /** Absolute folders whose plans are never ours (the plan worktrees' folder inside the checkout). */
  private excludedDirs: string[] = [];

  /**
   * Plan worktrees inside the checkout hold copies of the plans: they are other worktrees' plans, not
   * ours. The glob is for findFiles; the folders are checked again for every file a watcher reports
   * (a rebase or a checkout in a worktree rewrites its plan files, which the watchers see as new plans).
   */
  private async worktreesExclude(): Promise<{ glob: string; dirs: string[] }> {
    const fallback = { glob: '**/worktrees/plan-*/**', dirs: [] };
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) return fallback;
    const root = findRepoRoot(folder.uri.fsPath);
    let dir = 'worktrees';
    try {
      dir = (await loadWorkflowConfig(root)).worktrees.directory;
    } catch {
      // an invalid git-workflow.json is reported by the worktree commands; the default is fine here
    }
    const abs = path.resolve(root, dir);
    const rel = path.relative(folder.uri.fsPath, abs).split(path.sep).join('/');
    return rel && !rel.startsWith('..') ? { glob: `${rel}/**`, dirs: [abs] } : fallback;
  }

  /** Never a plan of this workspace: inside node_modules or a plan worktree. */
  private isExcluded(uri: vscode.Uri): boolean {
    const file = uri.fsPath;
    if (file.split(path.sep).includes('node_modules')) return true;
    if (this.excludedDirs.some((d) => file.startsWith(d + path.sep))) return true;
    return /(^|[\\/])worktrees[\\/]plan-[^\\/]+[\\/]/.test(file);
  }

  private async readActivePointer(): Promise<void> {
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const root = findRepoRoot(folder.uri.fsPath);
      for (const pointer of POINTER_FILES) {
        try {
          const bytes = await vscode.workspace.fs.readFile(vscode.Uri.file(path.join(root, pointer)));
          const target = Buffer.from(bytes).toString('utf8').trim();
          if (target) {
            this.activePlanPath = path.resolve(root, target);
            return;
          }
        } catch {
          // no pointer of this kind
        }
      }
    }
  }

  async setActivePlan(entry: PlanEntry): Promise<string> {
    const pointer = await writePlanPointer(entry.root, entry.uri.fsPath, { both: true });
    this.activePlanPath = entry.uri.fsPath;
    this.listChanged.fire();
    return pointer;
  }

  private async addPlan(uri: vscode.Uri, notify = true): Promise<void> {
    const key = uri.toString();
    if (this.entries.has(key) || this.isExcluded(uri)) return;
    const root = findRepoRoot(path.dirname(uri.fsPath));
    const entry: PlanEntry = { uri, root, analyzedVersion: -2, statusPath: '' };
    this.entries.set(key, entry);
    await this.reloadFromDisk(uri, false);
    if (notify) this.listChanged.fire();
  }

  private removePlan(uri: vscode.Uri, notify = true): void {
    const entry = this.entries.get(uri.toString());
    if (!entry) return;
    this.entries.delete(uri.toString());
    this.byStatusPath.delete(entry.statusPath);
    this.analyses.forget(uri.toString());
    if (notify) this.listChanged.fire();
  }

  /** Re-reads a plan from disk unless an editor holds it (then the editor's text is the truth). */
  private async reloadFromDisk(uri: vscode.Uri, notify = true): Promise<void> {
    const entry = this.entries.get(uri.toString());
    if (!entry) return;
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString() && !d.isClosed);
    if (open) {
      await this.updateFromDocument(open);
      return;
    }
    try {
      const text = await readPlanFile(uri.fsPath);
      const analysis = await this.analyses.analyze(text, uri.toString());
      // An editor opened the plan meanwhile: its text is the truth.
      if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString() && !d.isClosed)) return;
      entry.loadError = undefined;
      this.setAnalysis(entry, analysis, -1, notify);
    } catch (e) {
      if (e instanceof AnalysisCancelled) return;
      entry.loadError = e instanceof Error ? e.message : String(e);
      entry.analysis = undefined;
      this.log.warn(`cannot read plan ${uri.fsPath}: ${entry.loadError}`);
      if (notify) this.changed.fire({ entry, kind: 'analysis' });
    }
  }

  /**
   * Analyses an open document (incrementally, in the worker); resolves to undefined when cancelled.
   * The analysis is of the text at the call; a newer version analysed meanwhile is not overwritten.
   */
  async updateFromDocument(document: vscode.TextDocument, token?: vscode.CancellationToken): Promise<Analysis | undefined> {
    const entry = this.entries.get(document.uri.toString());
    if (!entry) return undefined;
    const version = document.version;
    if (entry.analysis && entry.analyzedVersion === version) return entry.analysis;
    const running = this.inflight.get(entry);
    let promise: Promise<Analysis | undefined>;
    if (running && running.version === version) {
      promise = running.promise;
    } else {
      promise = this.analyses.analyze(document.getText(), entry.uri.toString()).then(
        (analysis) => {
          if (this.inflight.get(entry)?.promise === promise) this.inflight.delete(entry);
          if (this.entries.get(document.uri.toString()) !== entry) return undefined;
          if (version > entry.analyzedVersion) {
            entry.loadError = undefined;
            this.setAnalysis(entry, analysis, version, true);
          }
          return analysis;
        },
        (e: unknown) => {
          if (this.inflight.get(entry)?.promise === promise) this.inflight.delete(entry);
          if (e instanceof AnalysisCancelled) return undefined;
          throw e;
        },
      );
      this.inflight.set(entry, { version, promise });
    }
    const analysis = await promise;
    return token?.isCancellationRequested ? undefined : analysis;
  }

  private statusPlace: StatusPlace | undefined;

  /** Sets where plans that run elsewhere keep their status, and re-reads the plans whose place changed. */
  setStatusPlace(place: StatusPlace): void {
    this.statusPlace = place;
    this.refreshStatusPlaces();
  }

  refreshStatusPlaces(): void {
    for (const entry of this.entries.values()) {
      if (!entry.analysis) continue;
      const before = `${entry.statusPath}|${entry.runsIn?.branch ?? ''}`;
      this.placeStatus(entry, entry.analysis.plan);
      if (`${entry.statusPath}|${entry.runsIn?.branch ?? ''}` !== before) this.changed.fire({ entry, kind: 'status' });
    }
  }

  private placeStatus(entry: PlanEntry, plan: Plan): void {
    const place = this.statusPlace?.(entry, plan);
    entry.runsIn = place?.runsIn;
    const statusPath = place?.statusPath ?? statusFileFor(entry.uri.fsPath, plan, entry.root);
    if (statusPath !== entry.statusPath) {
      this.byStatusPath.delete(entry.statusPath);
      entry.statusPath = statusPath;
      this.byStatusPath.set(statusPath, entry);
      void this.reloadStatus(entry);
    }
  }

  private setAnalysis(entry: PlanEntry, analysis: Analysis, version: number, notify: boolean): void {
    entry.analysis = analysis;
    entry.analyzedVersion = version;
    this.placeStatus(entry, analysis.plan);
    if (notify) this.changed.fire({ entry, kind: 'analysis' });
  }

  private async pollStatusFiles(): Promise<void> {
    for (const entry of this.entries.values()) {
      if (!entry.statusPath) continue;
      const stamp = await statStamp(entry.statusPath);
      const seen = this.statusStamps.get(entry.statusPath);
      if (seen !== undefined && seen !== stamp) void this.reloadStatus(entry);
      else if (seen === undefined) this.statusStamps.set(entry.statusPath, stamp);
    }
  }

  async reloadStatus(entry: PlanEntry): Promise<void> {
    // Watcher events can come in bursts; a slower, older read must not overwrite a newer one.
    const ticket = (this.statusReads.get(entry) ?? 0) + 1;
    this.statusReads.set(entry, ticket);
    let status: StatusFile | undefined;
    let error: string | undefined;
    // Stamped before reading: a write that lands during the read changes the stamp again and is polled.
    this.statusStamps.set(entry.statusPath, await statStamp(entry.statusPath));
    try {
      status = await readStatusFile(entry.statusPath);
    } catch (e) {
      error = e instanceof PlanError ? e.message : String(e);
    }
    if (this.statusReads.get(entry) !== ticket) return;
    entry.status = status;
    entry.statusError = error;
    if (error) this.log.warn(error);
    this.changed.fire({ entry, kind: 'status' });
  }

  statusOf(entry: PlanEntry): StatusLookup {
    return entry.status ? statusLookup(entry.status) : () => undefined;
  }

  /** Writes a task's status through the core store (locked, atomic), then refreshes from the file. */
  async setTaskStatus(entry: PlanEntry, taskId: string, status: TaskStatus, error?: string): Promise<void> {
    if (!vscode.workspace.isTrusted) throw new PlanError('invalid-argument', 'this workspace is not trusted: status files are not written');
    if (entry.statusError) throw new PlanError('status-corrupt', entry.statusError, entry.statusPath);
    const store = new StatusStore(entry.statusPath, relativeToRoot(entry.root, entry.uri.fsPath));
    const written = await store.setTaskStatus(taskId, status, { error, agent: 'vscode' });
    // Our own write is newer than any read still in flight.
    this.statusReads.set(entry, (this.statusReads.get(entry) ?? 0) + 1);
    entry.status = written;
    entry.statusError = undefined;
    this.statusStamps.set(entry.statusPath, await statStamp(entry.statusPath));
    this.changed.fire({ entry, kind: 'status' });
  }

  /** Is this document a plan we track (by the globs), so that language features apply to it? */
  isPlanDocument(document: vscode.TextDocument): boolean {
    return this.entries.has(document.uri.toString());
  }

  dispose(): void {
    this.analyses.dispose();
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const d of this.disposables) d.dispose();
  }
}

async function statStamp(file: string): Promise<string> {
  try {
    const s = await fsp.stat(file);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return 'missing';
  }
}
