/**
 * Runs one plan as a DAG: keeps up to `maxParallel` agents busy with the ready set, records every
 * transition in status.json, commits each finished task's own files through a repository-wide serial
 * queue, and registers itself so that a second orchestrator for the same plan is refused.
 *
 * This file schedules; an agent is started by localLaunch.ts (or queued for a worker), and what its
 * attempt comes to when it ends is decided, committed and recorded by taskOutcomes.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { nodeStates, readyTasks, type ReadyTask } from '../core/schedule.js';
import { openPlan, statusLookup, type PlanSession } from '../core/session.js';
import { PlanError } from '../core/source.js';
import type { Plan, Task } from '../core/model.js';
import type { StatusFile } from '../core/status.js';
import { FALLBACK_IDENTITY, GitService } from '../git/gitService.js';
import type { AgentProcessResult } from './agentProcess.js';
import type { AgentAdapter, AgentEvent, AgentOverrides, AgentSettings } from './agents/index.js';
import { commandAdapter } from './agents/command.js';
import { allowedToolsFor, loadAgentSetup } from './agentSetup.js';
import { loadWorkflowConfig, type QueueConfig } from '../core/workflowConfig.js';
import { checkCommands, checkPlace } from './preflight.js';
import { resetCrashedTasks } from './crashedTasks.js';
import { checkFileGate, fileGateOf } from './fileGates.js';
import { startLocalAgent, type LocalLaunchContext } from './localLaunch.js';
import type { OrchestratorEvent } from './orchestratorEvents.js';
import { DEFAULT_PROMPT_TEMPLATE, directDependencies } from './prompt.js';
import { RegistryRecord, registryDir } from './registry.js';
import type { QueueCoordinator, QueuedOutcome } from './queue/coordinator.js';
import { startPlanQueue, taskJob } from './queue/planQueue.js';
import type { RunningTask } from './runningTask.js';
import { StatusBatch } from './statusBatch.js';
import { DEFAULT_SECRET_PATTERNS } from './taskChanges.js';
import { TaskOutcomes } from './taskOutcomes.js';

export { isPidAlive, listRegistry, registryDir, runningRecordFor, type RegistryEntry } from './registry.js';
export { splitCommand } from './gates.js';
export { expandTemplate } from './agents/command.js';
export { commitSubject } from './taskCommit.js';
export type { OrchestratorEvent } from './orchestratorEvents.js';

export { FALLBACK_IDENTITY } from '../git/gitService.js';

export interface OrchestratorOptions {
  planPath: string;
  maxParallel?: number;
  /**
   * The agent: settings over git-workflow.json's `agent` section, or an argv template (the `command`
   * kind, placeholders {id} {title} {body} {plan} {worktree} {prompt} {estimate}).
   */
  agent?: readonly string[] | AgentOverrides;
  /** Extra attempts after a failure within this run (default 1). Denied tools are never retried on their own. */
  retries?: number;
  /** Per-task limit; overrides the agent settings' timeoutMinutes. */
  timeoutMs?: number;
  /** No output for this long stops the agent; overrides idleTimeoutMinutes. */
  idleTimeoutMs?: number;
  /** After SIGINT/SIGTERM, how long running tasks may finish before they are killed (default 30 s). */
  graceMs?: number;
  commit?: boolean;
  /** Stop launching once the plan's agents have cost this much (USD, as the agents report it). */
  maxCostUsd?: number;
  /** Approve the plan's gate commands that are not approved yet (the user saw them). */
  approveCommands?: boolean;
  /** Commit to the branch of the repository's main checkout (default: refused; use the plan's worktree). */
  inPlace?: boolean;
  /** Run although the checkout has uncommitted changes (they are left out of every task commit). */
  allowDirty?: boolean;
  /**
   * Run the agents on workers (`planctl worker`) through BullMQ on this Redis instead of here; `remote`
   * is the git remote the workers clone (default origin).
   */
  queue?: { url: string; remote?: string };
  /** Where agents run and what gets committed (default: the plan's repository root). */
  worktree?: string;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: OrchestratorEvent) => void;
  /** Install SIGINT/SIGTERM handlers (the CLI does; tests call stop() instead). */
  handleSignals?: boolean;
  /**
   * The pattern users ran by hand before: take up to `maxParallel` ready tasks, wait for all of them,
   * repeat. Kept so that the DAG scheduling can be compared with it by the same code.
   */
  batched?: boolean;
}

export interface OrchestratorSummary {
  completed: string[];
  failed: string[];
  /** Denied a tool: waiting for `planctl approve`. Also counted in `failed`. */
  needsApproval: string[];
  /** Not done at the end: waiting on a failed task, or put back to pending by a stop. */
  blocked: string[];
  costUsd: number;
  wallMs: number;
  signal?: NodeJS.Signals;
}

export class Orchestrator {
  private session!: PlanSession;
  private git: GitService | undefined;
  private settings!: AgentSettings;
  private adapter!: AgentAdapter;
  private promptTemplate = DEFAULT_PROMPT_TEMPLATE;
  private secretPatterns: readonly string[] = DEFAULT_SECRET_PATTERNS;
  private identity: { name: string; email: string } | undefined;
  private readonly agentName = `orchestrator:${process.pid}`;
  private readonly running = new Map<string, RunningTask>();
  private readonly attempts = new Map<string, number>();
  /** What ended attempts came to: completed, failed, awaiting approval, and what they cost. */
  private outcomes!: TaskOutcomes;
  /** What starting an agent here needs from the run. */
  private local!: LocalLaunchContext;
  private stopping: NodeJS.Signals | undefined;
  /** Why the run cannot go on (status.json cannot be read or written): no more launches, then thrown. */
  private fatal: Error | undefined;
  private overBudget = false;
  private registry: RegistryRecord | undefined;
  private queue: QueueCoordinator | undefined;
  /** git-workflow.json's `queue` section, read with the agent settings. */
  private queueConfig: QueueConfig = {};
  private findingsDir = '';
  private dirty = false;
  private waiter: (() => void) | undefined;
  private batch!: StatusBatch;
  /** Tasks a dead coordinator of this plan had on the queue, with their attempt then: their jobs are followed, not queued again. */
  private earlierAttempts = new Map<string, number>();
  private readonly opts: Required<Pick<OrchestratorOptions, 'maxParallel' | 'retries' | 'graceMs' | 'commit' | 'batched'>> & OrchestratorOptions;

  constructor(options: OrchestratorOptions) {
    this.opts = { maxParallel: 2, retries: 1, graceMs: 30_000, commit: true, batched: false, ...options };
    if (!Number.isInteger(this.opts.maxParallel) || this.opts.maxParallel < 1) throw new PlanError('invalid-argument', 'maxParallel must be a whole number of at least 1');
    if (!Number.isInteger(this.opts.retries) || this.opts.retries < 0) throw new PlanError('invalid-argument', 'retries must be a whole number of at least 0');
    const agent = this.opts.agent;
    if (Array.isArray(agent) && (agent.length === 0 || agent.some((a) => typeof a !== 'string') || !agent[0])) {
      throw new PlanError('invalid-argument', 'the agent command must be a non-empty array of strings');
    }
  }

  /** Asks the run to wind down as on SIGINT/SIGTERM. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.stopping) return;
    this.stopping = signal;
    this.emit({ type: 'stopping', signal });
    const graceTimer = setTimeout(() => {
      for (const r of this.running.values()) {
        r.stopped = true;
        r.proc?.stop('stopped');
        if (r.remote) void this.queue?.cancel(r.task.id);
      }
    }, this.opts.graceMs);
    graceTimer.unref();
    this.wake();
  }

  /** Ends the run at the first point where no agent of ours is left running. */
  private fail(e: unknown): void {
    const error = e instanceof Error ? e : new Error(String(e));
    if (!this.fatal) {
      this.fatal = error;
      this.emit({ type: 'warning', message: `${error.message}; no more tasks are started` });
    }
    this.stop('SIGTERM');
  }

  /** A flag as well as a resolver: a wake-up that arrives while the loop is busy must not be lost. */
  private wake(): void {
    this.dirty = true;
    this.waiter?.();
  }

  async run(): Promise<OrchestratorSummary> {
    const t0 = Date.now();
    this.session = await openPlan(this.opts.planPath);
    const errors = this.session.analysis.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      throw new PlanError('plan-has-errors', `${this.session.relPath} has ${errors.length} error(s) (first: line ${errors[0]!.line}: ${errors[0]!.message}); run planctl validate`);
    }
    const worktree = path.resolve(this.opts.worktree ?? this.session.root);
    this.opts.worktree = worktree;
    const approved = await checkCommands(this.session, this.opts.approveCommands === true);
    if (approved.length > 0) this.emit({ type: 'warning', message: `approved for this plan: ${approved.map((c) => `"${c}"`).join(', ')}` });
    await this.configureAgent();
    this.git = await GitService.open(worktree).catch(() => undefined);
    const outDir = path.dirname(this.session.statusPath);
    const logsDir = path.join(outDir, 'logs');
    this.findingsDir = path.join(outDir, 'findings');
    await mkdir(logsDir, { recursive: true });
    await mkdir(this.findingsDir, { recursive: true });
    // Logs change while tasks run; committing them would put half-written files into task commits.
    await writeFile(path.join(logsDir, '.gitignore'), '*\n');
    if (this.git && this.opts.commit && !(await this.git.hasIdentity())) {
      this.identity = FALLBACK_IDENTITY;
      this.emit({ type: 'warning', message: `git has no user.name/user.email here; task commits are made as ${FALLBACK_IDENTITY.name} <${FALLBACK_IDENTITY.email}>` });
    }
    this.registry = new RegistryRecord(this.session.path, worktree, () => this.registryChildren(), (m) => this.emit({ type: 'warning', message: m }));
    await this.registry.acquire(await registryDir(this.git, this.session.statusPath), this.session.relPath);
    // After the registry: while another orchestrator runs the plan, that is what the user must hear,
    // not that its files make the checkout look dirty.
    let preexisting = new Set<string>();
    if (this.git && this.opts.commit) {
      try {
        preexisting = await checkPlace(this.git, worktree, this.session.statusPath, this.session.relPath, this.opts);
      } catch (e) {
        await this.registry.release();
        throw e;
      }
      if (preexisting.size > 0) {
        this.emit({ type: 'warning', message: `${preexisting.size} file(s) were already modified before the run (${[...preexisting].slice(0, 3).join(', ')}${preexisting.size > 3 ? ', …' : ''}); task commits leave them out` });
      }
    }
    const onSignal = (sig: NodeJS.Signals) => this.stop(sig);
    if (this.opts.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    this.batch = new StatusBatch(this.session.store, this.session.status, (message) => this.emit({ type: 'warning', message }));
    const { session, batch, git, settings, findingsDir, secretPatterns } = this;
    const commit = this.opts.commit;
    this.local = { session, batch, git, settings, worktree, logsDir, findingsDir, promptTemplate: this.promptTemplate, commit, env: this.opts.env ?? process.env, allowedTools: () => this.allowedTools() };
    if (this.opts.queue) {
      try {
        this.queue = await this.startQueue(this.opts.queue);
      } catch (e) {
        await this.registry.release();
        throw e;
      }
    }
    try {
      const crashed = await resetCrashedTasks(this.session, this.agentName, this.queue !== undefined, (e) => this.emit(e));
      this.batch.status = crashed.status;
      this.earlierAttempts = crashed.earlierAttempts;
      this.outcomes = new TaskOutcomes(
        { session, batch, git, settings, worktree, findingsDir, secretPatterns, commit, retries: this.opts.retries, identity: this.identity, agentName: this.agentName, preexisting, running: this.running, stopping: () => this.stopping, emit: (e) => this.emit(e) },
        planCost(this.batch.status),
      );
      this.emitPlanSize(this.batch.status);
      await this.loop();
    } finally {
      // Every transition decided must be on disk before the summary reads it back; one that still
      // cannot be written is reported, not dropped.
      const last = this.batch.flush();
      await this.batch.idle();
      await last.catch((e: unknown) => this.fail(e));
      this.batch.dispose();
      await this.queue?.close().catch(() => undefined);
      if (this.opts.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      await this.registry.release();
    }
    if (this.fatal) throw this.fatal;

    const status = await this.session.store.read();
    const lookup = statusLookup(status);
    const plan = this.session.analysis.plan;
    const state = nodeStates(plan, this.session.analysis.graph, lookup);
    const blocked = plan.tasks.filter((t) => t.childIds.length === 0 && state[t.index] !== 'done' && state[t.index] !== 'failed').map((t) => t.id);
    return {
      completed: [...this.outcomes.completed],
      failed: [...this.outcomes.failedForGood],
      needsApproval: [...this.outcomes.awaitingApproval],
      blocked,
      costUsd: planCost(status),
      wallMs: Date.now() - t0,
      ...(this.stopping ? { signal: this.stopping } : {}),
    };
  }

  /** Settings from git-workflow.json under the caller's; the prompt template the settings name. */
  private async configureAgent(): Promise<void> {
    const config = await loadWorkflowConfig(this.session.root);
    for (const message of config.warnings) this.emit({ type: 'warning', message });
    this.queueConfig = config.queue;
    const setup = await loadAgentSetup(this.session.root, config, this.opts);
    ({ settings: this.settings, adapter: this.adapter, promptTemplate: this.promptTemplate, secretPatterns: this.secretPatterns } = setup);
    if (this.opts.maxCostUsd === undefined && setup.maxCostUsd !== undefined) this.opts.maxCostUsd = setup.maxCostUsd;
  }

  private registryChildren() {
    return [...this.running.values()].flatMap((r) => (r.proc?.child.pid ? [{ id: r.task.id, pid: r.proc.child.pid, ...(r.proc.startTime ? { startTime: r.proc.startTime } : {}) }] : []));
  }

  private emitPlanSize(status: StatusFile): void {
    const { plan, graph } = this.session.analysis;
    const state = nodeStates(plan, graph, statusLookup(status));
    const leaves = plan.tasks.filter((t) => t.childIds.length === 0);
    const done = leaves.filter((t) => state[t.index] === 'done').length;
    this.emit({ type: 'plan', total: leaves.length, done });
  }

  private emit(event: OrchestratorEvent): void {
    this.opts.onEvent?.(event);
  }

  private async loop(): Promise<void> {
    for (;;) {
      this.dirty = false;
      if (!this.stopping) await this.fill().catch((e: unknown) => this.fail(e));
      // Outcomes recorded while nothing could be launched (stopping, or no free slot) go out now;
      // a batch that fails stays queued for the next flush.
      this.batch.flush().catch(() => undefined);
      if (this.running.size === 0) {
        if (this.stopping) return;
        // Something may have become ready through instant items (VERIFY without command).
        const progressed = await this.fill().catch((e: unknown) => {
          this.fail(e);
          return undefined;
        });
        if (progressed === false) return;
        // After a failure the loop goes round once more and ends as a stopped run.
        if (progressed === undefined) continue;
        if (this.running.size === 0) continue;
      }
      if (!this.dirty) {
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
      }
      this.waiter = undefined;
    }
  }

  /** Starts ready tasks into free slots; returns whether anything was started or completed instantly. */
  private async fill(): Promise<boolean> {
    await this.batch.refresh();
    this.takeBackApproved();
    let progressed = false;
    // Batched: a new batch may only be formed once the previous one has drained completely.
    const batchOpen = !this.opts.batched || this.running.size === 0;
    const launches: Array<{ task: Task; attempt: number }> = [];
    for (;;) {
      const free = batchOpen && !this.overBudget ? this.opts.maxParallel - this.running.size - launches.length : 0;
      const ready = this.ready(Math.max(free, 1) + this.outcomes.failedForGood.size);
      const instant = ready.find((r) => r.kind === 'verify' && !this.taskOf(r.id).command);
      if (instant) {
        const files = fileGateOf(this.taskOf(instant.id));
        if (files) {
          // A file gate: the phase's tasks are done, so the files they were to write are looked at now.
          this.outcomes.fileGateChecked(instant.id, await checkFileGate(files, { root: this.opts.worktree!, outputDir: path.dirname(this.session.statusPath) }));
          progressed = true;
          continue;
        }
        this.outcomes.unchecked(instant.id);
        progressed = true;
        continue;
      }
      if (free <= 0 || this.stopping || ready.length === 0) break;
      if (this.checkBudget()) break;
      // One at a time: recording it in_progress makes the next ready() call honour its files.
      const task = this.taskOf(ready[0]!.id);
      const attempt = (this.attempts.get(task.id) ?? 0) + 1;
      this.attempts.set(task.id, attempt);
      void this.batch.record({ taskId: task.id, status: 'in_progress', agent: this.agentName, note: `attempt ${attempt}`, claim: true });
      launches.push({ task, attempt });
      progressed = true;
    }
    // One write for the whole round, with the outcomes recorded since the last one; a task is
    // in_progress on disk before its agent starts.
    const written = this.batch.flush();
    if (progressed) {
      try {
        await written;
      } catch (e) {
        // Not on disk as in_progress: they must not start, and must not be written later either.
        for (const { task } of launches) this.batch.unrecord(task.id);
        throw e;
      }
    }
    for (const { task, attempt } of launches) {
      const holder = this.batch.status.tasks[task.id]?.holder;
      if (holder && holder.pid !== process.pid) {
        // Someone claimed it between our read and our write (planctl start): it is theirs.
        this.attempts.set(task.id, attempt - 1);
        this.emit({ type: 'warning', message: `${task.id} is held by pid ${holder.pid}${holder.agent ? ` (${holder.agent})` : ''} on ${holder.host}; not started` });
        continue;
      }
      if (this.stopping) {
        void this.batch.record({ taskId: task.id, status: 'pending', agent: this.agentName, note: `not started: stopped by ${this.stopping}` });
        continue;
      }
      await this.launch(task, attempt);
    }
    if (launches.length > 0) void this.registry?.write();
    return progressed;
  }

  /** A task approved (planctl approve) while this run waits on it is pending again on disk: it may run, from its first attempt. */
  private takeBackApproved(): void {
    for (const id of this.outcomes.takeBackApproved()) this.attempts.delete(id);
  }

  /** Whether the plan has spent its budget; says so once. */
  private checkBudget(): boolean {
    const max = this.opts.maxCostUsd;
    if (max === undefined || this.overBudget) return this.overBudget;
    const spent = this.outcomes.spentUsd + [...this.running.values()].reduce((n, r) => n + r.costUsd, 0);
    if (spent < max) return false;
    this.overBudget = true;
    this.emit({ type: 'budget', spentUsd: spent, maxUsd: max });
    this.emit({ type: 'warning', message: `the plan's agents have cost $${spent.toFixed(2)} of the $${max.toFixed(2)} allowed (--max-cost); no new tasks are started` });
    return true;
  }

  private ready(limit: number): ReadyTask[] {
    const { plan, graph } = this.session.analysis;
    // A task that used up its retries stays failed; its files must not keep conflicting tasks waiting.
    const { failedForGood } = this.outcomes;
    const view: Plan = failedForGood.size === 0 ? plan : { ...plan, tasks: plan.tasks.map((t) => (failedForGood.has(t.id) ? { ...t, files: [] } : t)) };
    return readyTasks(view, graph, (id) => this.batch.statusOf(id), limit).filter((r) => !this.running.has(r.id) && !failedForGood.has(r.id));
  }

  private taskOf(id: string): Task {
    const { plan, graph } = this.session.analysis;
    return plan.tasks[graph.indexById.get(id)!]!;
  }

  private allowedTools(): Promise<string[]> {
    return allowedToolsFor(this.session, this.settings, (message) => this.emit({ type: 'warning', message }));
  }

  /** Starts the agent (or the gate command) of a task already recorded in_progress. */
  private async launch(task: Task, attempt: number): Promise<void> {
    const isGate = task.kind === 'verify' && Boolean(task.command);
    const adapter = isGate ? commandAdapter : this.adapter;
    const record = this.batch.status.tasks[task.id];
    const resumeSession = !isGate && adapter.canResume && record?.run?.resume && record.run.sessionId ? record.run.sessionId : undefined;
    const r: RunningTask = { task, proc: undefined, startedAt: Date.now(), attempt, files: new Set(), before: undefined, costUsd: 0, stopped: false };
    this.running.set(task.id, r);
    if (this.queue && !isGate) return this.launchRemote(r);
    let result: Promise<AgentProcessResult>;
    try {
      result = (await startLocalAgent(this.local, r, { adapter, isGate, ...(resumeSession ? { resumeSession } : {}), onEvent: (e) => this.onAgentEvent(r, e) })).done;
    } catch (err) {
      await this.failToStart(r, err);
      return;
    }
    this.emit({ type: 'started', id: task.id, title: task.title, attempt, ...(resumeSession ? { resume: true } : {}) });
    void result.then((res) =>
      this.onExit(r, res, adapter).catch((err) => {
        this.emit({ type: 'warning', message: `${task.id}: ${(err as Error).message}` });
        this.running.delete(task.id);
        this.wake();
      }),
    );
  }

  private onAgentEvent(r: RunningTask, e: AgentEvent): void {
    const id = r.task.id;
    switch (e.type) {
      case 'session':
        r.sessionId = e.sessionId;
        this.batch.updateRun(id, { sessionId: e.sessionId, ...(e.model ? { model: e.model } : {}) });
        break;
      case 'activity':
        for (const f of e.files ?? []) r.files.add(path.resolve(this.opts.worktree!, f));
        this.batch.updateRun(id, { activity: e.text, activityAt: new Date().toISOString(), turn: e.turn });
        this.emit({ type: 'activity', id, text: e.text, turn: e.turn, ...(r.costUsd ? { costUsd: r.costUsd } : {}) });
        break;
      case 'cost':
        r.costUsd = e.costUsd;
        this.batch.updateRun(id, { costUsd: e.costUsd, ...(e.usage?.inputTokens !== undefined ? { inputTokens: e.usage.inputTokens } : {}), ...(e.usage?.outputTokens !== undefined ? { outputTokens: e.usage.outputTokens } : {}) });
        break;
      case 'denied':
      case 'result':
        break;
    }
  }

  /** A task whose agent could not be started (local or queued) fails with the reason, and the run goes on. */
  private async failToStart(r: RunningTask, err: unknown): Promise<void> {
    this.running.delete(r.task.id);
    const { written } = await this.outcomes.finish(r, { ok: false, reason: `cannot start the agent: ${(err as Error).message}` }, {});
    this.wake();
    await written.catch(() => undefined);
  }

  private async onExit(r: RunningTask, res: AgentProcessResult, adapter: AgentAdapter): Promise<void> {
    const { task } = r;
    const { written } = await this.outcomes.agentExited(r, res, adapter);
    // The outcome is recorded (not necessarily written yet): dependents can be scheduled now, and
    // their in_progress goes out in the same write as this task's result.
    this.running.delete(task.id);
    void this.registry?.write();
    this.wake();
    await written;
  }

  private startQueue(q: { url: string; remote?: string }): Promise<QueueCoordinator> {
    return startPlanQueue({
      config: this.queueConfig,
      ...q,
      git: this.git,
      commit: this.opts.commit,
      session: this.session,
      ...(this.identity ? { identity: this.identity } : {}),
      warn: (message) => this.emit({ type: 'warning', message }),
      onProgress: (taskId, p) => {
        const r = this.running.get(taskId);
        if (!r) return;
        if (p.sessionId) this.onAgentEvent(r, { type: 'session', sessionId: p.sessionId });
        if (p.costUsd !== undefined) this.onAgentEvent(r, { type: 'cost', costUsd: p.costUsd });
        this.batch.updateRun(taskId, { host: p.host });
        if (p.activity) this.onAgentEvent(r, { type: 'activity', text: p.activity, turn: p.turn ?? 0 });
      },
    });
  }

  /** A task on the workers: queued, followed, and its commit applied to the plan branch here. */
  private async launchRemote(r: RunningTask): Promise<void> {
    const { task } = r;
    r.remote = true;
    this.batch.updateRun(task.id, { kind: this.settings.kind, activity: 'queued', activityAt: new Date().toISOString(), turn: 0, costUsd: 0, needsApproval: null, resume: null });
    this.emit({ type: 'started', id: task.id, title: task.title, attempt: r.attempt });
    let allowed: string[];
    try {
      allowed = await this.allowedTools();
    } catch (err) {
      await this.failToStart(r, err);
      return;
    }
    // The attempt as status.json counts it (across runs): a job ID is never reused by a later run.
    const attempt = this.batch.status.tasks[task.id]?.attempts ?? r.attempt;
    const earlierAttempt = this.earlierAttempts.get(task.id);
    this.earlierAttempts.delete(task.id);
    const job = taskJob({ session: this.session, status: this.batch.status, task, worktree: this.opts.worktree!, findingsDir: this.findingsDir, promptTemplate: this.promptTemplate, settings: this.settings, allowedTools: allowed, secretPatterns: this.secretPatterns });
    const { plan, graph } = this.session.analysis;
    void this.queue!.run(task.id, attempt, job, { needs: directDependencies(plan, graph, task).map((d) => d.id), ...(earlierAttempt !== undefined ? { earlierAttempt } : {}) })
      .catch((e: unknown): QueuedOutcome => ({ ok: false, reason: `on the queue: ${(e as Error).message}` }))
      .then(async (outcome) => {
        const { written } = await this.outcomes.jobEnded(r, outcome);
        this.running.delete(task.id);
        this.wake();
        await written;
      })
      .catch((e: unknown) => {
        this.emit({ type: 'warning', message: `${task.id}: ${(e as Error).message}` });
        this.running.delete(task.id);
        this.wake();
      });
  }
}

/** What every task's agents have cost so far, as recorded. */
export function planCost(status: StatusFile): number {
  let sum = 0;
  for (const rec of Object.values(status.tasks)) sum += rec.run?.totalCostUsd ?? 0;
  return Math.round(sum * 1e6) / 1e6;
}
