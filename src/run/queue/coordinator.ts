/**
 * `planctl orchestrate --queue redis://…`: the orchestrator stays the single writer of the graph,
 * status.json and the plan branch; what it would run locally becomes a job for the workers. For each
 * task attempt: push the plan branch (the job pins its tip, which holds every dependency), queue the
 * job, follow its progress, and when it completes apply its commit to the plan branch, one at a time.
 * A commit that no longer applies (another task changed the same lines meanwhile) is rerun on the new
 * tip; a duplicate delivery of a job is integrated once.
 */
import type { GitService } from '../../git/gitService.js';
import { RemoteTasks, type RemoteJob } from './remoteTasks.js';
import { jobIdOf, taskRefOf, type TaskJobData, type TaskJobProgress, type TaskJobResult } from './protocol.js';

/** How often a task whose commit conflicts is rerun on the new tip before it fails. */
const MAX_RERUNS = 3;

export type QueuedOutcome =
  | { ok: true; result: TaskJobResult; commit?: string }
  | { ok: false; reason: string; result?: TaskJobResult };

export interface QueueCoordinatorOptions {
  url: string;
  /** The git remote the workers clone (default origin). */
  remote: string;
  git: GitService;
  branch: string;
  plan: string;
  identity?: { name: string; email: string };
  onProgress: (taskId: string, progress: TaskJobProgress) => void;
  warn: (message: string) => void;
}

export class QueueCoordinator {
  private readonly byJob = new Map<string, string>();
  private readonly current = new Map<string, RemoteJob>();
  /** Each job's integration, once: a duplicate delivery waits for the first one's. */
  private readonly integrations = new Map<string, Promise<{ commit: string } | { conflict: string[] }>>();
  private lastPushed: string | undefined;

  private constructor(
    private readonly opts: QueueCoordinatorOptions,
    private readonly tasks: RemoteTasks,
  ) {}

  static async start(opts: QueueCoordinatorOptions): Promise<QueueCoordinator> {
    let coordinator: QueueCoordinator | undefined;
    const tasks = await RemoteTasks.connect(opts.url, {
      onProgress: (jobId, progress) => {
        const taskId = coordinator?.byJob.get(jobId);
        if (taskId) opts.onProgress(taskId, progress);
      },
    });
    coordinator = new QueueCoordinator(opts, tasks);
    return coordinator;
  }

  /** The plan branch as the workers must see it before a job pins it. */
  private async publishTip(): Promise<string> {
    const tip = (await this.opts.git.read(['rev-parse', 'HEAD'])).trim();
    if (tip !== this.lastPushed) {
      await this.opts.git.pushHead(this.opts.remote, this.opts.branch);
      this.lastPushed = tip;
    }
    return tip;
  }

  /**
   * Runs one task on the workers until its commit is on the plan branch (or it failed). `job` is the
   * job's data without what this class decides (base, ref, attempt).
   */
  async run(taskId: string, attempt: number, job: Omit<TaskJobData, 'base' | 'ref' | 'attempt' | 'plan' | 'taskId'>): Promise<QueuedOutcome> {
    for (let rerun = 0; ; rerun++) {
      // A rerun after a conflict is a job of its own: the first one's ID is taken.
      const label = rerun === 0 ? String(attempt) : `${attempt}-rerun${rerun}`;
      const jobId = jobIdOf(this.opts.plan, taskId, label);
      const ref = taskRefOf(this.opts.plan, taskId, label);
      const base = await this.publishTip();
      this.byJob.set(jobId, taskId);
      const handle = await this.tasks.submit(jobId, { ...job, plan: this.opts.plan, taskId, attempt, base, ref, ...(this.opts.identity ? { identity: this.opts.identity } : {}) });
      this.current.set(taskId, handle);
      const outcome = await handle.done;
      this.current.delete(taskId);
      if (outcome.kind === 'failed') return { ok: false, reason: `on the queue: ${outcome.reason}` };
      const result = outcome.result;
      if (!result.ok) return { ok: false, reason: result.reason ?? 'the agent failed', result };
      if (!result.commit) return { ok: true, result };
      // One delivery of a job is integrated; a second one (after a stall) waits for it and shares it.
      let applying = this.integrations.get(jobId);
      if (!applying) {
        applying = this.opts.git.applyRemoteCommit(this.opts.remote, ref, result.commit, { onlyPaths: result.files, ...(this.opts.identity ? { identity: this.opts.identity } : {}) });
        this.integrations.set(jobId, applying);
      }
      const applied = await applying;
      if ('commit' in applied) {
        await this.publishTip();
        return { ok: true, result, commit: applied.commit };
      }
      if (rerun + 1 >= MAX_RERUNS) return { ok: false, reason: `its commit conflicts with the plan branch in ${applied.conflict.join(', ')} after ${MAX_RERUNS} runs`, result };
      this.opts.warn(`${taskId}: its commit conflicts with the plan branch in ${applied.conflict.join(', ')}; running it again on the new tip`);
    }
  }

  /** Stops the task's job: removed if it waits, its agent stopped if it runs. */
  async cancel(taskId: string): Promise<void> {
    await this.current.get(taskId)?.cancel();
  }

  async close(): Promise<void> {
    await this.tasks.close();
  }
}
