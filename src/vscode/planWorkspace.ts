/**
 * Every plan of the workspace with its latest analysis and status. The tree, diagnostics,
 * decorations, CodeLens and the status bar all read from here, so a plan is parsed once per change,
 * incrementally. Analysis runs in a worker thread (core/offThread.ts, which keeps one chunk cache per
 * plan), so that a huge or pathological plan never blocks the extension host.
 *
 * Plan files are followed with VS Code's file watchers. Status files are followed by the plan event
 * stream (src/run/events, hosted by liveUpdates.ts): its events say which status file changed and
 * carry what it read, so nothing here watches or re-reads them. Without the stream (an untrusted
 * workspace, or a stream that could not start) they are followed by file watchers and a stat poll.
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
import type { AnalysisCache } from '../core/session.js';
import type { PlanEventStream, PlanState } from '../run/events/stream.js';

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

/** How status files are followed: the plan event stream, or (without it) file watchers and a stat poll. */
export type StatusFollowing = 'stream' | 'polling';

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
  /** What follows status files now (the stream subscription, or the watchers and the poll). */
  private following: { kind: StatusFollowing; stop: () => void } | undefined;
  /** The version of our own last write per plan, until the stream has read it (its older reads are stale). */
  private readonly ownWrites = new WeakMap<PlanEntry, number>();
  /** Analyses plans off the extension host's thread; keyed by URI so each plan's re-analysis is incremental. */
  private readonly analyser = new AnalysisWorker();
  /** The analysis under way for an open document, per plan: callers asking for the same version share it. */
  private readonly inflight = new WeakMap<PlanEntry, { version: number; promise: Promise<Analysis | undefined> }>();

  /** One plan's analysis or status changed. */
  readonly onDidChangePlan = this.changed.event;
  /** Plans were added or removed. */
  readonly onDidChangePlans = this.listChanged.event;

  /** `analyses` receives every analysis made here, so that the event stream, opening the same text, does not analyse it again. */
  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly analyses?: AnalysisCache,
  ) {
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
      const pointerWatcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, `{${POINTER_FILES.join(',')}}`));
      const onPointer = (): void => void this.readActivePointer().then(() => this.listChanged.fire());
      pointerWatcher.onDidCreate(onPointer, undefined, this.disposables);
      pointerWatcher.onDidChange(onPointer, undefined, this.disposables);
      this.disposables.push(pointerWatcher);
    }
    // An editor closed without saving leaves the analysis of text that no longer exists: read the file.
    vscode.workspace.onDidCloseTextDocument((d) => void this.reloadFromDisk(d.uri), undefined, this.disposables);
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
    this.analyser.forget(uri.toString());
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
      const analysis = await this.analyser.analyze(text, uri.toString());
      this.analyses?.remember(uri.fsPath, text, analysis);
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
      const text = document.getText();
      promise = this.analyser.analyze(text, entry.uri.toString()).then(
        (analysis) => {
          this.analyses?.remember(entry.uri.fsPath, text, analysis);
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

  /** How status files are followed now; undefined until useStream or usePolling is called. */
  get statusFollowing(): StatusFollowing | undefined {
    return this.following?.kind;
  }

  /**
   * Follows status files through the event stream: its `plan.added` and `plan.status` events name the
   * plan whose status it read, and its plan state carries what it read.
   */
  useStream(stream: PlanEventStream): void {
    this.stopFollowing();
    const { unsubscribe } = stream.subscribe((e) => {
      if (e.type === 'plan.status') this.adopt(stream.planState(e.file));
      else if (e.type === 'plan.added') this.adopt(stream.planState(path.resolve(e.plan.worktree, e.plan.plan)));
    });
    this.following = { kind: 'stream', stop: unsubscribe };
    // What the stream read before this subscription (in the same tick: nothing falls in between).
    for (const state of stream.planStates()) this.adopt(state);
  }

  /**
   * Follows status files without the stream (an untrusted workspace runs no git, or the stream could
   * not start): VS Code's file watchers, and a stat poll because they coalesce events (two quick atomic
   * rewrites can arrive as one, read before the second write).
   */
  usePolling(): void {
    this.stopFollowing();
    const parts: vscode.Disposable[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      // Status files may live in any `**Output:**` folder; we map them back to plans by path.
      const statusWatcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(folder, '**/status.json'));
      const onStatus = (uri: vscode.Uri): void => {
        const entry = this.byStatusPath.get(uri.fsPath);
        if (entry) void this.reloadStatus(entry);
      };
      parts.push(statusWatcher, statusWatcher.onDidCreate(onStatus), statusWatcher.onDidChange(onStatus), statusWatcher.onDidDelete(onStatus));
    }
    const timer = setInterval(() => void this.pollStatusFiles(), 500);
    this.following = {
      kind: 'polling',
      stop: () => {
        clearInterval(timer);
        for (const d of parts) d.dispose();
      },
    };
    // Read now what changed since the stream's last event (when it ran); the poll goes on from there.
    for (const entry of this.entries.values()) if (entry.statusPath) void this.reloadStatus(entry);
  }

  private stopFollowing(): void {
    this.following?.stop();
    this.following = undefined;
    this.statusStamps.clear();
  }

  /** Takes the stream's read of a status file for the plan that keeps its status there. */
  private adopt(state: PlanState | undefined): void {
    if (!state?.statusPath) return;
    const entry = this.byStatusPath.get(path.resolve(state.statusPath));
    if (!entry) return;
    const status = state.statusError || !state.statusExists ? undefined : state.status;
    if (entry.status === status && entry.statusError === state.statusError) return;
    // Our own write is on disk already; a read the stream made before it would take it back. Older
    // than ours is either that or a file put back to an older version: one read of our own tells.
    const own = this.ownWrites.get(entry);
    this.ownWrites.delete(entry);
    if (own !== undefined && (status?.version ?? 0) < own && !state.statusError) {
      void this.reloadStatus(entry);
      return;
    }
    // Newer than any read of ours still in flight.
    this.statusReads.set(entry, (this.statusReads.get(entry) ?? 0) + 1);
    entry.status = status;
    if (state.statusError && state.statusError !== entry.statusError) this.log.warn(state.statusError);
    entry.statusError = state.statusError;
    this.changed.fire({ entry, kind: 'status' });
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
    if (this.following?.kind === 'polling') this.statusStamps.set(entry.statusPath, await statStamp(entry.statusPath));
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
    if (this.following?.kind === 'stream') this.ownWrites.set(entry, written.version);
    else this.statusStamps.set(entry.statusPath, await statStamp(entry.statusPath));
    this.changed.fire({ entry, kind: 'status' });
  }

  /** Is this document a plan we track (by the globs), so that language features apply to it? */
  isPlanDocument(document: vscode.TextDocument): boolean {
    return this.entries.has(document.uri.toString());
  }

  dispose(): void {
    this.analyser.dispose();
    this.stopFollowing();
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
