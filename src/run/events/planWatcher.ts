/**
 * Watches every plan of every worktree and turns what changes on disk into API events: task status
 * changes (from each plan's status.json), orchestrators starting and stopping (the registry in the
 * common git dir), plans and worktrees appearing and going away.
 *
 * fs.watch gives the low latency (a status write reaches the listeners within a few ms); a stat
 * poll backs it up because watchers coalesce quick rewrites, miss folders created after the watch
 * started, and are unreliable on network file systems; a periodic rescan (git worktree list, pointer
 * files, status folders) catches whatever neither saw. Task events come from the status file's
 * per-task history, not from comparing two reads, so a task that started and completed between two
 * reads still gives `in_progress` then `completed`, in that order.
 *
 * It is the PlanEventStream (stream.ts: subscribe, snapshot, seq, planState), the contract every
 * view relies on. No `vscode` import: the server runs it under planctl, and the extension hosts it.
 */
import { watch, type FSWatcher } from 'node:fs';
import { realpathSync } from 'node:fs';
import path from 'node:path';
import type { Analysis } from '../../core/analyzer.js';
import { listWorktrees, locateAllPlans, type PlanLocation } from '../allPlans.js';
import { listRegistry, type RegistryReadCache } from '../registry.js';
import { AnalysisCache, openPlan } from '../../core/session.js';
import { emptyStatus, readStatusFile, type StatusFile } from '../../core/status.js';
import { relativeToRoot } from '../../core/planFile.js';
import { GitService } from '../../git/gitService.js';
import { PlanError } from '../../core/source.js';
import {
  type EventBody,
  type EventMessage,
  type KnownPlan,
  type OrchestratorInfo,
  type PlanInfo,
  type Progress,
  type SnapshotMessage,
  type WorktreeInfo,
} from './messages.js';
import { NO_PROGRESS, namePlans, orchestratorInfo } from './views.js';
import { Pipeline, Serial } from './pipeline.js';
import { stamp, type TaskMemo } from './taskMemo.js';
import { applyStatus, planInfo, snapshotPlan } from './watchedPlan.js';
import { EventFeed } from './eventFeed.js';
import type { PlanEventStream, PlanState, StreamListener, StreamSubscription, TrackedPlan } from './stream.js';

export interface PlanWatcherOptions {
  /** Any directory of the repository (any of its worktrees). */
  cwd: string;
  /** Stat poll of status files, plan files and the registry (default 250 ms). */
  pollMs?: number;
  /** Full rescan of worktrees and plans (default 2000 ms). */
  rescanMs?: number;
  /** How long the fs events of one plan are gathered before it is read (default 5 ms). */
  settleMs?: number;
  /** Called with errors the watcher survived (a plan unreadable for a moment, a watcher that died). */
  onError?: (err: unknown) => void;
  /** Shared with whoever else opens the same plans (the API's handlers), so each text is analysed once. */
  analysisCache?: AnalysisCache;
}

interface Watched {
  loc: KnownPlan;
  planStamp: string;
  statusStamp: string;
  statusPath?: string;
  analysis?: Analysis;
  status: StatusFile;
  error?: string;
  /** The part of `error` that is about the status file (the plan itself may be fine). */
  statusError?: string;
  memo: Map<string, TaskMemo>;
  progress: Progress;
  title: string;
}

/** One read of a plan and its status file, before it is stored. */
interface Read {
  analysis?: Analysis;
  statusPath?: string;
  status: StatusFile;
  error?: string;
  statusError?: string;
}

export function sameFile(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  if (path.basename(a) !== path.basename(b)) return false;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Errors of the status file rather than of the plan (core reports them with a `status-` code). */
function isStatusError(e: unknown): boolean {
  return e instanceof PlanError && e.code.startsWith('status-');
}

/** The located plans, then the tracked ones no worktree names (the same file once). */
function withTracked(located: PlanLocation[], tracked: readonly TrackedPlan[]): PlanLocation[] {
  const out = [...located];
  const seen = new Set(located.map((l) => path.resolve(l.file)));
  for (const t of tracked) {
    const file = path.resolve(t.file);
    if (seen.has(file)) continue;
    seen.add(file);
    out.push({ file, plan: path.relative(t.worktree, file).split(path.sep).join('/'), worktree: t.worktree, active: false });
  }
  return out;
}

export class PlanWatcher implements PlanEventStream {
  private readonly opts: Required<Omit<PlanWatcherOptions, 'onError' | 'analysisCache'>> & Pick<PlanWatcherOptions, 'onError'>;
  private readonly cache: AnalysisCache;
  private readonly feed: EventFeed;
  private tracked: readonly TrackedPlan[] = [];
  private started = false;
  private readonly watched = new Map<string, Watched>();
  private byName = new Map<string, Watched>();
  private worktreeList: WorktreeInfo[] = [];
  private orchestrators = new Map<string, OrchestratorInfo>();
  /** The registry records as last read: a poll re-reads only the ones that changed. */
  private readonly registryCache: RegistryReadCache = new Map();
  private commonDir: string | undefined;
  private readonly fsWatchers = new Map<string, FSWatcher>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly intervals: NodeJS.Timeout[] = [];
  /** Gathering a rescan's data (git, folders) runs beside the pipeline; applying it runs in it. */
  private readonly rescans = new Serial();
  private readonly pipeline = new Pipeline();
  private scans = 0;
  private inRegistryCheck = false;
  private closed = false;

  constructor(options: PlanWatcherOptions) {
    this.opts = { pollMs: 250, rescanMs: 2000, settleMs: 5, ...options };
    this.cache = options.analysisCache ?? new AnalysisCache();
    this.feed = new EventFeed((e) => this.reportError(e));
  }

  /** The first scan (no events for what is already there), then the watchers and the poll. */
  async start(): Promise<void> {
    try {
      this.commonDir = await (await GitService.open(this.opts.cwd)).commonDir();
    } catch {
      // Not a git repository: the registry lives beside each status file.
    }
    await this.rescans.run(() => this.scan(false));
    this.started = true;
    const poll = setInterval(() => this.pollAll(), this.opts.pollMs);
    const rescan = setInterval(() => void this.rescan().catch((e) => this.reportError(e)), this.opts.rescanMs);
    for (const t of [poll, rescan]) {
      t.unref();
      this.intervals.push(t);
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.intervals) clearInterval(t);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const w of this.fsWatchers.values()) w.close();
    this.fsWatchers.clear();
    this.feed.close();
  }

  /** `json` is the message already serialised once, for listeners that send it to many clients. */
  onEvent(listener: (message: EventMessage, json: string) => void): () => void {
    return this.feed.onEvent(listener);
  }

  get seq(): number {
    return this.feed.lastSeq;
  }

  subscribe(listener: StreamListener): StreamSubscription {
    // Both in this tick: events are emitted synchronously after the state they describe is stored,
    // so no event can fall between the snapshot and the listener.
    const snapshot = this.snapshot();
    const unsubscribe = this.feed.onEvent((message, json) => listener(message, json));
    return { snapshot, unsubscribe: () => void unsubscribe() };
  }

  planState(file: string): PlanState | undefined {
    const w = this.watched.get(path.resolve(file));
    return w && this.stateOf(w);
  }

  planStates(): PlanState[] {
    return [...this.watched.values()].map((w) => this.stateOf(w));
  }

  async trackPlans(plans: readonly TrackedPlan[]): Promise<void> {
    this.tracked = [...plans];
    if (this.started) await this.rescan();
  }

  private stateOf(w: Watched): PlanState {
    return {
      plan: w.loc,
      status: w.status,
      // The stamp is taken before the read: a file created in between was read all the same.
      statusExists: (w.statusStamp !== 'missing' && w.statusStamp !== '') || w.status.version > 0,
      ...(w.statusPath ? { statusPath: w.statusPath } : {}),
      ...(w.statusError ? { statusError: w.statusError } : {}),
      ...(w.analysis ? { analysis: w.analysis } : {}),
      ...(w.error ? { error: w.error } : {}),
    };
  }

  /** Re-reads the worktree list and every worktree's plans now (the plan list endpoint, an unknown name). */
  /** The repository's worktrees as last scanned, the main checkout first. */
  worktrees(): WorktreeInfo[] {
    return [...this.worktreeList];
  }

  rescan(): Promise<void> {
    return this.rescans.run(() => this.scan(true));
  }

  plans(): KnownPlan[] {
    return [...this.watched.values()].map((w) => w.loc);
  }

  lookup(name: string): KnownPlan | undefined {
    return this.byName.get(name)?.loc;
  }

  /** The live record of the orchestrator running this plan file, or else its last (dead) record. */
  orchestratorFor(file: string): OrchestratorInfo | null {
    const mine = [...this.orchestrators.values()].filter((o) => sameFile(o.planFile, file));
    return mine.find((o) => o.alive) ?? mine[0] ?? null;
  }

  /** Every known orchestrator record; `refresh` re-reads the registry first. */
  async listOrchestrators(refresh = false): Promise<OrchestratorInfo[]> {
    if (refresh) await this.pipeline.run('registry', () => this.checkRegistry(true));
    return [...this.orchestrators.values()];
  }

  snapshot(): SnapshotMessage {
    return this.feed.snapshot({
      plans: [...this.watched.values()].map((w) => snapshotPlan(w, this.orchestratorFor(w.loc.file))),
      orchestrators: [...this.orchestrators.values()],
      worktrees: [...this.worktreeList],
    });
  }

  private info(w: Watched): PlanInfo {
    return planInfo(w, this.orchestratorFor(w.loc.file));
  }

  private emit(body: EventBody): void {
    if (!this.closed) this.feed.emit(body);
  }


  private reportError(err: unknown): void {
    this.opts.onError?.(err);
  }

  /** Runs `job` once, `ms` after the first of a burst of requests with the same key. */
  private soon(key: string, ms: number, job: () => Promise<void>): void {
    if (this.closed || this.timers.has(key)) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      job().catch((e) => this.reportError(e));
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  private pollAll(): void {
    for (const w of this.watched.values()) void this.checkPlanSoon(w).catch((e) => this.reportError(e));
    void this.pipeline.run('registry', () => this.checkRegistry(true)).catch((e) => this.reportError(e));
  }

  private registryDirs(): string[] {
    if (this.commonDir) return [path.join(this.commonDir, 'plan-orchestrator', 'orchestrators')];
    return [...new Set([...this.watched.values()].flatMap((w) => (w.statusPath ? [path.dirname(w.statusPath)] : [])))];
  }

  private async scan(emit: boolean): Promise<void> {
    // The slow part (git worktree list, reading every worktree's pointers and status folders) runs
    // outside the pipeline, so that task events do not wait for it.
    const worktrees = await listWorktrees(this.opts.cwd);
    const locations = namePlans(withTracked(await locateAllPlans(this.opts.cwd, worktrees), this.tracked));
    await this.pipeline.run(`scan:${++this.scans}`, () => this.applyScan(worktrees, locations, emit));
  }

  private async applyScan(worktrees: WorktreeInfo[], locations: KnownPlan[], emit: boolean): Promise<void> {
    if (this.closed) return;
    const before = new Map(this.worktreeList.map((w) => [w.path, w]));
    const after = new Map(worktrees.map((w) => [w.path, w]));
    // A removed worktree stays listed until its worktree.removed below: a snapshot taken in between
    // must not be ahead of the events.
    this.worktreeList = [...worktrees, ...[...before.values()].filter((w) => !after.has(w.path))];
    if (emit) {
      for (const [p, w] of after) if (!before.has(p)) this.emit({ type: 'worktree.created', worktree: w });
    }
    const seen = new Set<string>();
    for (const loc of locations) {
      seen.add(loc.file);
      const w = this.watched.get(loc.file);
      if (!w) {
        const fresh: Watched = { loc, planStamp: '', statusStamp: '', status: emptyStatus(loc.plan), memo: new Map(), progress: NO_PROGRESS, title: '' };
        await this.load(fresh);
        this.watched.set(loc.file, fresh);
        if (emit) this.emit({ type: 'plan.added', plan: this.info(fresh) });
      } else if (w.loc.name !== loc.name || w.loc.active !== loc.active || w.loc.branch !== loc.branch) {
        w.loc = loc;
        if (emit) this.emit({ type: 'plan.changed', plan: this.info(w) });
      }
    }
    for (const [file, w] of this.watched) {
      if (seen.has(file)) continue;
      this.watched.delete(file);
      if (emit) this.emit({ type: 'plan.removed', plan: w.loc.name, file });
    }
    this.byName = new Map([...this.watched.values()].map((w) => [w.loc.name, w]));
    await this.checkRegistry(emit);
    this.worktreeList = worktrees;
    if (emit) {
      for (const [p, w] of before) if (!after.has(p)) this.emit({ type: 'worktree.removed', worktree: w });
    }
    this.updateFsWatchers();
  }

  /** Reads the plan and its status; remembers every task's state without reporting it. */
  private async load(w: Watched): Promise<void> {
    w.planStamp = await stamp(w.loc.file);
    const read = await this.read(w, true);
    w.statusStamp = await stamp(read.statusPath);
    this.commit(w, read);
    applyStatus(w, read.status);
  }

  /**
   * Reads the plan (when `planChanged` or never read) and its status file. Nothing is stored on `w`:
   * the caller commits it in the same tick as it emits the events, so a snapshot taken meanwhile is
   * never ahead of the events.
   */
  private async read(w: Watched, planChanged: boolean): Promise<Read> {
    if (planChanged || !w.analysis) {
      try {
        const s = await openPlan(w.loc.file, w.loc.worktree, this.cache);
        return { analysis: s.analysis, statusPath: s.statusPath, status: s.status };
      } catch (e) {
        // A status file error names the file (PlanError.path): watch it, to see it mended.
        const statusPath = isStatusError(e) ? ((e as PlanError).path ?? w.statusPath) : w.statusPath;
        return { statusPath, status: emptyStatus(w.loc.plan), error: errorText(e), ...(isStatusError(e) ? { statusError: errorText(e) } : {}) };
      }
    }
    try {
      const status = (await readStatusFile(w.statusPath!)) ?? emptyStatus(relativeToRoot(w.loc.worktree, w.loc.file));
      return { analysis: w.analysis, statusPath: w.statusPath, status };
    } catch (e) {
      // A corrupt file says nothing about the tasks: keep the last known states.
      return { analysis: w.analysis, statusPath: w.statusPath, status: w.status, error: errorText(e), statusError: errorText(e) };
    }
  }

  private commit(w: Watched, read: Read): void {
    w.analysis = read.analysis;
    if (read.statusPath) w.statusPath = read.statusPath;
    if (read.error) w.error = read.error;
    else delete w.error;
    if (read.statusError) w.statusError = read.statusError;
    else delete w.statusError;
  }

  private checkPlanSoon(w: Watched): Promise<void> {
    return this.pipeline.run(`plan:${w.loc.file}`, () => this.checkPlan(w));
  }

  /** Re-reads what changed since the last look (stamps first: a write during the read is seen next time). */
  private async checkPlan(w: Watched): Promise<void> {
    // A rescan may have dropped the plan since this check was asked for.
    if (this.closed || this.watched.get(w.loc.file) !== w) return;
    const planStamp = await stamp(w.loc.file);
    const statusStamp = await stamp(w.statusPath);
    if (planStamp === w.planStamp && statusStamp === w.statusStamp && !w.error) return;
    const read = await this.read(w, planStamp !== w.planStamp);
    // An orchestrator registers before it starts its first task: report it first, as it happened.
    // Checked before the new state is stored: a client connecting meanwhile gets a snapshot without
    // these changes, and then receives them as events.
    if (!this.inRegistryCheck && Object.values(read.status.tasks).some((t) => t.status === 'in_progress') && !this.orchestratorFor(w.loc.file)?.alive) {
      await this.checkRegistry(true);
    }
    if (this.closed || this.watched.get(w.loc.file) !== w) return;
    const before = JSON.stringify([w.title, w.error ?? '', w.progress.total]);
    const statusBefore = `${w.statusStamp}|${w.statusError ?? ''}`;
    const appeared = w.statusStamp === 'missing' && statusStamp !== 'missing';
    w.planStamp = planStamp;
    w.statusStamp = statusStamp;
    this.commit(w, read);
    const events = applyStatus(w, read.status);
    for (const e of events) this.emit(e);
    if (JSON.stringify([w.title, w.error ?? '', w.progress.total]) !== before) this.emit({ type: 'plan.changed', plan: this.info(w) });
    if (`${w.statusStamp}|${w.statusError ?? ''}` !== statusBefore) {
      this.emit({
        type: 'plan.status',
        plan: w.loc.name,
        file: w.loc.file,
        statusVersion: w.status.version,
        updatedAt: w.status.updatedAt,
        progress: w.progress,
        ...(w.statusError ? { error: w.statusError } : {}),
      });
    }
    // A status folder made after the last rescan is watched from now on, not from the next rescan.
    if (appeared) this.updateFsWatchers();
  }

  /** Runs inside the pipeline. A stopped orchestrator's plan is read first: its last task changes came before the stop. */
  private async checkRegistry(emit: boolean): Promise<void> {
    if (this.inRegistryCheck) return;
    this.inRegistryCheck = true;
    try {
      const next = new Map<string, OrchestratorInfo>();
      for (const dir of this.registryDirs()) {
        for (const e of await listRegistry(dir, this.registryCache)) {
          // Outside git the registry shares its folder with status.json: keep only real records.
          if (typeof e.pid !== 'number' || typeof e.plan !== 'string') continue;
          const plan = this.watched.get(path.resolve(e.plan)) ?? [...this.watched.values()].find((w) => sameFile(w.loc.file, e.plan));
          next.set(`${dir}\0${e.name}`, orchestratorInfo(e, plan?.loc));
        }
      }
      if (this.closed) return;
      const before = this.orchestrators;
      const stopped = [...before].filter(([key, o]) => {
        const now = next.get(key);
        return o.alive && (!now || !now.alive || now.pid !== o.pid);
      });
      if (emit) {
        for (const [, o] of stopped) {
          const w = [...this.watched.values()].find((x) => sameFile(x.loc.file, o.planFile));
          if (w) await this.checkPlan(w);
        }
      }
      this.orchestrators = next;
      if (!emit) return;
      for (const [, o] of stopped) this.emit({ type: 'orchestrator.stopped', orchestrator: { ...o, alive: false, tasks: [] } });
      for (const [key, o] of next) {
        const was = before.get(key);
        if (o.alive && (!was || !was.alive || was.pid !== o.pid)) this.emit({ type: 'orchestrator.started', orchestrator: o });
      }
    } finally {
      this.inRegistryCheck = false;
    }
  }

  /** Folders to watch, and what an event in each means. */
  private wantedWatches(): Map<string, 'status' | 'registry' | 'scan'> {
    const wanted = new Map<string, 'status' | 'registry' | 'scan'>();
    for (const wt of this.worktreeList) {
      for (const rel of ['docs/plan-outputs', '.claude-context', '.claude']) wanted.set(path.join(wt.path, rel), 'scan');
    }
    if (this.commonDir) wanted.set(path.join(this.commonDir, 'worktrees'), 'scan');
    for (const dir of this.registryDirs()) wanted.set(dir, 'registry');
    // Status folders last: outside git a status folder is also the registry, and the status check reads both.
    for (const w of this.watched.values()) if (w.statusPath) wanted.set(path.dirname(w.statusPath), 'status');
    return wanted;
  }

  private updateFsWatchers(): void {
    if (this.closed) return;
    const wanted = this.wantedWatches();
    for (const [dir, w] of this.fsWatchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.fsWatchers.delete(dir);
      }
    }
    for (const [dir, kind] of wanted) {
      if (this.fsWatchers.has(dir)) continue;
      let w: FSWatcher;
      try {
        w = watch(dir, { persistent: false }, (_event, filename) => this.onFsEvent(dir, kind, filename?.toString() ?? null));
      } catch {
        // Not there yet: the poll and the next rescan see it appear, and the rescan watches it then.
        continue;
      }
      w.on('error', () => {
        w.close();
        this.fsWatchers.delete(dir);
      });
      this.fsWatchers.set(dir, w);
    }
  }

  private onFsEvent(dir: string, kind: 'status' | 'registry' | 'scan', filename: string | null): void {
    if (kind === 'scan') {
      this.soon('scan', 50, () => this.rescan());
      return;
    }
    if (kind === 'status' && (filename === null || filename === 'status.json')) {
      for (const w of this.watched.values()) {
        if (w.statusPath && path.dirname(w.statusPath) === dir) this.soon(`plan:${w.loc.file}`, this.opts.settleMs, () => this.checkPlanSoon(w));
      }
    }
    if (kind === 'registry' || (!this.commonDir && filename?.endsWith('.json') && filename !== 'status.json')) {
      this.soon('registry', this.opts.settleMs, () => this.pipeline.run('registry', () => this.checkRegistry(true)));
    }
  }
}
