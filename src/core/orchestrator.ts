/**
 * Runs one plan as a DAG: keeps up to `maxParallel` agent processes busy with the ready set, records
 * every transition in status.json, commits each finished task through a repository-wide serial queue,
 * and registers itself so that a second orchestrator for the same plan is refused.
 *
 * No `vscode` import: the CLI runs this directly and the extension can host it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, writeSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { nodeStates, readyTasks, type ReadyTask } from './schedule.js';
import { openPlan, statusLookup, type PlanSession } from './session.js';
import { PlanError } from './source.js';
import type { Plan, Task } from './model.js';
import type { StatusFile, StatusTransition } from './status.js';
import type { TaskStatus } from './schedule.js';
import { GitService } from '../git/gitService.js';

export const DEFAULT_AGENT: readonly string[] = ['claude', '-p', '{prompt}'];
const KILL_AFTER_MS = 2_000;

export interface OrchestratorOptions {
  planPath: string;
  maxParallel?: number;
  /** argv template; placeholders {id} {title} {body} {plan} {worktree} {prompt} {estimate}. */
  agent?: readonly string[];
  /** Extra attempts after a failure within this run (default 1). */
  retries?: number;
  timeoutMs?: number;
  /** After SIGINT/SIGTERM, how long running tasks may finish before they are killed (default 30 s). */
  graceMs?: number;
  commit?: boolean;
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

export type OrchestratorEvent =
  | { type: 'plan'; total: number; done: number }
  | { type: 'started'; id: string; title: string; attempt: number }
  | { type: 'completed'; id: string; ms: number; commit?: string }
  | { type: 'failed'; id: string; error: string; retrying: boolean }
  | { type: 'unchecked'; id: string }
  | { type: 'reset'; id: string; reason: string }
  | { type: 'stopping'; signal: NodeJS.Signals }
  | { type: 'warning'; message: string };

export interface OrchestratorSummary {
  completed: string[];
  failed: string[];
  /** Not done at the end: waiting on a failed task, or put back to pending by a stop. */
  blocked: string[];
  wallMs: number;
  signal?: NodeJS.Signals;
}

export interface RegistryEntry {
  plan: string;
  worktree: string;
  pid: number;
  host: string;
  startedAt: string;
  /** Agent processes (own process groups) so that whoever takes over a dead record can end them. */
  children: Array<{ id: string; pid: number }>;
}

interface Running {
  task: Task;
  child: ChildProcess;
  startedAt: number;
  attempt: number;
  timedOut: boolean;
  stopped: boolean;
  killTimers: NodeJS.Timeout[];
}

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Splits a VERIFY command like a POSIX shell would split words, without any expansion. */
export function splitCommand(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) cur += command[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new PlanError('invalid-argument', `unterminated ${quote} quote in command: ${command}`);
  if (inWord) out.push(cur);
  return out;
}

export function buildPrompt(task: Pick<Task, 'id' | 'title' | 'body'>, planPath: string): string {
  const body = task.body.trim() ? `\n\nDetails:\n${task.body.trim()}` : '';
  return `Implement task ${task.id} of the plan ${planPath}: ${task.title}${body}\n\nWork only on this task, in the current directory. Do not commit; the orchestrator commits when you exit successfully.`;
}

/** Each argv element is substituted on its own, so a title with spaces or quotes stays one argument. */
export function expandTemplate(template: readonly string[], vars: Record<string, string>): string[] {
  return template.map((arg) => arg.replace(/\{(\w+)\}/g, (m, key: string) => (key in vars ? vars[key]! : m)));
}

/**
 * The agent's environment. VS Code runs planctl with ELECTRON_RUN_AS_NODE=1 (its binary acting as
 * node); passed on, it would turn any Electron program an agent starts into plain node.
 */
function agentEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...base, ...extra };
  delete env.ELECTRON_RUN_AS_NODE;
  return env;
}

function registryName(planPath: string): string {
  return path.basename(planPath, '.md').replace(/[^\w.-]/g, '_');
}

/** Where the registry lives: shared by every worktree of a repository, or beside status.json outside git. */
export async function registryDir(git: GitService | undefined, statusPath: string): Promise<string> {
  return git ? path.join(await git.commonDir(), 'plan-orchestrator', 'orchestrators') : path.dirname(statusPath);
}

export async function listRegistry(dir: string): Promise<Array<RegistryEntry & { name: string; alive: boolean }>> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: Array<RegistryEntry & { name: string; alive: boolean }> = [];
  for (const n of names.sort()) {
    try {
      const entry = JSON.parse(await readFile(path.join(dir, n), 'utf8')) as RegistryEntry;
      const alive = entry.host === os.hostname() ? isPidAlive(entry.pid) : true;
      out.push({ ...entry, name: n.slice(0, -5), alive });
    } catch {
      // A record being rewritten right now, or not ours: nothing useful to list.
    }
  }
  return out;
}

/**
 * The live orchestrator recorded for a plan. Records are kept per plan file name, across worktrees:
 * that is what a second orchestrator for the plan would collide with.
 */
export function runningRecordFor<T extends { name: string; alive: boolean }>(entries: readonly T[], planFile: string): T | undefined {
  const name = registryName(planFile);
  return entries.find((e) => e.alive && e.name === name);
}

const lockOptions = (lockPath: string) => ({
  realpath: false,
  lockfilePath: lockPath,
  stale: 10_000,
  update: 2_000,
  retries: { retries: 400, factor: 1.2, minTimeout: 10, maxTimeout: 250, randomize: true },
});

/** One commit at a time per repository: across plans, worktrees and processes (they share one index lock). */
let commitChain: Promise<unknown> = Promise.resolve();

export class Orchestrator {
  private session!: PlanSession;
  private git: GitService | undefined;
  private readonly agentName = `orchestrator:${process.pid}`;
  private readonly running = new Map<string, Running>();
  private readonly attempts = new Map<string, number>();
  private readonly completed: string[] = [];
  private readonly failedForGood = new Set<string>();
  private stopping: NodeJS.Signals | undefined;
  /** Why the run cannot go on (status.json cannot be read or written): no more launches, then thrown. */
  private fatal: Error | undefined;
  private registryFile: string | undefined;
  private logsDir = '';
  private dirty = false;
  private waiter: (() => void) | undefined;
  private registryWrites: Promise<unknown> = Promise.resolve();
  private registryPending: Promise<void> | undefined;
  /** The latest status.json we read or wrote; `local` holds what we decided since. */
  private status!: StatusFile;
  /**
   * Transitions recorded but possibly not written yet. Scheduling reads through them, so a finished
   * task frees its dependents at once and the write of both goes out together (see record()).
   */
  private readonly local = new Map<string, { status: TaskStatus; seq: number }>();
  private localSeq = 0;
  private statusWrites: Promise<unknown> = Promise.resolve();
  private queued: { batch: Array<{ t: StatusTransition; seq: number }>; written: Promise<void>; settle: (error?: unknown) => void } | undefined;
  private readonly startedAt = new Date().toISOString();
  private readonly opts: Required<Pick<OrchestratorOptions, 'maxParallel' | 'retries' | 'graceMs' | 'commit' | 'batched'>> & OrchestratorOptions;

  constructor(options: OrchestratorOptions) {
    this.opts = { maxParallel: 2, retries: 1, graceMs: 30_000, commit: true, batched: false, ...options };
    if (!Number.isInteger(this.opts.maxParallel) || this.opts.maxParallel < 1) throw new PlanError('invalid-argument', 'maxParallel must be a whole number of at least 1');
    if (!Number.isInteger(this.opts.retries) || this.opts.retries < 0) throw new PlanError('invalid-argument', 'retries must be a whole number of at least 0');
    const agent = this.opts.agent ?? DEFAULT_AGENT;
    if (agent.length === 0 || agent.some((a) => typeof a !== 'string') || !agent[0]) throw new PlanError('invalid-argument', 'the agent command must be a non-empty array of strings');
  }

  /** Asks the run to wind down as on SIGINT/SIGTERM. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.stopping) return;
    this.stopping = signal;
    this.emit({ type: 'stopping', signal });
    const graceTimer = setTimeout(() => {
      for (const r of this.running.values()) this.kill(r, 'stopped');
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
    this.git = await GitService.open(worktree).catch(() => undefined);
    this.logsDir = path.join(path.dirname(this.session.statusPath), 'logs');
    await mkdir(this.logsDir, { recursive: true });
    // Logs change while tasks run; committing them would put half-written files into task commits.
    await writeFile(path.join(this.logsDir, '.gitignore'), '*\n');

    await this.acquireRegistry();
    const onSignal = (sig: NodeJS.Signals) => this.stop(sig);
    if (this.opts.handleSignals) {
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    }
    try {
      this.status = await this.resumeCrashed();
      this.emitPlanSize(this.status);
      await this.loop();
    } finally {
      // Every transition decided must be on disk before the summary reads it back; one that still
      // cannot be written is reported, not dropped.
      const last = this.flush();
      await this.statusWrites;
      await last.catch((e: unknown) => this.fail(e));
      if (this.opts.handleSignals) {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      await this.releaseRegistry();
    }
    if (this.fatal) throw this.fatal;

    const status = await this.session.store.read();
    const lookup = statusLookup(status);
    const plan = this.session.analysis.plan;
    const state = nodeStates(plan, this.session.analysis.graph, lookup);
    const blocked = plan.tasks.filter((t) => t.childIds.length === 0 && state[t.index] !== 'done' && state[t.index] !== 'failed').map((t) => t.id);
    return {
      completed: [...this.completed],
      failed: [...this.failedForGood],
      blocked,
      wallMs: Date.now() - t0,
      ...(this.stopping ? { signal: this.stopping } : {}),
    };
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
      // a batch that fails stays queued for the next flush (see flush()).
      this.flush().catch(() => undefined);
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
    await this.refreshStatus();
    let progressed = false;
    // Batched: a new batch may only be formed once the previous one has drained completely.
    const batchOpen = !this.opts.batched || this.running.size === 0;
    const launches: Array<{ task: Task; attempt: number }> = [];
    for (;;) {
      const free = batchOpen ? this.opts.maxParallel - this.running.size - launches.length : 0;
      const ready = this.ready(Math.max(free, 1) + this.failedForGood.size);
      const instant = ready.find((r) => r.kind === 'verify' && !this.taskOf(r.id).command);
      if (instant) {
        void this.record({ taskId: instant.id, status: 'completed', agent: this.agentName, note: 'not checked: the VERIFY item has no command' });
        this.completed.push(instant.id);
        this.emit({ type: 'unchecked', id: instant.id });
        progressed = true;
        continue;
      }
      if (free <= 0 || this.stopping || ready.length === 0) break;
      // One at a time: recording it in_progress makes the next ready() call honour its files.
      const task = this.taskOf(ready[0]!.id);
      const attempt = (this.attempts.get(task.id) ?? 0) + 1;
      this.attempts.set(task.id, attempt);
      void this.record({ taskId: task.id, status: 'in_progress', agent: this.agentName, note: `attempt ${attempt}` });
      launches.push({ task, attempt });
      progressed = true;
    }
    // One write for the whole round, with the outcomes recorded since the last one; a task is
    // in_progress on disk before its agent starts.
    const written = this.flush();
    if (progressed) {
      try {
        await written;
      } catch (e) {
        // Not on disk as in_progress: they must not start, and must not be written later either.
        for (const { task } of launches) this.unrecord(task.id);
        throw e;
      }
    }
    for (const { task, attempt } of launches) {
      if (this.stopping) {
        void this.record({ taskId: task.id, status: 'pending', agent: this.agentName, note: `not started: stopped by ${this.stopping}` });
        continue;
      }
      this.launch(task, attempt);
    }
    if (launches.length > 0) void this.writeRegistry();
    return progressed;
  }

  /** Picks up changes made by others (planctl skip, the editor) without losing ours that are in flight. */
  private async refreshStatus(): Promise<void> {
    const read = await this.session.store.read();
    if (read.version >= this.status.version) this.status = read;
  }

  private statusOf(id: string): TaskStatus | undefined {
    return this.local.get(id)?.status ?? (this.status.tasks[id]?.status as TaskStatus | undefined);
  }

  /**
   * Records a transition: visible to scheduling at once, written by the next flush() together with
   * everything else recorded by then. A finished task and the tasks it unblocks thus cost one lock
   * and one fsync. Resolves when it is on disk.
   */
  private record(t: StatusTransition): Promise<void> {
    const seq = ++this.localSeq;
    this.local.set(t.taskId, { status: t.status, seq });
    const queue = this.queue();
    queue.batch.push({ t, seq });
    return queue.written;
  }

  /** The batch the next flush() writes. */
  private queue(): NonNullable<Orchestrator['queued']> {
    if (!this.queued) {
      let settle!: (error?: unknown) => void;
      const written = new Promise<void>((resolve, reject) => {
        settle = (error) => (error === undefined ? resolve() : reject(error));
      });
      // Whoever recorded awaits it; a failure nobody awaits must not become an unhandled rejection.
      written.catch(() => undefined);
      this.queued = { batch: [], written, settle };
    }
    return this.queued;
  }

  /** Forgets a transition that was recorded but must not be written (its write failed). */
  private unrecord(taskId: string): void {
    const entry = this.local.get(taskId);
    if (!entry) return;
    this.local.delete(taskId);
    if (this.queued) this.queued.batch = this.queued.batch.filter((b) => b.seq !== entry.seq);
  }

  /** Writes what has been recorded, after the write in flight if there is one. */
  private flush(): Promise<void> {
    const q = this.queued;
    if (!q) return Promise.resolve();
    this.queued = undefined;
    const write = this.statusWrites.then(async () => {
      const status = await this.session.store.setTaskStatuses(q.batch.map((b) => b.t));
      if (status.version >= this.status.version) this.status = status;
      // A task recorded again since this batch was taken keeps its newer entry until that is written.
      for (const b of q.batch) if (this.local.get(b.t.taskId)?.seq === b.seq) this.local.delete(b.t.taskId);
    });
    write.then(
      () => q.settle(),
      (e: unknown) => {
        // Still current entries go back into the queue: the next flush tries them again, so an
        // outcome is never only in memory while the file says otherwise.
        const current = q.batch.filter((b) => this.local.get(b.t.taskId)?.seq === b.seq);
        if (current.length > 0) this.queue().batch.unshift(...current);
        this.emit({ type: 'warning', message: `status.json not written (${e instanceof Error ? e.message : String(e)}); will retry` });
        q.settle(e ?? new Error('status write failed'));
      },
    );
    this.statusWrites = write.catch(() => undefined);
    return q.written;
  }

  private ready(limit: number): ReadyTask[] {
    const { plan, graph } = this.session.analysis;
    // A task that used up its retries stays failed; its files must not keep conflicting tasks waiting.
    const view: Plan =
      this.failedForGood.size === 0 ? plan : { ...plan, tasks: plan.tasks.map((t) => (this.failedForGood.has(t.id) ? { ...t, files: [] } : t)) };
    return readyTasks(view, graph, (id) => this.statusOf(id), limit).filter((r) => !this.running.has(r.id) && !this.failedForGood.has(r.id));
  }

  private taskOf(id: string): Task {
    const { plan, graph } = this.session.analysis;
    return plan.tasks[graph.indexById.get(id)!]!;
  }

  private argvFor(task: Task): string[] {
    if (task.kind === 'verify' && task.command) return splitCommand(task.command);
    const vars = {
      id: task.id,
      title: task.title,
      body: task.body,
      plan: this.session.path,
      worktree: this.opts.worktree!,
      estimate: String(task.estimateMinutes ?? 60),
      prompt: buildPrompt(task, this.session.path),
    };
    return expandTemplate(this.opts.agent ?? DEFAULT_AGENT, vars);
  }

  /** Starts the agent of a task already recorded in_progress. */
  private launch(task: Task, attempt: number): void {
    let argv: string[];
    try {
      argv = this.argvFor(task);
      if (argv.length === 0) throw new Error('empty command');
    } catch (err) {
      this.finish(task, attempt, Date.now(), `cannot build the command: ${(err as Error).message}`)
        .then(({ written }) => {
          this.wake();
          return written;
        })
        .catch((e) => this.emit({ type: 'warning', message: `${task.id}: ${(e as Error).message}` }));
      return;
    }
    const logPath = path.join(this.logsDir, `${task.id}.log`);
    const fd = openSync(logPath, 'a');
    writeSync(fd, `=== ${task.id} attempt ${attempt} at ${new Date().toISOString()}: ${JSON.stringify(argv)}\n`);
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      // Own process group: a terminal's Ctrl-C reaches only us (we decide about the grace period),
      // and a kill reaches whatever the agent started.
      child = spawn(argv[0]!, argv.slice(1), {
        shell: false,
        cwd: this.opts.worktree!,
        stdio: ['ignore', fd, fd],
        detached: true,
        env: agentEnv(this.opts.env ?? process.env, { PLAN_TASK_ID: task.id, PLAN_FILE: this.session.path, PLAN_ORCHESTRATOR_PID: String(process.pid) }),
      });
    } finally {
      closeSync(fd);
    }
    const r: Running = { task, child, startedAt, attempt, timedOut: false, stopped: false, killTimers: [] };
    this.running.set(task.id, r);
    this.emit({ type: 'started', id: task.id, title: task.title, attempt });
    if (this.opts.timeoutMs !== undefined) {
      const t = setTimeout(() => this.kill(r, 'timeout'), this.opts.timeoutMs);
      r.killTimers.push(t);
    }
    let spawnError: string | undefined;
    child.on('error', (err) => {
      spawnError = `cannot start ${argv[0]}: ${err.message}`;
    });
    child.on('close', (code, signal) => {
      for (const t of r.killTimers) clearTimeout(t);
      void this.onExit(r, code, signal, spawnError, logPath).catch((err) => {
        this.emit({ type: 'warning', message: `${task.id}: ${(err as Error).message}` });
        this.running.delete(task.id);
        this.wake();
      });
    });
  }

  private kill(r: Running, why: 'timeout' | 'stopped'): void {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return;
    if (why === 'timeout') r.timedOut = true;
    else r.stopped = true;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-r.child.pid!, sig);
      } catch {
        r.child.kill(sig);
      }
    };
    signalGroup('SIGTERM');
    r.killTimers.push(setTimeout(() => signalGroup('SIGKILL'), KILL_AFTER_MS));
  }

  private async onExit(r: Running, code: number | null, signal: NodeJS.Signals | null, spawnError: string | undefined, logPath: string): Promise<void> {
    const { task } = r;
    let written: Promise<void>;
    if (r.stopped) {
      written = this.record({ taskId: task.id, status: 'pending', agent: this.agentName, note: `stopped by ${this.stopping ?? 'a stop'}; killed after the grace period` });
      this.emit({ type: 'reset', id: task.id, reason: 'killed after the grace period' });
    } else {
      let error: string | undefined;
      if (r.timedOut) error = `timed out after ${Math.round((this.opts.timeoutMs ?? 0) / 100) / 10} s`;
      else if (spawnError) error = spawnError;
      else if (code !== 0) error = code === null ? `killed by ${signal}` : `exit code ${code} (see ${logPath})`;
      ({ written } = await this.finish(task, r.attempt, r.startedAt, error));
    }
    // The outcome is recorded (not necessarily written yet): dependents can be scheduled now, and
    // their in_progress goes out in the same write as this task's result.
    this.running.delete(task.id);
    void this.writeRegistry();
    this.wake();
    await written;
  }

  /** Commits (when asked) and records the task's outcome; `written` resolves when it is on disk. */
  private async finish(task: Task, attempt: number, startedAt: number, error: string | undefined): Promise<{ written: Promise<void> }> {
    if (error === undefined && this.opts.commit && this.git && task.kind === 'task') {
      try {
        const sha = await this.commitWithRetry(`task ${task.id}: ${task.title}`);
        const written = this.record({ taskId: task.id, status: 'completed', agent: this.agentName, note: sha ? `commit ${sha.slice(0, 12)}` : 'nothing to commit' });
        this.completed.push(task.id);
        this.emit({ type: 'completed', id: task.id, ms: Date.now() - startedAt, ...(sha ? { commit: sha } : {}) });
        return { written };
      } catch (err) {
        error = `commit failed: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    if (error === undefined) {
      const written = this.record({ taskId: task.id, status: 'completed', agent: this.agentName });
      this.completed.push(task.id);
      this.emit({ type: 'completed', id: task.id, ms: Date.now() - startedAt });
      return { written };
    }
    const retrying = attempt <= this.opts.retries && !this.stopping;
    const written = this.record({ taskId: task.id, status: 'failed', agent: this.agentName, error, note: `attempt ${attempt}` });
    if (!retrying) this.failedForGood.add(task.id);
    this.emit({ type: 'failed', id: task.id, error, retrying });
    return { written };
  }

  /**
   * A commit that fails for a passing reason (a lock held a little too long on a loaded machine) is
   * tried again here: failing the task instead would run the agent, and its work, a second time.
   */
  private async commitWithRetry(message: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.commit(message);
      } catch (err) {
        if (attempt >= 3 || this.stopping) throw err;
        await new Promise((r) => setTimeout(r, 250 * attempt * attempt));
      }
    }
  }

  /**
   * Serial commit queue. `add -A` sees the whole working tree, so a task finishing while another is
   * mid-write may carry part of the other's changes; the other then gets an empty commit so that
   * every task still has its `task <id>: …` entry in the log.
   */
  private commit(message: string): Promise<string> {
    const git = this.git!;
    const next = commitChain.then(async () => {
      const dir = path.join(await git.commonDir(), 'plan-orchestrator');
      await mkdir(dir, { recursive: true });
      const release = await lockfile.lock(path.join(dir, 'commit'), lockOptions(path.join(dir, 'commit.lock')));
      try {
        // Not GitService.commitAll: its "anything staged?" check also sees unstaged edits (status.json
        // rewritten by a concurrent task between add and status) and then `git commit` fails.
        // Every command here prints something (--branch, --verbose after a change, no --quiet):
        // simple-git waits an extra 50 ms after a git process that wrote nothing, which would be most
        // of a commit's time.
        return await git.run(async (g) => {
          const changed = (await g.raw(['status', '--porcelain', '--branch', '--untracked-files=all'])).split('\n').some((l) => l.length > 2 && !l.startsWith('##'));
          if (changed) await g.raw(['add', '-A', '--verbose']);
          const body = changed ? '' : '\n\nNo changes of its own: the task changed nothing, or its changes went into a commit made at the same time.';
          await g.raw(['commit', '--allow-empty', '-m', `${message}${body}`]);
          return (await g.raw(['rev-parse', 'HEAD'])).trim();
        });
      } finally {
        await release().catch(() => undefined);
      }
    });
    commitChain = next.catch(() => undefined);
    return next;
  }

  /** Tasks left in_progress by a dead orchestrator on this host go back to pending; a live holder's stay. */
  /** Returns the status to start from: the one openPlan read, or the one written by the resets. */
  private async resumeCrashed(): Promise<StatusFile> {
    const host = os.hostname();
    const resets: Array<StatusTransition & { reason: string }> = [];
    for (const [id, rec] of Object.entries(this.session.status.tasks)) {
      if (rec.status !== 'in_progress' || !rec.holder || rec.holder.host !== host) continue;
      if (rec.holder.pid !== process.pid && isPidAlive(rec.holder.pid)) continue;
      const reason = `holder pid ${rec.holder.pid} is gone`;
      resets.push({ taskId: id, status: 'pending', agent: this.agentName, note: `${reason}; reset for resume`, reason });
    }
    if (resets.length === 0) return this.session.status;
    const written = await this.session.store.setTaskStatuses(resets);
    for (const r of resets) this.emit({ type: 'reset', id: r.taskId, reason: r.reason });
    return written;
  }

  private async acquireRegistry(): Promise<void> {
    const dir = await registryDir(this.git, this.session.statusPath);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, `${registryName(this.session.path)}.json`);
    const release = await lockfile.lock(file, lockOptions(`${file}.lock`));
    try {
      let previous: RegistryEntry | undefined;
      try {
        previous = JSON.parse(await readFile(file, 'utf8')) as RegistryEntry;
      } catch {
        previous = undefined;
      }
      if (previous) {
        const sameHost = previous.host === os.hostname();
        if (!sameHost || isPidAlive(previous.pid)) {
          throw new PlanError(
            'status-locked',
            `an orchestrator is already running ${this.session.relPath} (pid ${previous.pid} on ${previous.host}, since ${previous.startedAt}); stop it first, or remove ${file} if it is gone`,
          );
        }
        // Its agents may have outlived it; their results would never be collected and they would race a rerun.
        for (const c of previous.children ?? []) {
          try {
            process.kill(-c.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      }
      this.registryFile = file;
      await this.writeRegistry();
    } finally {
      await release().catch(() => undefined);
    }
  }

  /**
   * Launches and exits rewrite the record; at most one write runs and one waits, and the waiting one
   * takes the state of the moment it starts, so a burst of launches costs two writes, not one each.
   */
  private writeRegistry(): Promise<void> {
    if (!this.registryFile) return Promise.resolve();
    if (this.registryPending) return this.registryPending;
    const file = this.registryFile;
    const write = this.registryWrites.then(async () => {
      this.registryPending = undefined;
      const entry: RegistryEntry = {
        plan: this.session.path,
        worktree: this.opts.worktree!,
        pid: process.pid,
        host: os.hostname(),
        startedAt: this.startedAt,
        children: [...this.running.values()].map((r) => ({ id: r.task.id, pid: r.child.pid! })).filter((c) => c.pid !== undefined),
      };
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(entry, null, 2)}\n`);
      await rename(tmp, file);
    });
    this.registryPending = write;
    this.registryWrites = write.catch(() => undefined);
    return write;
  }

  private async releaseRegistry(): Promise<void> {
    if (!this.registryFile) return;
    await this.registryWrites;
    await rm(this.registryFile, { force: true });
    this.registryFile = undefined;
  }
}
