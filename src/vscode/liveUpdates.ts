/**
 * Where the extension's live plan data comes from. In a trusted workspace the extension hosts one
 * plan event stream (src/run/events: PlanWatcher), which alone watches status files, the
 * orchestrator registry and the worktree list; the Plans view, the Orchestrators view, the dashboard
 * and the status bar are updated from its events and from what it read. An untrusted workspace keeps
 * the read-only behaviour (the stream runs git, which a repository's config can turn into running
 * anything): VS Code's file watchers and a stat poll, as does a workspace where the stream cannot start.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import { PlanWatcher } from '../run/events/planWatcher.js';
import type { EventMessage } from '../run/events/messages.js';
import type { PlanEventStream, TrackedPlan } from '../run/events/stream.js';
import type { AnalysisCache } from '../core/session.js';
import type { PlanWorkspace } from './planWorkspace.js';
import type { ActivePlans } from './orchestratorsView.js';
import type { WorktreeTreeProvider } from './worktreeView.js';

export type LiveMode = 'stream' | 'polling';

/**
 * The stream's backstops, slower than the API server's: fs.watch brings every change on a local disk
 * within milliseconds, and an idle editor should cost nothing. The stat poll catches what a watcher
 * coalesced and finds orchestrators that died without removing their record; the rescan finds
 * worktrees and plans no watched folder announced.
 */
const POLL_MS = 2000;
const RESCAN_MS = 30_000;

export class LiveUpdates implements vscode.Disposable {
  private watcher: PlanWatcher | undefined;
  private unsubscribe: (() => void) | undefined;
  private starting: Promise<boolean> | undefined;
  private current: LiveMode | undefined;
  private trackedKey = '';
  private readonly events = new vscode.EventEmitter<EventMessage>();
  /** The stream's events (only while the mode is `stream`). */
  readonly onEvent = this.events.event;
  private readonly modes = new vscode.EventEmitter<LiveMode>();
  readonly onDidChangeMode = this.modes.event;
  private readonly disposables: vscode.Disposable[] = [this.events, this.modes];

  constructor(
    private readonly workspace: PlanWorkspace,
    private readonly activePlans: ActivePlans,
    private readonly worktrees: WorktreeTreeProvider,
    private readonly repoRoot: () => string | undefined,
    private readonly analyses: AnalysisCache,
    private readonly log: vscode.LogOutputChannel,
  ) {
    const track = (): void => this.syncTracked();
    this.disposables.push(workspace.onDidChangePlans(track), worktrees.onDidChangeTreeData(track));
  }

  /** undefined until start() has decided. */
  get mode(): LiveMode | undefined {
    return this.current;
  }

  /** The stream while the mode is `stream`. */
  get stream(): PlanEventStream | undefined {
    return this.watcher;
  }

  /** The stream in a trusted workspace, else polling. */
  async start(): Promise<LiveMode> {
    if (!vscode.workspace.isTrusted) {
      this.usePolling('the workspace is not trusted (the event stream runs git)');
      return 'polling';
    }
    return (await this.useStream()) ? 'stream' : 'polling';
  }

  /** Starts the stream and moves every view onto it; on failure (logged) the views poll. */
  useStream(): Promise<boolean> {
    if (this.watcher) return Promise.resolve(true);
    this.starting ??= this.startStream().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startStream(): Promise<boolean> {
    const cwd = this.repoRoot() ?? vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!cwd) {
      this.usePolling('no folder is open');
      return false;
    }
    const watcher = new PlanWatcher({
      cwd,
      pollMs: POLL_MS,
      rescanMs: RESCAN_MS,
      analysisCache: this.analyses,
      onError: (e) => this.log.warn(`plan event stream: ${e instanceof Error ? e.message : String(e)}`),
    });
    try {
      const plans = this.trackedPlans();
      await watcher.trackPlans(plans);
      await watcher.start();
      this.trackedKey = keyOf(plans);
    } catch (e) {
      watcher.close();
      this.log.error(`the plan event stream could not start (${e instanceof Error ? e.message : String(e)}): status files are polled instead`);
      this.usePolling('the event stream could not start');
      return false;
    }
    this.stopStream();
    this.watcher = watcher;
    this.unsubscribe = watcher.subscribe((e) => this.events.fire(e)).unsubscribe;
    this.workspace.useStream(watcher);
    this.activePlans.useStream(watcher);
    this.setMode('stream');
    this.log.info(`plan event stream started: ${watcher.planStates().length} plans, status files followed through it`);
    // Plans found while it started.
    this.syncTracked();
    return true;
  }

  /** Every view reads and polls status files itself (untrusted workspace, no stream; the benchmark's "before"). */
  usePolling(reason: string): void {
    this.stopStream();
    this.workspace.usePolling();
    this.activePlans.usePolling();
    this.setMode('polling');
    this.log.info(`status files are polled: ${reason}`);
  }

  private stopStream(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  private setMode(mode: LiveMode): void {
    if (this.current === mode) return;
    this.current = mode;
    this.modes.fire(mode);
  }

  /**
   * What the extension shows besides what the stream finds by itself: every workspace plan (one
   * without a status file yet, or with it in an `**Output:**` folder) and every plan worktree's plan.
   */
  private trackedPlans(): TrackedPlan[] {
    const out: TrackedPlan[] = [];
    for (const entry of this.workspace.plans()) {
      // A plan that runs in its worktree keeps its status there: this checkout's copy has nothing to follow.
      if (entry.runsIn) out.push({ file: path.join(entry.runsIn.path, path.relative(entry.root, entry.uri.fsPath)), worktree: entry.runsIn.path });
      else out.push({ file: entry.uri.fsPath, worktree: entry.root });
    }
    for (const w of this.worktrees.worktrees()) if (w.plan && !w.missing) out.push({ file: path.join(w.path, w.plan), worktree: w.path });
    return out;
  }

  private syncTracked(): void {
    if (!this.watcher) return;
    const plans = this.trackedPlans();
    const key = keyOf(plans);
    if (key === this.trackedKey) return;
    this.trackedKey = key;
    this.watcher.trackPlans(plans).catch((e: unknown) => this.log.warn(`plan event stream: ${e instanceof Error ? e.message : String(e)}`));
  }

  dispose(): void {
    this.stopStream();
    for (const d of this.disposables) d.dispose();
  }
}

function keyOf(plans: readonly TrackedPlan[]): string {
  return plans
    .map((p) => `${p.file}\0${p.worktree}`)
    .sort()
    .join('\n');
}
