/**
 * The plans of a repository as `planctl serve` serves them: every worktree's plans as the plan watcher
 * finds them, their status files, and orchestrators started and stopped through the same paths as the
 * command line. Plans and tasks are looked up by name among the known plans; nothing from a request
 * becomes a path or a command.
 */
import type { DashboardData } from '../run/events/dashboardModel.js';
import { browserDashboardData } from './browserDashboard.js';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { summarizePlan } from '../run/allPlans.js';
import { approveTask } from '../run/approvals.js';
import { relativeToRoot } from '../core/planFile.js';
import { computeScheduleData } from '../core/scheduleData.js';
import { AnalysisCache, openPlan, requireTask, type PlanSession } from '../core/session.js';
import type { TaskStatus } from '../core/status.js';
import type { KnownPlan, PlanStatus, SnapshotMessage } from '../run/events/messages.js';
import type { EventListener } from '../run/events/eventFeed.js';
import { PlanWatcher, type PlanWatcherOptions } from '../run/events/planWatcher.js';
import { planStatusView } from '../run/events/views.js';
import { FollowStream } from './logs.js';
import { orchestratorLogPath, startPlan, stopOrchestrator, type LaunchOptions } from '../run/orchestratorLaunch.js';
import {
  apiStartErrors,
  logNotFound,
  logsEndpoint,
  unknownPlan,
  type ApproveResult,
  type PlanListEntry,
  type PlanSchedule,
  type PlanSource,
  type StartOptions,
  type StartResult,
  type StopResult,
  type TaskUpdate,
} from './planSource.js';

export interface RepoPlansOptions {
  /** Any directory of the repository; its worktrees' plans are served. */
  cwd: string;
  /** How orchestrators started through the API run (the server's agent, never a request's). */
  launch: LaunchOptions;
  watch?: Omit<PlanWatcherOptions, 'cwd' | 'onError'>;
  log: (line: string) => void;
}

/** Watches the repository's plans from now until close(). */
export async function openRepoPlans(options: RepoPlansOptions): Promise<PlanSource> {
  // Every request opens its plan afresh (text and status.json are read each time), but a text that
  // did not change is not analysed again: analysis is most of what a status read would cost.
  const analysisCache = new AnalysisCache();
  const watcher = new PlanWatcher({
    cwd: options.cwd,
    ...options.watch,
    analysisCache,
    onError: (e) => options.log(`watch: ${e instanceof Error ? e.message : String(e)}`),
  });
  await watcher.start();
  return new RepoPlans(watcher, analysisCache, options.launch);
}

class RepoPlans implements PlanSource {
  constructor(
    private readonly watcher: PlanWatcher,
    private readonly analysisCache: AnalysisCache,
    private readonly launch: LaunchOptions,
  ) {}

  private async planOf(name: string): Promise<KnownPlan> {
    let p = this.watcher.lookup(name);
    if (!p) {
      // Perhaps created a moment ago, before the watcher's next scan.
      await this.watcher.rescan();
      p = this.watcher.lookup(name);
    }
    if (!p) throw unknownPlan(name);
    return p;
  }

  private async sessionOf(name: string): Promise<{ plan: KnownPlan; session: PlanSession }> {
    const plan = await this.planOf(name);
    return { plan, session: await openPlan(plan.file, plan.worktree, this.analysisCache) };
  }

  async listPlans(): Promise<PlanListEntry[]> {
    await this.watcher.rescan();
    const plans = this.watcher.plans();
    const summaries = await Promise.all(plans.map((p) => summarizePlan(p, this.analysisCache)));
    return plans.map((p, i) => ({ name: p.name, ...summaries[i]!, orchestrator: this.watcher.orchestratorFor(p.file) }));
  }

  async planStatus(name: string): Promise<PlanStatus> {
    const { plan, session: s } = await this.sessionOf(name);
    return planStatusView(plan, s.analysis, s.status, relativeToRoot(s.root, s.statusPath), this.watcher.orchestratorFor(plan.file));
  }

  async start(name: string, options: StartOptions): Promise<StartResult> {
    const { plan, session } = await this.sessionOf(name);
    // The same checks and launch as planctl top's (orchestratorLaunch.ts startPlan).
    const started = await apiStartErrors(() =>
      startPlan({
        plan,
        session,
        launch: this.launch,
        registry: () => this.watcher.listOrchestrators(true),
        ...(options.maxParallel ? { maxParallel: options.maxParallel } : {}),
        ...(options.approveCommands ? { approveCommands: options.approveCommands } : {}),
        ...(options.inPlace ? { inPlace: true } : {}),
        ...(options.allowDirty ? { allowDirty: true } : {}),
      }),
    );
    return { plan: plan.name, pid: started.pid, registered: started.registered, log: relativeToRoot(plan.worktree, started.log), logs: logsEndpoint(plan.name) };
  }

  async stop(name: string): Promise<StopResult> {
    const plan = await this.planOf(name);
    const o = stopOrchestrator(plan, await this.watcher.listOrchestrators(true));
    return { plan: plan.name, pid: o.pid, signal: 'SIGTERM' };
  }

  async openLog(name: string, task: string | undefined, follow: boolean): Promise<Readable> {
    const { plan, session: s } = await this.sessionOf(name);
    let file: string;
    if (task !== undefined) {
      requireTask(s, task);
      // The ID as the plan spells it (the orchestrator names the log after it), never the raw request text.
      const t = s.analysis.plan.tasks[s.analysis.graph.indexById.get(task)!]!;
      file = path.join(path.dirname(s.statusPath), 'logs', `${t.id}.log`);
    } else {
      file = orchestratorLogPath(s.statusPath, plan.file);
    }
    if (follow) return new FollowStream(file);
    const exists = await stat(file).then((st) => st.isFile(), () => false);
    if (!exists) throw logNotFound(plan.name, task);
    return createReadStream(file);
  }

  async schedule(name: string, workers: number): Promise<PlanSchedule> {
    const { plan, session: s } = await this.sessionOf(name);
    return { plan: plan.name, ...computeScheduleData(s.analysis.plan, s.analysis.graph, workers) };
  }

  async setTaskStatus(name: string, task: string, status: TaskStatus, error?: string): Promise<TaskUpdate> {
    const { plan, session: s } = await this.sessionOf(name);
    requireTask(s, task);
    const updated = await s.store.setTaskStatus(task, status, { note: 'via the API', ...(error ? { error } : {}) });
    return { plan: plan.name, task, status, version: updated.version };
  }

  async approve(name: string, task: string, tools?: string[]): Promise<ApproveResult> {
    const { plan, session: s } = await this.sessionOf(name);
    requireTask(s, task);
    const result = await approveTask(s, task, tools);
    return { plan: plan.name, task, approved: result.approved, resume: result.resume, status: s.status.tasks[task]?.status ?? 'pending' };
  }

  snapshot(): SnapshotMessage {
    return this.watcher.snapshot();
  }

  dashboard(): DashboardData {
    const states = this.watcher.planStates().map((s) => ({ ...s, orchestrator: this.watcher.orchestratorFor(s.plan.file) }));
    return browserDashboardData(states, this.watcher.worktrees()[0]?.path);
  }

  onEvent(listener: EventListener): () => void {
    return this.watcher.onEvent(listener);
  }

  close(): void {
    this.watcher.close();
  }
}
