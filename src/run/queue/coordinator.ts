/**
 * `planctl orchestrate --queue redis://…`: the orchestrator stays the single writer of the graph,
 * status.json and the plan branch; what it would run locally becomes a job for the workers. For each
 * task attempt: pin a plan branch commit that holds the task's dependencies (pushed if the remote does
 * not have it yet), queue the job, follow its progress, and when it completes apply its commit to the
 * plan branch. A commit that no longer applies (another task changed the same lines meanwhile) is
 * rerun on the new tip; a duplicate delivery of a job is integrated once.
 *
 * Cheap per task because:
 * - a task whose dependencies were all in the last pushed commit starts from that one (its worker
 *   need not fetch); one that needs newer commits gets them with its job, as packs, while the plan
 *   branch is pushed in the background (baseFor);
 * - a worker sends a task's commit back in the job's result (a thin pack, git/commitPacks.ts) rather
 *   than pushing it for this side to fetch; commits that finish together are applied with one
 *   cherry-pick (those too large to send are fetched together, in one fetch).
 *
 * A coordinator restarted mid-run is told which attempt a task had when the last one died: a job of
 * that attempt still waiting or running is followed instead of queued again, and one that finished
 * has its commit integrated (unless the plan branch already has it: `cherry-pick -x` names it).
 */
import type { GitService } from '../../git/gitService.js';
import { assertReported, changedPaths, fetchTaskRefs, integratedFrom, maintainRepository, pickTaskCommit, pickTaskCommits, pushCommit, type PickOutcome } from '../../git/taskCommits.js';
import { commitsPresent, INLINE_PACK_MAX_BYTES, packCommit, unpackCommit, type CommitChain } from '../../git/commitPacks.js';
import { GitError } from '../../git/errors.js';
import type { RemoteJob, RemoteTasks } from './bullmqTransport.js';
import { jobIdOf, openTransport, parseRedisUrl, taskRefOf, type TaskJobData, type TaskJobProgress, type TaskJobResult } from './protocol.js';

/** How often a task whose commit conflicts is rerun on the new tip before it fails. */
const MAX_RERUNS = 3;

export type QueuedOutcome =
  | { ok: true; result: TaskJobResult; commit?: string; adopted?: string }
  | { ok: false; reason: string; result?: TaskJobResult; adopted?: string };

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
  /** A commit that conflicts: run the task again on the new tip (default), or have an agent resolve the conflicts there. */
  onConflict?: 'rerun' | 'agent';
  /** How long Redis may be unreachable before the jobs waited for fail (bullmqTransport.ts; default 60 s). */
  outageMs?: number;
}

export interface QueuedRunOptions {
  /** The tasks whose commits the job's base must hold (its dependencies). */
  needs?: readonly string[];
  /** The attempt the task had when an earlier coordinator died: its job is followed rather than queued again. */
  earlierAttempt?: number;
}

type Followed = { kind: 'done'; outcome: QueuedOutcome } | { kind: 'lost'; reason: string } | { kind: 'conflict'; files: string[]; result: TaskJobResult };

interface PendingPick {
  taskId: string;
  ref: string;
  result: TaskJobResult & { commit: string };
  resolve: (o: PickOutcome) => void;
  reject: (e: unknown) => void;
}

export class QueueCoordinator {
  private readonly byJob = new Map<string, string>();
  /** The host each job last reported from (named when the job stalls). */
  private readonly hostOf = new Map<string, string>();
  private readonly current = new Map<string, RemoteJob>();
  /** Each job's integration, once: a duplicate delivery waits for the first one's. */
  private readonly integrations = new Map<string, Promise<PickOutcome>>();
  /** Commits applied to the plan branch by this run, counted; and when each task's was. */
  private applied = 0;
  private readonly appliedAt = new Map<string, number>();
  /** The commit the remote's plan branch has, with how many of this run's commits it holds. */
  private published: { commit: string; applied: number } | undefined;
  private publishing: Promise<void> | undefined;
  /** Plan branch commits sent to the workers with their jobs since `published` (packs, each against the one before). */
  private links: Array<{ commit: string; applied: number; pack: string; bytes: number }> = [];
  /**
   * The plan branch's tip as this run last applied to it: read from HEAD only before the first pick.
   * HEAD itself moves commit by commit during a batch's cherry-pick, and back if the batch is aborted.
   */
  private tip: string | undefined;
  private linking: Promise<void> | undefined;
  private readonly picks: PendingPick[] = [];
  private picking = false;

  private constructor(
    private readonly opts: QueueCoordinatorOptions,
    private readonly tasks: RemoteTasks,
  ) {}

  static async start(opts: QueueCoordinatorOptions): Promise<QueueCoordinator> {
    const target = parseRedisUrl(opts.url);
    const { RemoteTasks } = await openTransport(target);
    let coordinator: QueueCoordinator | undefined;
    const outageMs = opts.outageMs ?? 60_000;
    const tasks = await RemoteTasks.connect(target, {
      outageMs,
      onConnection: (up, where) =>
        opts.warn(up ? `Redis at ${where} answers again` : `Redis at ${where} does not answer; the jobs under way fail if it does not come back within ${Math.round(outageMs / 1000)} s (queue.outage_seconds)`),
      onProgress: (jobId, progress) => {
        const taskId = coordinator?.byJob.get(jobId);
        if (!taskId) return;
        coordinator!.hostOf.set(jobId, progress.host);
        opts.onProgress(taskId, progress);
      },
      onStalled: (jobId) => {
        const taskId = coordinator?.byJob.get(jobId);
        if (!taskId) return;
        const host = coordinator!.hostOf.get(jobId) ?? 'a worker';
        opts.warn(`${taskId}: ${host} stopped answering while it ran ${jobId}; the job goes to the next free worker`);
        opts.onProgress(taskId, { host, activity: `stalled on ${host}; waiting for another worker` });
      },
    });
    coordinator = new QueueCoordinator(opts, tasks);
    return coordinator;
  }

  /**
   * Runs one task on the workers until its commit is on the plan branch (or it failed). `job` is the
   * job's data without what this class decides (base, ref, attempt).
   */
  async run(taskId: string, attempt: number, job: Omit<TaskJobData, 'base' | 'ref' | 'attempt' | 'plan' | 'taskId' | 'branch'>, opts: QueuedRunOptions = {}): Promise<QueuedOutcome> {
    let first = 0;
    let resolve: TaskJobData['resolve'];
    if (opts.earlierAttempt !== undefined) {
      const earlier = await this.earlierJob(taskId, opts.earlierAttempt);
      if (earlier) {
        this.opts.warn(`${taskId}: following ${earlier.id}, queued by an earlier run of this plan`);
        const followed = await this.follow(taskId, earlier.id, earlier.ref, earlier.handle, true);
        if (followed.kind === 'done') return { ...followed.outcome, adopted: earlier.id };
        // Its commit conflicts with what was integrated since: as for our own.
        if (followed.kind === 'conflict') {
          resolve = await this.afterConflict(taskId, followed);
          first = 1;
        }
      }
    }
    for (let rerun = first; ; rerun++) {
      // A rerun after a conflict is a job of its own: the first one's ID is taken.
      const label = rerun === 0 ? String(attempt) : `${attempt}-rerun${rerun}`;
      const jobId = jobIdOf(this.opts.plan, taskId, label);
      const ref = taskRefOf(this.opts.plan, taskId, label);
      // A rerun must start from a tip that holds the commit it conflicted with.
      const { base, baseChain } = await this.baseFor(rerun > 0 ? undefined : (opts.needs ?? []));
      this.byJob.set(jobId, taskId);
      const data: TaskJobData = {
        ...job,
        ...(resolve ? { resolve, prompt: resolvePrompt(resolve.files, job.prompt) } : {}),
        plan: this.opts.plan,
        taskId,
        attempt,
        base,
        branch: this.opts.branch,
        ...(baseChain ? { baseChain } : {}),
        ref,
        ...(this.opts.identity ? { identity: this.opts.identity } : {}),
      };
      const handle = await this.tasks.submit(jobId, data);
      const followed = await this.follow(taskId, jobId, ref, handle, false);
      if (followed.kind === 'done') return followed.outcome;
      if (followed.kind === 'lost') return { ok: false, reason: `on the queue: ${followed.reason}` };
      if (rerun + 1 >= MAX_RERUNS) return { ok: false, reason: `its commit conflicts with the plan branch in ${followed.files.join(', ')} after ${MAX_RERUNS} runs`, result: followed.result };
      resolve = await this.afterConflict(taskId, followed);
    }
  }

  /**
   * Says what happens to a task whose commit conflicts; with `on_conflict: agent`, the resolve job's
   * data: the commit as a pack against its parent (which the new tip holds), and the files in conflict.
   */
  private async afterConflict(taskId: string, c: { files: string[]; result: TaskJobResult }): Promise<TaskJobData['resolve']> {
    const commit = c.result.commit;
    if (this.opts.onConflict !== 'agent' || !commit) {
      this.opts.warn(`${taskId}: its commit conflicts with the plan branch in ${c.files.join(', ')}; running it again on the new tip`);
      return undefined;
    }
    const parent = (await this.opts.git.read(['rev-parse', '--verify', '--end-of-options', `${commit}^{commit}^`])).trim();
    const pack = await packCommit(this.opts.git.topLevel, commit, parent);
    // Too large to travel with the job (the worker would refuse it): the task runs again instead.
    if (!pack) {
      this.opts.warn(`${taskId}: its commit conflicts with the plan branch in ${c.files.join(', ')} and is too large to send to a resolving agent (over ${INLINE_PACK_MAX_BYTES} bytes); running it again on the new tip`);
      return undefined;
    }
    this.opts.warn(`${taskId}: its commit conflicts with the plan branch in ${c.files.join(', ')}; an agent resolves the conflicts on the new tip`);
    return { commit, pack: pack.toString('base64'), files: c.files };
  }

  /** Waits for a job and integrates its commit. `earlier`: queued by an earlier coordinator, whose run may have integrated it already. */
  private async follow(taskId: string, jobId: string, ref: string, handle: RemoteJob, earlier: boolean): Promise<Followed> {
    this.byJob.set(jobId, taskId);
    this.current.set(taskId, handle);
    const outcome = await handle.done.finally(() => this.current.delete(taskId));
    if (outcome.kind === 'failed') return { kind: 'lost', reason: outcome.reason };
    const result = outcome.result;
    if (!result.ok) return { kind: 'done', outcome: { ok: false, reason: result.reason ?? 'the agent failed', result } };
    if (!result.commit) return { kind: 'done', outcome: { ok: true, result } };
    const commit = result.commit;
    if (earlier) {
      const there = await integratedFrom(this.opts.git, commit);
      if (there) return { kind: 'done', outcome: { ok: true, result, commit: there } };
    }
    // One delivery of a job is integrated; a second one (after a stall) waits for it and shares it.
    let applying = this.integrations.get(jobId);
    if (!applying) {
      applying = new Promise<PickOutcome>((resolve, reject) => this.picks.push({ taskId, ref, result: { ...result, commit }, resolve, reject }));
      this.integrations.set(jobId, applying);
      void this.pickAll();
    }
    const applied = await applying;
    if ('commit' in applied) return { kind: 'done', outcome: { ok: true, result, commit: applied.commit } };
    return { kind: 'conflict', files: applied.conflict, result };
  }

  /**
   * Applies the finished commits; those that finished while the previous ones were applied are
   * fetched, checked and cherry-picked together.
   */
  private async pickAll(): Promise<void> {
    if (this.picking) return;
    this.picking = true;
    try {
      while (this.picks.length > 0) {
        const taken = this.picks.splice(0);
        let batch: PendingPick[];
        try {
          batch = await this.receive(taken);
        } catch (e) {
          for (const p of taken) p.reject(e);
          continue;
        }
        if (batch.length === 0) continue;
        const identity = this.opts.identity ? { identity: this.opts.identity } : {};
        const applicable: PendingPick[] = [];
        try {
          const touched = await changedPaths(this.opts.git, batch.map((p) => p.result.commit));
          for (const p of batch) {
            try {
              assertReported(p.result.commit, touched.get(p.result.commit) ?? [], p.result.files);
              applicable.push(p);
            } catch (e) {
              p.reject(e);
            }
          }
        } catch (e) {
          for (const p of batch) p.reject(e);
          continue;
        }
        // All in one cherry-pick; one by one only when one of them conflicts (to tell which).
        const together = applicable.length > 1 ? await pickTaskCommits(this.opts.git, applicable.map((p) => p.result.commit), identity).catch(() => undefined) : undefined;
        for (const [i, p] of applicable.entries()) {
          try {
            const outcome = together ? { commit: together[i]! } : await pickTaskCommit(this.opts.git, p.result.commit, identity);
            if ('commit' in outcome) {
              // The tip and the count move together: a base is never a commit a batch's abort undoes.
              this.tip = outcome.commit;
              this.appliedAt.set(p.taskId, ++this.applied);
            }
            p.resolve(outcome);
          } catch (e) {
            p.reject(e);
          }
        }
      }
    } finally {
      this.picking = false;
    }
  }

  /**
   * Brings the batch's commits into this repository and returns the picks whose commit is here: those
   * sent back in their results are unpacked (side by side: they write objects only), the others
   * fetched from their refs in one fetch. A pick whose commit cannot be had is rejected alone.
   */
  private async receive(batch: PendingPick[]): Promise<PendingPick[]> {
    const dir = this.opts.git.topLevel;
    const sent = batch.filter((p) => p.result.pack !== undefined);
    const pushed = batch.filter((p) => p.result.pack === undefined);
    const failed = new Set<PendingPick>();
    const fail = (p: PendingPick, e: unknown) => {
      failed.add(p);
      p.reject(e);
    };
    await Promise.all([
      fetchTaskRefs(this.opts.git, this.opts.remote, [...new Set(pushed.map((p) => p.ref))]).catch((e: unknown) => pushed.forEach((p) => fail(p, e))),
      ...sent.map((p) => unpackCommit(dir, Buffer.from(p.result.pack!, 'base64'), p.result.commit).catch((e: unknown) => fail(p, e))),
    ]);
    const unpacked = sent.filter((p) => !failed.has(p));
    const present = unpacked.length > 0 ? await commitsPresent(dir, unpacked.map((p) => p.result.commit)) : new Set<string>();
    for (const p of unpacked) {
      if (!present.has(p.result.commit)) fail(p, new GitError('git-failed', `the result of ${p.taskId} names commit ${p.result.commit.slice(0, 12)}, which its pack does not hold`));
    }
    return batch.filter((p) => !failed.has(p));
  }

  /**
   * The commit a job starts from: the last one pushed when it holds every task in `needs` (undefined:
   * everything applied so far), else the plan branch's tip, sent along with the job as a chain of packs
   * from the last pushed commit while it is pushed in the background. The workers then start without
   * waiting for a push and a fetch, which with a real remote are two network round trips between one
   * phase of a plan and the next. The first base is pushed before any job, so that a chain always
   * starts from a commit the remote has; a chain past INLINE_PACK_MAX_BYTES waits for its push instead.
   */
  private async baseFor(needs: readonly string[] | undefined): Promise<{ base: string; baseChain?: CommitChain }> {
    const wanted = needs === undefined ? this.applied : Math.max(0, ...needs.map((id) => this.appliedAt.get(id) ?? 0));
    for (;;) {
      const published = this.published;
      if (published && published.applied >= wanted) return { base: published.commit };
      const links = this.unpushedLinks();
      const last = links.at(-1);
      if (published && last && last.applied >= wanted) return { base: last.commit, baseChain: { from: published.commit, links: links.map(({ commit, pack }) => ({ commit, pack })) } };
      if (!published) await (this.publishing ??= this.publish().finally(() => (this.publishing = undefined)));
      else await (this.linking ??= this.link().finally(() => (this.linking = undefined)));
    }
  }

  private unpushedLinks(): Array<{ commit: string; applied: number; pack: string; bytes: number }> {
    const pushed = this.published?.applied ?? 0;
    return this.links.filter((l) => l.applied > pushed);
  }

  /** The plan branch's tip as the next link of the chain, and its push started in the background. */
  private async link(): Promise<void> {
    const { applied, tip } = await this.tipNow();
    const links = this.unpushedLinks();
    const last = links.at(-1) ?? this.published!;
    if (tip === last.commit) {
      // Commits counted after the last link was made were in it already.
      last.applied = Math.max(last.applied, applied);
      return;
    }
    const room = INLINE_PACK_MAX_BYTES - links.reduce((n, l) => n + l.bytes, 0);
    const pack = room > 0 ? await packCommit(this.opts.git.topLevel, tip, last.commit, room) : undefined;
    if (!pack) {
      await this.pushInBackground();
      return;
    }
    this.links = [...links, { commit: tip, applied, pack: pack.toString('base64'), bytes: pack.length }];
    void this.pushInBackground().catch((e: unknown) => this.opts.warn(`the plan branch cannot be pushed to ${this.opts.remote} yet (${(e as Error).message}); jobs carry its new commits meanwhile`));
  }

  /** Pushes the tip after any push under way; resolves when it is on the remote. */
  private pushInBackground(): Promise<void> {
    const next = (this.publishing ?? Promise.resolve()).catch(() => undefined).then(() => this.publish());
    this.publishing = next;
    void next.catch(() => undefined).finally(() => {
      if (this.publishing === next) this.publishing = undefined;
    });
    return next;
  }

  /** The tip and how many of this run's commits it holds, taken together. */
  private async tipNow(): Promise<{ applied: number; tip: string }> {
    if (this.tip === undefined) {
      const head = (await this.opts.git.read(['rev-parse', 'HEAD'])).trim();
      // A pick that landed meanwhile set it.
      this.tip ??= head;
    }
    return { applied: this.applied, tip: this.tip };
  }

  /** Pushes the plan branch's tip to the remote (when it moved since the last push). */
  private async publish(): Promise<void> {
    const { applied, tip } = await this.tipNow();
    if (tip !== this.published?.commit) await pushCommit(this.opts.git, this.opts.remote, tip, this.opts.branch);
    if (!this.published || applied >= this.published.applied) this.published = { commit: tip, applied };
  }

  /** The newest job an earlier coordinator queued for this attempt (reruns included), if the queue has it. */
  private async earlierJob(taskId: string, attempt: number): Promise<{ id: string; ref: string; handle: RemoteJob } | undefined> {
    for (let rerun = MAX_RERUNS - 1; rerun >= 0; rerun--) {
      const label = rerun === 0 ? String(attempt) : `${attempt}-rerun${rerun}`;
      const id = jobIdOf(this.opts.plan, taskId, label);
      const handle = await this.tasks.follow(id);
      if (handle) return { id, ref: taskRefOf(this.opts.plan, taskId, label), handle };
    }
    return undefined;
  }

  /** Stops the task's job: removed if it waits, its agent stopped if it runs. */
  async cancel(taskId: string): Promise<void> {
    await this.current.get(taskId)?.cancel();
  }

  /** Pushes what was integrated since the last push (the remote's plan branch ends up complete), then disconnects. */
  async close(): Promise<void> {
    try {
      // A background push that failed was reported; this one is the last chance.
      await this.publishing?.catch(() => undefined);
      if (this.applied > (this.published?.applied ?? 0)) await this.publish();
    } catch (e) {
      this.opts.warn(`the plan branch could not be pushed to ${this.opts.remote}: ${(e as Error).message}`);
    }
    try {
      if (this.applied > 0) await maintainRepository(this.opts.git);
    } catch (e) {
      this.opts.warn(`git maintenance after the run: ${(e as Error).message}`);
    } finally {
      await this.tasks.close();
    }
  }
}

/** The prompt of a resolve job: what happened and what to do, then the task's own prompt. */
export function resolvePrompt(files: readonly string[], taskPrompt: string): string {
  return [
    "This task already ran, on another worker, but while it ran other tasks of the plan changed the same lines.",
    `Its changes have been applied to the plan branch as it is now, in {{worktree}}, and conflict there in: ${files.join(', ')}.`,
    'Those files hold git conflict markers (<<<<<<<, =======, >>>>>>>): the plan branch\'s lines come first, this task\'s second.',
    "Resolve every conflict so that the other tasks' changes and this task's intent both hold, remove the markers, and change nothing else.",
    'The task, as it was given:',
    '',
    taskPrompt,
  ].join('\n');
}
