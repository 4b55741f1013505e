/**
 * `planctl worker`: takes task jobs from the queue and runs each with the agent adapter in a worktree
 * of this host's clone (one per job running at once, reused: jobWorktrees.ts), reset to the commit the
 * coordinator pinned; commits the task's files there and sends the commit back in the job's result (a
 * thin pack; a large one is pushed to the job's ref). BullMQ renews the job's lock while the agent runs
 * (bullmqTransport.ts); a worker that dies leaves its jobs stalled, and BullMQ hands them to another.
 * A worker that starts removes the job worktrees and git lock files a dead worker left in its cache.
 *
 * A cancel (published by the coordinator) stops the job's agent process group; the job then fails
 * without a retry.
 */
import os from 'node:os';
import path from 'node:path';
import { mkdir, readFile } from 'node:fs/promises';
import { packCommit, unpackCommit } from '../../git/commitPacks.js';
import { FALLBACK_IDENTITY, type GitService } from '../../git/gitService.js';
import { HostClone } from '../../git/hostClone.js';
import { JobWorktrees, type JobWorktree } from '../../git/jobWorktrees.js';
import { AgentProcess, agentEnv } from '../agentProcess.js';
import { adapterFor, requiresChanges, type AgentEvent } from '../agents/index.js';
import { attributeChanges, changedSince, DEFAULT_SECRET_PATTERNS, snapshotWorktree } from '../taskChanges.js';
import type { ConsumedJob, ConsumedOutcome, JobConsumer } from './bullmqTransport.js';
import { openTransport, parseRedisUrl, type TaskJobData, type TaskJobProgress, type TaskJobResult } from './protocol.js';

/** Jobs between two runs of git's maintenance on the clone (commits and fetches do not start it there). */
const MAINTAIN_EVERY = 100;

export interface PlanWorkerOptions {
  queueUrl: string;
  repoUrl: string;
  concurrency: number;
  /** This host's clone and the jobs' worktrees and logs. */
  cacheDir: string;
  /** Shown to the coordinator with each job (default: the host name and pid). */
  host?: string;
  env?: NodeJS.ProcessEnv;
  /** BullMQ lock and stall detection; short in tests so that a killed worker's job moves on quickly. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Push every task's commit to its ref on the remote, even one small enough to go back in the job's result. */
  pushCommits?: boolean;
  log?: (line: string) => void;
}

export class PlanWorker {
  private consumer: JobConsumer | undefined;
  private clone: HostClone | undefined;
  private worktrees: JobWorktrees | undefined;
  /** The fallback identity when git has none on this host (checked once). */
  private identity: { name: string; email: string } | null | undefined;
  private readonly running = new Map<string, AgentProcess>();
  /** Jobs being processed, until their worktree is released. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private finished = 0;
  private readonly cancelled = new Set<string>();
  private readonly host: string;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: PlanWorkerOptions) {
    this.host = opts.host ?? `${os.hostname()}#${process.pid}`;
    this.log = opts.log ?? (() => undefined);
  }

  async start(): Promise<void> {
    const target = parseRedisUrl(this.opts.queueUrl, this.opts.env);
    await mkdir(this.opts.cacheDir, { recursive: true });
    const { clone, removedLocks } = await HostClone.open(this.opts.repoUrl, path.join(this.opts.cacheDir, 'clone.git'));
    this.clone = clone;
    if (removedLocks.length > 0) this.log(`removed lock files a stopped git left in the clone: ${removedLocks.join(', ')}`);
    const { worktrees, removed } = await JobWorktrees.open(clone, path.join(this.opts.cacheDir, 'jobs'));
    this.worktrees = worktrees;
    if (removed.length > 0) this.log(`removed ${removed.length} job worktree(s) a stopped worker left: ${removed.join(', ')}`);
    const { JobConsumer } = await openTransport(target);
    this.consumer = await JobConsumer.start(target, (job) => this.process(job), {
      concurrency: this.opts.concurrency,
      ...(this.opts.lockDurationMs ? { lockDurationMs: this.opts.lockDurationMs } : {}),
      ...(this.opts.stalledIntervalMs ? { stalledIntervalMs: this.opts.stalledIntervalMs } : {}),
      onCancel: (jobId) => {
        const proc = this.running.get(jobId);
        if (!proc) return;
        this.cancelled.add(jobId);
        this.log(`${jobId}: cancelled by the coordinator; stopping its agent`);
        proc.stop('stopped');
      },
      log: this.log,
    });
    this.log(`worker ${this.host}: ${this.opts.concurrency} at once, clone ${this.clone.dir}`);
  }

  private async process(job: ConsumedJob): Promise<ConsumedOutcome> {
    const running = this.runJob(job);
    this.inFlight.add(running);
    try {
      const result = await running;
      return result ? { result } : { cancelled: true };
    } finally {
      this.inFlight.delete(running);
    }
  }

  /** The job's result; undefined when the coordinator cancelled it. */
  private async runJob(job: ConsumedJob): Promise<TaskJobResult | undefined> {
    const d = job.data;
    const jobId = job.id;
    this.log(`${jobId}: ${d.title} (at ${d.base.slice(0, 12)})${d.resolve ? `, resolving the conflicts of ${d.resolve.commit.slice(0, 12)}` : ''}`);
    const jobWorktree = await this.worktrees!.acquire(d.base, d.branch, d.baseChain);
    try {
      const { dir: wt, git } = jobWorktree;
      const conflicted = d.resolve ? await this.applyConflicting(git, d.resolve) : [];
      let base: TaskJobResult;
      if (d.resolve && conflicted.length === 0) {
        // The plan branch moved again since the coordinator saw the conflict, and now it applies.
        this.log(`${jobId}: ${d.resolve.commit.slice(0, 12)} applies to ${d.base.slice(0, 12)} as it is; no agent needed`);
        base = { host: this.host, ok: false, files: [], leftOut: [], processMs: 0 };
      } else {
        const ran = await this.runAgent(job, wt);
        if (ran === undefined) return undefined;
        if ('failed' in ran) return ran.failed;
        base = ran.base;
        const left = await markersLeft(wt, conflicted);
        if (left.length > 0) return { ...base, reason: `the agent left conflict markers in ${left.join(', ')}` };
      }
      return await this.commitWork(jobId, d, jobWorktree, base);
    } finally {
      this.worktrees!.release(jobWorktree);
      if (++this.finished % MAINTAIN_EVERY === 0) void this.clone!.maintain().catch((e: unknown) => this.log(`git maintenance of the clone: ${(e as Error).message}`));
    }
  }

  /**
   * A resolve job: the task's conflicting commit applied to the new tip without committing, conflict
   * markers and all (no cherry-pick state is left: the worker commits as for any task). Returns the
   * files in conflict; none when it applied cleanly after all.
   */
  private async applyConflicting(git: GitService, r: NonNullable<TaskJobData['resolve']>): Promise<string[]> {
    await unpackCommit(this.clone!.dir, Buffer.from(r.pack, 'base64'), r.commit);
    try {
      await git.run((g) => g.raw(['cherry-pick', '--no-commit', r.commit]));
      return [];
    } catch (e) {
      const files = await git.conflictedFiles();
      if (files.length === 0) throw e;
      return files;
    }
  }

  /** Runs the job's agent in the worktree: the result so far, its failure, or undefined when the coordinator cancelled it. */
  private async runAgent(job: ConsumedJob, wt: string): Promise<{ base: TaskJobResult } | { failed: TaskJobResult } | undefined> {
    const d = job.data;
    const jobId = job.id;
    const adapter = adapterFor(d.settings.kind);
    const launch = adapter.launch({
      taskId: d.taskId,
      title: d.title,
      body: d.body,
      estimateMinutes: d.estimateMinutes,
      planPath: path.join(wt, d.outputDir, '..'),
      worktree: wt,
      // The coordinator left the worktree to the worker: the agent works in this one.
      prompt: d.prompt.replaceAll('{{worktree}}', wt),
      allowedTools: d.allowedTools,
      settings: d.settings,
    });
    const logsDir = path.join(this.opts.cacheDir, 'logs');
    await mkdir(logsDir, { recursive: true });
    let progress: TaskJobProgress = { host: this.host };
    let lastSent = 0;
    const report = (force = false) => {
      if (!force && Date.now() - lastSent < 500) return;
      lastSent = Date.now();
      void job.progress(progress).catch(() => undefined);
    };
    report(true);
    const minutes = (m: number) => (m > 0 ? m * 60_000 : undefined);
    const proc = new AgentProcess({
      launch,
      cwd: wt,
      env: agentEnv(this.opts.env ?? process.env, { ...launch.env, PLAN_TASK_ID: d.taskId }),
      logPath: path.join(logsDir, `${jobId.replace(/[^\w.-]/g, '_')}.log`),
      logHeader: `=== ${jobId} on ${this.host}: ${JSON.stringify(launch.argv)}`,
      reader: adapter.reader(wt),
      onEvent: (e: AgentEvent) => {
        if (e.type === 'activity') progress = { ...progress, activity: e.text, turn: e.turn };
        else if (e.type === 'cost') progress = { ...progress, costUsd: e.costUsd };
        else if (e.type === 'session') progress = { ...progress, sessionId: e.sessionId };
        else return;
        report(e.type !== 'activity');
      },
      ...(minutes(d.settings.timeoutMinutes) ? { timeoutMs: minutes(d.settings.timeoutMinutes)! } : {}),
      ...(minutes(d.settings.idleTimeoutMinutes) ? { idleMs: minutes(d.settings.idleTimeoutMinutes)! } : {}),
    });
    this.running.set(jobId, proc);
    const res = await proc.done.finally(() => this.running.delete(jobId));
    if (this.cancelled.delete(jobId)) return undefined;
    const base: TaskJobResult = {
      host: this.host,
      ok: false,
      files: [],
      leftOut: [],
      processMs: res.processMs,
      ...(progress.costUsd !== undefined ? { costUsd: progress.costUsd } : {}),
      ...(progress.sessionId ? { sessionId: progress.sessionId } : {}),
    };
    const result = [...res.events].reverse().find((e) => e.type === 'result');
    if (result?.type === 'result' && result.durationMs !== undefined) base.agentMs = result.durationMs;
    if (res.stoppedFor === 'timeout') return { failed: { ...base, reason: `timed out after ${d.settings.timeoutMinutes} min` } };
    if (res.stoppedFor === 'idle') return { failed: { ...base, reason: `no output for ${d.settings.idleTimeoutMinutes} min; the agent was stopped` } };
    if (res.spawnError) return { failed: { ...base, reason: res.spawnError } };
    const verdict = adapter.verdict(res.exit, res.events);
    if (!verdict.ok) return { failed: { ...base, reason: verdict.reason, ...(verdict.denials ? { denials: verdict.denials } : {}) } };
    return { base };
  }

  /** Commits what the job changed and sends the commit back (or pushes it); `base` is the result so far. */
  private async commitWork(jobId: string, d: TaskJobData, { dir: wt, git }: JobWorktree, base: TaskJobResult): Promise<TaskJobResult> {
    // The worktree is the task's alone and held nothing else when the job began: everything changed in
    // it is the task's work, but for secrets and the orchestrator's own files.
    const after = await snapshotWorktree(git, wt);
    const changes = attributeChanges(changedSince(new Map(), after), {
      preexisting: new Set(),
      claimedByOthers: new Set(),
      orchestratorDirs: [d.outputDir],
      taskDirs: [d.findingsDir],
      secretPatterns: d.secretPatterns ?? DEFAULT_SECRET_PATTERNS,
    });
    if (changes.commit.length === 0 && requiresChanges(d.settings)) {
      return { ...base, leftOut: changes.leftOut, reason: 'no changes made: the agent ended without changing a file or writing findings' };
    }
    if (this.identity === undefined) this.identity = (await git.hasIdentity()) ? null : FALLBACK_IDENTITY;
    const identity = d.identity ?? this.identity ?? undefined;
    const commit = changes.commit.length === 0 ? undefined : await git.commitPaths(changes.commit, d.message, { changed: true, ...(identity ? { identity } : {}) });
    const done = { ...base, ok: true, files: changes.commit, leftOut: changes.leftOut };
    if (!commit) {
      this.log(`${jobId}: done, no changes`);
      return done;
    }
    // Back in the result when it is small (commitPacks.ts), else on the remote.
    const pack = this.opts.pushCommits ? undefined : await packCommit(wt, commit, d.base);
    if (pack) {
      this.log(`${jobId}: done, ${commit.slice(0, 12)} sent back (${pack.length} bytes)`);
      return { ...done, commit, pack: pack.toString('base64') };
    }
    await this.clone!.push(wt, d.ref);
    this.log(`${jobId}: done, ${commit.slice(0, 12)} pushed to ${d.ref}`);
    return { ...done, commit };
  }

  /** Takes no new jobs and lets the running ones finish (their results still reach the coordinator). */
  async close(): Promise<void> {
    await this.consumer?.close();
    // The consumer waits for running jobs while Redis answers; when it is gone, the close returns
    // with agents still running (in their own process groups): stop them and let their jobs end before
    // their worktrees are removed.
    for (const proc of this.running.values()) proc.stop('stopped');
    await Promise.allSettled([...this.inFlight]);
    await this.worktrees?.close().catch((e: unknown) => this.log(`cannot remove the job worktrees: ${(e as Error).message}`));
    await this.clone?.maintain().catch((e: unknown) => this.log(`git maintenance of the clone: ${(e as Error).message}`));
  }
}

/** The files of `files` that still hold a conflict marker line (`<<<<<<< ` or `>>>>>>> `). */
async function markersLeft(worktree: string, files: readonly string[]): Promise<string[]> {
  const left: string[] = [];
  for (const f of files) {
    const text = await readFile(path.join(worktree, f), 'utf8').catch(() => '');
    if (/^(<{7}|>{7})( |$)/m.test(text)) left.push(f);
  }
  return left;
}
