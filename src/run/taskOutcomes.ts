/**
 * What becomes of a task attempt when it ends, and the run's tally of it: the task's own changes are
 * told from the other running tasks' and the user's, committed when asked, the outcome is recorded in
 * status.json and announced. The tally (completed, failed for good, awaiting approval, money spent)
 * is what the scheduler reads to decide what may run next and what the run's summary reports.
 *
 * What an agent did is decided by its adapter (agents/) from the agent's structured output, never
 * from its exit code alone: `claude -p` exits 0 after being denied the tool it needed. A task is
 * completed only when its agent succeeded, was denied nothing and (for real agents) changed a file;
 * a failed attempt's files stay uncommitted until the same task succeeds.
 */
import path from 'node:path';
import type { PlanSession } from '../core/session.js';
import type { RunPatch } from '../core/status.js';
import type { GitService } from '../git/gitService.js';
import type { AgentProcessResult } from './agentProcess.js';
import { requiresChanges, type AgentAdapter, type AgentSettings, type AgentVerdict } from './agents/index.js';
import type { FileGateResult } from './fileGates.js';
import type { OrchestratorEvent } from './orchestratorEvents.js';
import type { QueuedOutcome } from './queue/coordinator.js';
import type { RunningTask } from './runningTask.js';
import type { StatusBatch } from './statusBatch.js';
import { changesOfTask, type TaskChanges } from './taskChanges.js';
import { commitMessage, commitTask } from './taskCommit.js';

/** What outcomes need from the run they belong to; fixed once the run has started. */
export interface OutcomeContext {
  session: PlanSession;
  batch: StatusBatch;
  git: GitService | undefined;
  settings: AgentSettings;
  worktree: string;
  findingsDir: string;
  secretPatterns: readonly string[];
  /** Commit each completed task's changes (false with --no-commit). */
  commit: boolean;
  /** Extra attempts after a failure within this run. */
  retries: number;
  identity: { name: string; email: string } | undefined;
  /** Who status.json says made each transition. */
  agentName: string;
  /** Files modified before the run began: the user's, never committed by a task. */
  preexisting: ReadonlySet<string>;
  /** The attempts in flight: what they edit is not the ending task's. */
  running: ReadonlyMap<string, RunningTask>;
  stopping(): NodeJS.Signals | undefined;
  emit(event: OrchestratorEvent): void;
}

/** What a commit made elsewhere brings: a task run on a worker comes with its commit already on the plan branch. */
interface MadeCommit {
  commit?: string;
  note?: string;
}

export class TaskOutcomes {
  readonly completed: string[] = [];
  readonly failedForGood = new Set<string>();
  /** Denied a tool: waiting for `planctl approve`. Also in failedForGood. */
  readonly awaitingApproval = new Set<string>();
  /** Files a failed attempt left behind, by task: only that task's later success commits them. */
  private readonly leftovers = new Map<string, string>();

  /**
   * @param spentUsd what finished attempts have cost before this run (from status.json); this run's
   *   attempts add to it as they end.
   */
  constructor(
    private readonly ctx: OutcomeContext,
    public spentUsd: number,
  ) {}

  /** A local agent (or gate command) exited: stopped by the run, or judged by its adapter. */
  async agentExited(r: RunningTask, res: AgentProcessResult, adapter: AgentAdapter): Promise<{ written: Promise<void> }> {
    const run: RunPatch = { processMs: res.processMs };
    const result = [...res.events].reverse().find((e) => e.type === 'result');
    if (result?.type === 'result' && result.durationMs !== undefined) run.agentMs = result.durationMs;
    if (r.stopped || res.stoppedFor === 'stopped') return { written: this.recordStopped(r, run, 'killed after the grace period') };
    const { settings } = this.ctx;
    let verdict: AgentVerdict;
    if (res.stoppedFor === 'timeout') verdict = { ok: false, reason: `timed out after ${formatMinutes(settings.timeoutMinutes)}` };
    else if (res.stoppedFor === 'idle') verdict = { ok: false, reason: `no output for ${formatMinutes(settings.idleTimeoutMinutes)}; the agent was stopped` };
    else if (res.spawnError) verdict = { ok: false, reason: res.spawnError };
    else verdict = adapter.verdict(res.exit, res.events);
    return this.finish(r, verdict, run);
  }

  /** A queued task's job ended: cancelled by the run, or done on a worker with its commit (if any) applied here. */
  async jobEnded(r: RunningTask, outcome: QueuedOutcome): Promise<{ written: Promise<void> }> {
    const run: RunPatch = { ...(outcome.result?.processMs !== undefined ? { processMs: outcome.result.processMs } : {}), ...(outcome.result?.agentMs !== undefined ? { agentMs: outcome.result.agentMs } : {}) };
    if (outcome.result?.costUsd !== undefined) r.costUsd = outcome.result.costUsd;
    if (r.stopped) return { written: this.recordStopped(r, run, 'its job was cancelled') };
    if (outcome.ok) {
      const note = `${outcome.commit ? `commit ${outcome.commit.slice(0, 12)} from ${outcome.result.host}` : `no changes (on ${outcome.result.host})`}${outcome.adopted ? `; job ${outcome.adopted} of an earlier run` : ''}`;
      return this.finish(r, { ok: true }, run, { ...(outcome.commit ? { commit: outcome.commit } : {}), note });
    }
    return this.finish(r, { ok: false, reason: outcome.reason, ...(outcome.result?.denials ? { denials: outcome.result.denials } : {}) }, run);
  }

  /** A task stopped by a stop of the run is pending again. */
  private recordStopped(r: RunningTask, run: RunPatch, why: string): Promise<void> {
    const { batch, agentName } = this.ctx;
    const written = batch.record({ taskId: r.task.id, status: 'pending', agent: agentName, note: `stopped by ${this.ctx.stopping() ?? 'a stop'}; ${why}`, run: { ...run, ...this.costPatch(r), activity: 'stopped' } });
    this.ctx.emit({ type: 'reset', id: r.task.id, reason: why });
    return written;
  }

  private costPatch(r: RunningTask): RunPatch {
    const before = this.ctx.batch.status.tasks[r.task.id]?.run?.totalCostUsd ?? 0;
    return r.costUsd > 0 ? { costUsd: r.costUsd, totalCostUsd: Math.round((before + r.costUsd) * 1e6) / 1e6 } : {};
  }

  /**
   * Checks the task's changes, commits them (when asked) and records the outcome; `written` resolves
   * when on disk. A task run on a worker comes with its commit already on the plan branch (`made`).
   */
  async finish(r: RunningTask, verdict: AgentVerdict, run: RunPatch, made: MadeCommit = {}): Promise<{ written: Promise<void> }> {
    const { task, attempt } = r;
    const { batch, git, agentName } = this.ctx;
    Object.assign(run, this.costPatch(r));
    this.spentUsd += r.costUsd;
    let error = verdict.ok ? undefined : verdict.reason;
    let commit = made.commit;
    let note = made.note;
    if (error === undefined && task.kind === 'task' && git && r.before) {
      try {
        const changes = await this.taskChanges(r);
        if (changes.leftOut.length > 0) {
          this.ctx.emit({ type: 'warning', message: `${task.id}: left uncommitted: ${changes.leftOut.map((l) => `${l.path} (${LEFT_OUT_WORDS[l.why]})`).join(', ')}` });
        }
        if (changes.commit.length === 0 && requiresChanges(this.ctx.settings)) error = 'no changes made: the agent ended without changing a file or writing findings';
        else if (this.ctx.commit) {
          // A task with no files of its own still gets its `task <id>` entry in the log.
          const message = changes.commit.length > 0 ? commitMessage(task) : `${commitMessage(task)}\n\nNo changes of its own: the task changed no file, or its files went into a commit made at the same time.`;
          commit = await commitTask(git, changes.commit, message, { ...(this.ctx.identity ? { identity: this.ctx.identity } : {}), stopping: () => this.ctx.stopping() !== undefined });
          note = commit ? `commit ${commit.slice(0, 12)}` : 'nothing to commit';
        }
      } catch (err) {
        error = `commit failed: ${(err as Error).message.split('\n')[0]}`;
      }
    }
    if (error === undefined) {
      const written = batch.record({ taskId: task.id, status: 'completed', agent: agentName, ...(note ? { note } : {}), run: { ...run, activity: 'done', ...(commit ? { commit } : {}) } });
      this.completed.push(task.id);
      this.ctx.emit({ type: 'completed', id: task.id, ms: Date.now() - r.startedAt, ...(commit ? { commit } : {}), ...(r.costUsd ? { costUsd: r.costUsd } : {}) });
      return { written };
    }
    if (task.kind === 'task' && git && r.before) {
      const left = await this.taskChanges(r).catch(() => undefined);
      for (const p of left?.commit ?? []) this.leftovers.set(p, task.id);
      if (left?.commit.length) this.ctx.emit({ type: 'warning', message: `${task.id}: its failed attempt left ${left.commit.join(', ')} uncommitted` });
    }
    const denials = verdict.ok ? undefined : verdict.denials;
    // A denied tool would be denied again: the task waits for the user instead of a blind retry.
    const retrying = !denials?.length && attempt <= this.ctx.retries && !this.ctx.stopping();
    const written = batch.record({
      taskId: task.id,
      status: 'failed',
      agent: agentName,
      error,
      note: `attempt ${attempt}`,
      run: { ...run, activity: denials?.length ? 'needs approval' : 'failed', ...(denials?.length ? { needsApproval: denials } : {}) },
    });
    if (!retrying) this.failedForGood.add(task.id);
    if (denials?.length) {
      this.awaitingApproval.add(task.id);
      this.ctx.emit({ type: 'needs-approval', id: task.id, denials });
    }
    this.ctx.emit({ type: 'failed', id: task.id, error, retrying });
    return { written };
  }

  /** The task's own changes since it started; the other running tasks' and the user's files left out. */
  private taskChanges(r: RunningTask): Promise<TaskChanges> {
    const { worktree } = this.ctx;
    const notMine = new Set(this.ctx.preexisting);
    for (const [p, owner] of this.leftovers) if (owner !== r.task.id) notMine.add(p);
    return changesOfTask({
      git: this.ctx.git!,
      worktree,
      before: r.before!,
      task: r.task,
      others: [...this.ctx.running.values()].filter((o) => o !== r),
      notMine,
      outputDir: path.dirname(this.ctx.session.statusPath),
      findingsDir: this.ctx.findingsDir,
      secretPatterns: this.ctx.secretPatterns,
    });
  }

  /**
   * A file gate, checked now that its phase's tasks are done. One that fails is not retried within
   * the run: nothing would write the file. A later run checks it again.
   */
  fileGateChecked(id: string, res: FileGateResult): void {
    const { batch, agentName } = this.ctx;
    if (res.ok) {
      void batch.record({ taskId: id, status: 'completed', agent: agentName, note: res.note });
      this.completed.push(id);
      this.ctx.emit({ type: 'file-checked', id, note: res.note });
    } else {
      void batch.record({ taskId: id, status: 'failed', agent: agentName, error: res.reason });
      this.failedForGood.add(id);
      this.ctx.emit({ type: 'failed', id, error: res.reason, retrying: false });
    }
  }

  /** A VERIFY item with neither command nor files: completed, and said to be unchecked. */
  unchecked(id: string): void {
    void this.ctx.batch.record({ taskId: id, status: 'completed', agent: this.ctx.agentName, note: 'not checked: the VERIFY item has no command' });
    this.completed.push(id);
    this.ctx.emit({ type: 'unchecked', id });
  }

  /**
   * Tasks approved (planctl approve) while this run waits on them are pending again on disk: they
   * are failed no more and may run. Returns them, so that their attempts can start over.
   */
  takeBackApproved(): string[] {
    const { batch } = this.ctx;
    const taken: string[] = [];
    for (const id of [...this.failedForGood]) {
      if (batch.hasLocal(id) || batch.status.tasks[id]?.status !== 'pending') continue;
      this.failedForGood.delete(id);
      this.awaitingApproval.delete(id);
      taken.push(id);
    }
    return taken;
  }
}

const LEFT_OUT_WORDS = { preexisting: 'modified before the run, or left by a failed attempt', 'other-task': "another running task's file", secret: 'looks like a secret' } as const;

function formatMinutes(m: number): string {
  if (m >= 1) return `${Math.round(m * 10) / 10} min`;
  return `${Math.round(m * 600) / 10} s`;
}
