/**
 * `planctl serve --mock`: made-up plans (mockData.ts) served through the real API routes, for frontend
 * work without agents, git or a repository. Nothing is read from or written to disk and nothing is
 * run: status files, the orchestrator registry and the logs live in memory.
 *
 * Plans are analysed, summarised and turned into task rows, schedules and events by the same code as
 * real plans (core, views.ts, watchedPlan.ts); only what changes them is scripted. A scripted
 * orchestrator works through a plan the way a real one does (ready tasks in the core's order, at most
 * `maxParallel` agents, each agent reporting activity, turns and cost, a task that fails once and is
 * retried), and the notes-api plan starts over a few ticks after it finishes, so the WebSocket carries
 * task, activity and orchestrator events for as long as the server runs. The task endpoints and
 * start/stop/approve change the same in-memory state, and answer with the real errors (unknown plan or
 * task, orchestrator-running, not-running, commands-not-approved).
 */
import type { DashboardData } from '../../run/events/dashboardModel.js';
import { browserDashboardData } from '../browserDashboard.js';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { analyzePlan } from '../../core/analyzer.js';
import type { Task } from '../../core/model.js';
import { readyTasks } from '../../core/schedule.js';
import { computeScheduleData } from '../../core/scheduleData.js';
import { requireTaskIn, statusLookup } from '../../core/session.js';
import { applyRunPatch, applyTransition, relativeToRoot, statusPathFor, type TaskStatus } from '../../core/status.js';
import { summarizeAnalysis } from '../../run/allPlans.js';
import { planApproval } from '../../run/approvals.js';
import { EventFeed, type EventListener } from '../../run/events/eventFeed.js';
import type { OrchestratorInfo, PlanStatus, SnapshotMessage } from '../../run/events/messages.js';
import { applyStatus, newWatchedPlan, snapshotPlan, type WatchedPlan } from '../../run/events/watchedPlan.js';
import { namePlans, planStatusView } from '../../run/events/views.js';
import { alreadyRunning, notRunning, orchestratorLogPath } from '../../run/orchestratorLaunch.js';
import {
  checkStartable,
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
} from '../planSource.js';
import { MOCK_HOST, MOCK_PLANS, MOCK_WORKTREES, seedStatus, type MockPlanSeed, MOCK_REPO } from './mockData.js';
import { MockLogs } from './mockLogs.js';

export interface MockPlansOptions {
  /** How often the scripted orchestrators act (default 1500 ms); tests make it short. */
  tickMs?: number;
  /** Agents at once of a scripted orchestrator, unless a start request says (default 2). */
  maxParallel?: number;
}

interface MockPlan extends WatchedPlan {
  analysis: NonNullable<WatchedPlan['analysis']>;
  seed: MockPlanSeed;
  /** status.json and the plan's output folder (where its logs would be), absolute. */
  statusPath: string;
  approvedCommands: Set<string>;
  maxParallel: number;
  /** Activities each running agent has reported in its current attempt. */
  steps: Map<string, number>;
  /** failFirst tasks that have failed in this run of the plan. */
  failedOnce: Set<string>;
  /** Ticks left before a finished replay plan starts over. */
  idleTicks?: number;
}

const REPLAY_AFTER_TICKS = 4;
const MODEL = 'claude-sonnet-4-5';

/** Four decimal places, as agents report cost. */
const usd = (n: number): number => Math.round(n * 10_000) / 10_000;

/** What an agent does for a task, from the files the task names; longer tasks take more steps. */
function scriptFor(task: Task, estimateMinutes: number): string[] {
  const file = task.files[0]?.path ?? 'README.md';
  const steps = file.endsWith('.md')
    ? [`Read ${file}`, 'Grep "TODO" docs/', `Write ${file}`, `Edit ${file}`, 'Bash npx markdownlint docs/']
    : (() => {
        const test = file.replace(/(\.[cm]?[jt]s)?$/, '.test$1');
        return [`Read ${file}`, 'Grep "export function" src/', `Edit ${file}`, `Write ${test}`, `Bash npm test -- ${test}`, `Edit ${file}`, 'Bash npm run typecheck'];
      })();
  return steps.slice(0, Math.min(steps.length, 3 + Math.floor(estimateMinutes / 30)));
}

function fakeSha(...parts: string[]): string {
  return createHash('sha1').update(parts.join('\0')).digest('hex');
}

export class MockPlans implements PlanSource {
  private readonly feed = new EventFeed();
  private readonly plans: MockPlan[];
  private readonly byName = new Map<string, MockPlan>();
  private readonly orchestrators = new Map<string, OrchestratorInfo>();
  private readonly stopping = new Set<string>();
  private readonly logs = new MockLogs();
  private readonly timer: NodeJS.Timeout;
  private readonly maxParallel: number;
  private nextPid = 48_500;
  private runs = 0;

  constructor(options: MockPlansOptions = {}) {
    this.maxParallel = options.maxParallel ?? 2;
    const now = Date.now();
    const known = namePlans(MOCK_PLANS.map((s) => ({ file: path.posix.join(s.worktree, s.plan), plan: s.plan, worktree: s.worktree, ...(s.branch ? { branch: s.branch } : {}), active: s.active })));
    this.plans = MOCK_PLANS.map((seed, i) => {
      const loc = known[i]!;
      const status = seedStatus(seed, now);
      const analysis = analyzePlan(seed.text);
      const p: MockPlan = {
        ...newWatchedPlan(loc, status),
        analysis,
        seed,
        statusPath: statusPathFor(loc.file, { root: loc.worktree }),
        approvedCommands: new Set(seed.approvedCommands ?? []),
        maxParallel: this.maxParallel,
        steps: new Map(),
        failedOnce: new Set(),
      };
      applyStatus(p, status);
      this.byName.set(loc.name, p);
      if (seed.orchestrator) {
        const o = seed.orchestrator;
        const running = Object.entries(status.tasks).filter(([, t]) => t.status === 'in_progress').map(([id]) => id);
        this.orchestrators.set(loc.name, this.record(p, o.pid, new Date(now - o.startedMinutesAgo * 60_000).toISOString(), o.alive, o.alive ? running : []));
      }
      this.seedLogs(p);
      return p;
    });
    this.timer = setInterval(() => this.tick(), options.tickMs ?? 1500);
    this.timer.unref();
  }

  // ---- PlanSource ----

  async listPlans(): Promise<PlanListEntry[]> {
    return this.plans.map((p) => ({ name: p.loc.name, ...summarizeAnalysis(p.loc, p.analysis, statusLookup(p.status)), orchestrator: this.orchestratorOf(p) }));
  }

  async planStatus(name: string): Promise<PlanStatus> {
    const p = this.planOf(name);
    return planStatusView(p.loc, p.analysis, p.status, relativeToRoot(p.loc.worktree, p.statusPath), this.orchestratorOf(p));
  }

  async start(name: string, options: StartOptions): Promise<StartResult> {
    const p = this.planOf(name);
    const running = this.orchestratorOf(p);
    if (running?.alive) throw alreadyRunning(running);
    checkStartable(p.loc.plan, p.analysis, [...p.approvedCommands], options);
    for (const c of options.approveCommands ?? []) p.approvedCommands.add(c);
    p.maxParallel = options.maxParallel ?? this.maxParallel;
    const log = relativeToRoot(p.loc.worktree, orchestratorLogPath(p.statusPath, p.loc.file));
    const pid = this.nextPid++;
    // As a real orchestrator with nothing left to run: it ends before it is seen in the registry.
    if (this.nextTasks(p, 1).length === 0) return { plan: p.loc.name, pid, registered: false, log, logs: logsEndpoint(p.loc.name) };
    this.launch(p, pid);
    return { plan: p.loc.name, pid, registered: true, log, logs: logsEndpoint(p.loc.name) };
  }

  async stop(name: string): Promise<StopResult> {
    const p = this.planOf(name);
    const o = this.orchestratorOf(p);
    if (!o?.alive) throw notRunning(p.loc.name);
    this.stopping.add(p.loc.name);
    this.logs.append(p.loc.name, '■ SIGTERM: no new tasks; waiting for running ones');
    return { plan: p.loc.name, pid: o.pid, signal: 'SIGTERM' };
  }

  async openLog(name: string, task: string | undefined, follow: boolean): Promise<Readable> {
    const p = this.planOf(name);
    if (task !== undefined) requireTaskIn(p.analysis, p.loc.plan, task);
    const key = task === undefined ? p.loc.name : `${p.loc.name}\0${task}`;
    if (follow) return this.logs.follow(key);
    if (!this.logs.has(key)) throw logNotFound(p.loc.name, task);
    return this.logs.read(key);
  }

  async schedule(name: string, workers: number): Promise<PlanSchedule> {
    const p = this.planOf(name);
    return { plan: p.loc.name, ...computeScheduleData(p.analysis.plan, p.analysis.graph, workers) };
  }

  async setTaskStatus(name: string, task: string, status: TaskStatus, error?: string): Promise<TaskUpdate> {
    const p = this.planOf(name);
    requireTaskIn(p.analysis, p.loc.plan, task);
    p.steps.delete(task);
    applyTransition(p.status, { taskId: task, status, note: 'via the API', ...(error ? { error } : {}) });
    this.write(p);
    return { plan: p.loc.name, task, status, version: p.status.version };
  }

  async approve(name: string, task: string, tools?: string[]): Promise<ApproveResult> {
    const p = this.planOf(name);
    requireTaskIn(p.analysis, p.loc.plan, task);
    const approval = planApproval(p.status, task, tools);
    if (approval.transition) {
      applyTransition(p.status, approval.transition);
      this.write(p);
    }
    return { plan: p.loc.name, task, approved: approval.approved, resume: approval.resume, status: p.status.tasks[task]?.status ?? 'pending' };
  }

  snapshot(): SnapshotMessage {
    return this.feed.snapshot({
      plans: this.plans.map((p) => snapshotPlan(p, this.orchestratorOf(p))),
      orchestrators: [...this.orchestrators.values()],
      worktrees: MOCK_WORKTREES.map((w) => ({ ...w })),
    });
  }

  dashboard(): DashboardData {
    const states = this.plans.map((p) => ({ plan: p.loc, status: p.status, analysis: p.analysis, orchestrator: this.orchestratorOf(p) }));
    return browserDashboardData(states, MOCK_REPO);
  }

  onEvent(listener: EventListener): () => void {
    return this.feed.onEvent(listener);
  }

  close(): void {
    clearInterval(this.timer);
    this.feed.close();
    this.logs.close();
  }

  // ---- the scripted orchestrators ----

  private planOf(name: string): MockPlan {
    const p = this.byName.get(name);
    if (!p) throw unknownPlan(name);
    return p;
  }

  private orchestratorOf(p: MockPlan): OrchestratorInfo | null {
    return this.orchestrators.get(p.loc.name) ?? null;
  }

  private record(p: MockPlan, pid: number, startedAt: string, alive: boolean, tasks: string[]): OrchestratorInfo {
    return { name: path.basename(p.loc.file, '.md'), plan: p.loc.name, planFile: p.loc.file, worktree: p.loc.worktree, pid, host: MOCK_HOST, startedAt, alive, tasks };
  }

  /** A status write: a new version, and the events it means, as the plan watcher would send them. */
  private write(p: MockPlan): void {
    p.status.version += 1;
    p.status.updatedAt = new Date().toISOString();
    for (const e of applyStatus(p, p.status)) this.feed.emit(e);
    // As the watcher does after each read of a status file.
    this.feed.emit({ type: 'plan.status', plan: p.loc.name, file: p.loc.file, statusVersion: p.status.version, updatedAt: p.status.updatedAt, progress: p.progress });
    const o = this.orchestratorOf(p);
    if (o?.alive) o.tasks = Object.entries(p.status.tasks).filter(([, t]) => t.status === 'in_progress').map(([id]) => id);
  }

  private launch(p: MockPlan, pid: number): void {
    this.stopping.delete(p.loc.name);
    p.failedOnce.clear();
    const o = this.record(p, pid, new Date().toISOString(), true, []);
    this.orchestrators.set(p.loc.name, o);
    this.logs.append(p.loc.name, `orchestrator started: pid ${pid}, ${p.maxParallel} agent(s) at once`);
    this.feed.emit({ type: 'orchestrator.started', orchestrator: { ...o } });
  }

  private tick(): void {
    for (const p of this.plans) {
      const o = this.orchestratorOf(p);
      if (o?.alive) this.advance(p, o);
      else if (p.idleTicks !== undefined && --p.idleTicks <= 0) this.replay(p);
    }
  }

  /** Ready tasks in the core's order, except those waiting for an approval. */
  private nextTasks(p: MockPlan, limit: number): Task[] {
    const ready = readyTasks(p.analysis.plan, p.analysis.graph, statusLookup(p.status), limit + 5);
    return ready
      .filter((r) => !(p.status.tasks[r.id]?.run?.needsApproval?.length ?? 0))
      .slice(0, limit)
      .map((r) => p.analysis.plan.tasks[p.analysis.graph.indexById.get(r.id)!]!);
  }

  private advance(p: MockPlan, o: OrchestratorInfo): void {
    let changed = false;
    const worked = new Set<string>();
    for (const [id, rec] of Object.entries(p.status.tasks)) {
      if (rec.status !== 'in_progress') continue;
      this.work(p, id);
      worked.add(id);
      changed = true;
    }
    const running = Object.values(p.status.tasks).filter((t) => t.status === 'in_progress').length;
    if (!this.stopping.has(p.loc.name) && running < p.maxParallel) {
      // A task that failed in this tick is retried in the next: its failure is a write of its own.
      for (const task of this.nextTasks(p, p.maxParallel - running).filter((t) => !worked.has(t.id))) {
        this.startTask(p, o, task);
        changed = true;
      }
    }
    if (changed) this.write(p);
    if (Object.values(p.status.tasks).some((t) => t.status === 'in_progress')) return;
    if (this.stopping.has(p.loc.name) || this.nextTasks(p, 1).length === 0) this.finish(p, o);
  }

  private startTask(p: MockPlan, o: OrchestratorInfo, task: Task): void {
    const rec = p.status.tasks[task.id];
    const attempt = (rec?.attempts ?? 0) + 1;
    const resume = rec?.run?.resume === true;
    const log = relativeToRoot(p.loc.worktree, path.join(path.dirname(p.statusPath), 'logs', `${task.id}.log`));
    const first = task.kind === 'verify' ? `$ ${task.command ?? task.title}` : `Read ${p.loc.plan}`;
    applyTransition(p.status, {
      taskId: task.id,
      status: 'in_progress',
      agent: task.kind === 'verify' ? 'gate' : 'claude',
      holderPid: o.pid,
      ...(attempt > 1 ? { note: `attempt ${attempt}` } : {}),
      run: {
        kind: task.kind === 'verify' ? 'gate' : 'claude',
        ...(task.kind === 'verify' ? {} : { model: MODEL, sessionId: resume && rec?.run?.sessionId ? rec.run.sessionId : fakeSha(p.loc.name, task.id, String(++this.runs)).slice(0, 32) }),
        activity: first,
        activityAt: new Date().toISOString(),
        turn: 1,
        costUsd: task.kind === 'verify' ? 0 : 0.02,
        totalCostUsd: usd((rec?.run?.totalCostUsd ?? 0) + (task.kind === 'verify' ? 0 : 0.02)),
        log,
        commit: null,
        needsApproval: null,
        resume: null,
        inputTokens: null,
        outputTokens: null,
      },
    });
    p.steps.set(task.id, 0);
    this.logs.append(p.loc.name, `▶ ${task.id} started${attempt > 1 ? ` (attempt ${attempt}${resume ? ', resuming the agent session' : ''})` : ''}`);
    this.logs.append(`${p.loc.name}\0${task.id}`, `${task.kind === 'verify' ? 'gate' : `claude (${MODEL})`}: ${task.id} ${task.title}, attempt ${attempt}`);
  }

  /** One step of a running agent: an action, or the end of its attempt. */
  private work(p: MockPlan, id: string): void {
    const task = p.analysis.plan.tasks[p.analysis.graph.indexById.get(id)!];
    const rec = p.status.tasks[id]!;
    const run = rec.run ?? {};
    if (!task) return;
    const script = task.kind === 'verify' ? [] : scriptFor(task, p.analysis.graph.duration[task.index] ?? 30);
    const step = p.steps.get(id) ?? 0;
    if (step < script.length) {
      const turn = (run.turn ?? 0) + 1;
      const cost = 0.03 + 0.01 * (turn % 4);
      applyRunPatch(p.status, id, {
        activity: script[step]!,
        activityAt: new Date().toISOString(),
        turn,
        costUsd: usd((run.costUsd ?? 0) + cost),
        totalCostUsd: usd((run.totalCostUsd ?? 0) + cost),
        inputTokens: (run.inputTokens ?? 0) + 3_800 + 410 * turn,
        outputTokens: (run.outputTokens ?? 0) + 520 + 37 * turn,
      });
      p.steps.set(id, step + 1);
      this.logs.append(p.loc.name, `  ${id} · ${script[step]}`);
      this.logs.append(`${p.loc.name}\0${id}`, `[turn ${turn}] ${script[step]}`);
      return;
    }
    p.steps.delete(id);
    const ms = Date.now() - Date.parse(rec.startedAt ?? rec.updatedAt);
    const error = p.seed.failFirst?.[id];
    if (error && !p.failedOnce.has(id)) {
      p.failedOnce.add(id);
      applyTransition(p.status, { taskId: id, status: 'failed', error, run: { processMs: ms } });
      this.logs.append(p.loc.name, `✗ ${id} failed: ${error} (retrying)`);
      this.logs.append(`${p.loc.name}\0${id}`, `error: ${error}`);
      return;
    }
    const commit = task.kind === 'verify' ? undefined : fakeSha(p.loc.name, id, rec.startedAt ?? '');
    applyTransition(p.status, { taskId: id, status: 'completed', run: { processMs: ms, agentMs: Math.max(0, ms - 180), ...(commit ? { commit } : {}) } });
    this.logs.append(p.loc.name, `✓ ${id} done in ${(ms / 1000).toFixed(1)} s${commit ? ` (${commit.slice(0, 7)})` : ''}${run.costUsd ? `, $${run.costUsd.toFixed(2)}` : ''}`);
    this.logs.append(`${p.loc.name}\0${id}`, commit ? `committed ${commit.slice(0, 7)}: ${task.title}` : 'passed');
  }

  private finish(p: MockPlan, o: OrchestratorInfo): void {
    const stopped = this.stopping.delete(p.loc.name);
    o.alive = false;
    o.tasks = [];
    const left = p.analysis.plan.tasks.filter((t) => p.status.tasks[t.id]?.status !== 'completed' && p.status.tasks[t.id]?.status !== 'skipped').length;
    this.logs.append(p.loc.name, stopped ? 'stopped' : left === 0 ? 'all tasks done' : `nothing more can run: ${left} task(s) not done`);
    this.feed.emit({ type: 'orchestrator.stopped', orchestrator: { ...o } });
    if (p.seed.replay && !stopped && left === 0) p.idleTicks = REPLAY_AFTER_TICKS;
  }

  /** The notes-api plan starts over, so that the event stream never runs dry. */
  private replay(p: MockPlan): void {
    delete p.idleTicks;
    for (const id of Object.keys(p.status.tasks)) applyTransition(p.status, { taskId: id, status: 'pending', note: 'mock: the plan starts over' });
    p.steps.clear();
    this.write(p);
    this.launch(p, this.nextPid++);
  }

  /** What the seeded runs would have logged. */
  private seedLogs(p: MockPlan): void {
    for (const t of p.analysis.plan.tasks) {
      const rec = p.status.tasks[t.id];
      if (!rec || rec.attempts === 0) continue;
      this.logs.append(p.loc.name, `▶ ${t.id} started${rec.attempts > 1 ? ` (attempt ${rec.attempts})` : ''}`);
      this.logs.append(`${p.loc.name}\0${t.id}`, `claude (${MODEL}): ${t.id} ${t.title}, attempt ${rec.attempts}`);
      if (rec.run?.activity) this.logs.append(`${p.loc.name}\0${t.id}`, `[turn ${rec.run.turn ?? 1}] ${rec.run.activity}`);
      if (rec.status === 'completed') this.logs.append(p.loc.name, `✓ ${t.id} done${rec.run?.commit ? ` (${rec.run.commit.slice(0, 7)})` : ''}${rec.run?.costUsd ? `, $${rec.run.costUsd.toFixed(2)}` : ''}`);
      if (rec.status === 'failed' && rec.run?.needsApproval?.length) {
        this.logs.append(p.loc.name, `? ${t.id} needs approval: ${rec.run.needsApproval.map((d) => d.rule).join(', ')}; allow it with: planctl approve ${t.id}`);
      } else if (rec.status === 'failed') this.logs.append(p.loc.name, `✗ ${t.id} failed: ${rec.lastError ?? 'failed'}`);
    }
  }
}
