/**
 * The coordinator's side of the queue: submits task jobs, follows their progress (live activity from
 * the workers), settles each job's promise when it completes or fails, and cancels a running job by
 * publishing its ID (the worker running it stops the agent; the job does not retry). A waiting job is
 * simply removed.
 */
import { Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { CANCEL_CHANNEL, QUEUE_NAME, connectionOf, parseRedisUrl, type TaskJobData, type TaskJobProgress, type TaskJobResult } from './protocol.js';

export type RemoteOutcome = { kind: 'completed'; result: TaskJobResult } | { kind: 'failed'; reason: string };

export interface RemoteJob {
  id: string;
  done: Promise<RemoteOutcome>;
  cancel(): Promise<void>;
}

export interface RemoteTasksOptions {
  /** Attempts BullMQ makes when a job's processor throws (a worker crash is a stall, not an attempt). */
  attempts?: number;
  onProgress?: (jobId: string, progress: TaskJobProgress) => void;
}

export class RemoteTasks {
  private readonly queue: Queue<TaskJobData, TaskJobResult>;
  private readonly events: QueueEvents;
  private readonly publisher: Redis;
  /** Everyone waiting for a job: a duplicate submit waits for the same job as the first. */
  private readonly waiting = new Map<string, Array<(o: RemoteOutcome) => void>>();

  private constructor(url: string, private readonly opts: RemoteTasksOptions) {
    const connection = connectionOf(parseRedisUrl(url));
    this.queue = new Queue<TaskJobData, TaskJobResult>(QUEUE_NAME, { connection });
    this.events = new QueueEvents(QUEUE_NAME, { connection });
    this.publisher = new Redis(connection);
    this.events.on('completed', ({ jobId, returnvalue }) => {
      try {
        const result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as TaskJobResult;
        this.settle(jobId, { kind: 'completed', result });
      } catch {
        this.settle(jobId, { kind: 'failed', reason: 'the worker sent a result that is not JSON' });
      }
    });
    this.events.on('failed', ({ jobId, failedReason }) => {
      // A job that will be retried fails again later; only the last failure settles it.
      void this.queue.getJob(jobId).then((job) => {
        if (job && (job.attemptsMade ?? 0) < (job.opts.attempts ?? 1) && !/cancelled/.test(failedReason)) return;
        this.settle(jobId, { kind: 'failed', reason: failedReason || 'the job failed' });
      }, (e: unknown) => this.settle(jobId, { kind: 'failed', reason: `the queue cannot be read: ${(e as Error).message}` }));
    });
    this.events.on('progress', ({ jobId, data }) => {
      if (typeof data === 'object' && data !== null) this.opts.onProgress?.(jobId, data as unknown as TaskJobProgress);
    });
  }

  static async connect(url: string, opts: RemoteTasksOptions = {}): Promise<RemoteTasks> {
    const r = new RemoteTasks(url, opts);
    await Promise.all([r.queue.waitUntilReady(), r.events.waitUntilReady()]);
    return r;
  }

  private settle(jobId: string, outcome: RemoteOutcome): void {
    const waiters = this.waiting.get(jobId);
    if (!waiters) return;
    this.waiting.delete(jobId);
    for (const resolve of waiters) resolve(outcome);
  }

  /**
   * Queues one task attempt. The ID is `<plan>:<task>:<attempt>`: a second submit of the same ID finds
   * the job already there and waits for it, so a duplicate is run (and integrated) once.
   */
  async submit(jobId: string, data: TaskJobData): Promise<RemoteJob> {
    const done = this.waitFor(jobId);
    const job = await this.queue.add('task', data, {
      jobId,
      attempts: this.opts.attempts ?? 1,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 24 * 3600 },
      removeOnFail: { age: 24 * 3600 },
    });
    // Finished before we listened (a duplicate of a job that already ran): take its state now.
    await this.settleFinished(job);
    return { id: jobId, done, cancel: () => this.cancel(jobId) };
  }

  /**
   * A job queued earlier (by a coordinator that was restarted), followed like one of ours: undefined
   * when the queue no longer has it.
   */
  async follow(jobId: string): Promise<RemoteJob | undefined> {
    const done = this.waitFor(jobId);
    const job: Job<TaskJobData, TaskJobResult> | undefined = await this.queue.getJob(jobId);
    if (!job) {
      this.settle(jobId, { kind: 'failed', reason: 'not on the queue' });
      return undefined;
    }
    await this.settleFinished(job);
    return { id: jobId, done, cancel: () => this.cancel(jobId) };
  }

  private waitFor(jobId: string): Promise<RemoteOutcome> {
    return new Promise<RemoteOutcome>((resolve) => this.waiting.set(jobId, [...(this.waiting.get(jobId) ?? []), resolve]));
  }

  /** Settles a job that is already over; one that waits or runs is settled by its event. */
  private async settleFinished(job: Job<TaskJobData, TaskJobResult>): Promise<void> {
    const jobId = job.id!;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') {
      const now = await this.queue.getJob(jobId);
      if (state === 'completed') this.settle(jobId, { kind: 'completed', result: now!.returnvalue });
      else this.settle(jobId, { kind: 'failed', reason: now?.failedReason ?? 'the job failed' });
    } else if (state === 'unknown') {
      this.settle(jobId, { kind: 'failed', reason: 'the job left the queue' });
    }
  }

  async cancel(jobId: string): Promise<void> {
    const job: Job | undefined = await this.queue.getJob(jobId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'waiting' || state === 'delayed' || state === 'prioritized') {
      await job.remove().catch(() => undefined);
      this.settle(jobId, { kind: 'failed', reason: 'cancelled before it started' });
      return;
    }
    await this.publisher.publish(CANCEL_CHANNEL, jobId);
  }

  async close(): Promise<void> {
    await Promise.all([this.events.close(), this.queue.close(), this.publisher.quit().catch(() => undefined)]);
  }
}
