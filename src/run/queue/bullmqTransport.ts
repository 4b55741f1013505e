/**
 * Everything that talks to BullMQ and Redis, for both sides of the queue, and nothing else: the
 * coordinator's RemoteTasks and the worker's JobConsumer. BullMQ and its dependencies are about 1.2 MB
 * of JavaScript; planctl loads this module only for `orchestrate --queue` and `worker` (the bundle
 * points the import at a sibling bundle, dist/planctl-queue.mjs: scripts/bundle-options.mjs), so that
 * every other planctl run, `planctl complete` by agents above all, starts without parsing it. Its
 * errors are plain Errors: a class of ours made in the sibling bundle would not be the main bundle's.
 *
 * RemoteTasks submits task jobs, follows their progress (live activity from the workers), settles
 * each job's promise when it completes or fails, and cancels a running job by publishing its ID (the
 * worker running it stops the agent; the job does not retry). A waiting job is simply removed.
 */
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { CANCEL_CHANNEL, QUEUE_NAME, connectionOf, type RedisTarget, type TaskJobData, type TaskJobProgress, type TaskJobResult } from './protocol.js';

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
  /** A running job whose worker stopped renewing its lock (died, or lost Redis): BullMQ queues it again. */
  onStalled?: (jobId: string) => void;
}

export class RemoteTasks {
  private readonly queue: Queue<TaskJobData, TaskJobResult>;
  private readonly events: QueueEvents;
  private readonly publisher: Redis;
  /** Everyone waiting for a job: a duplicate submit waits for the same job as the first. */
  private readonly waiting = new Map<string, Array<(o: RemoteOutcome) => void>>();

  private constructor(target: RedisTarget, private readonly opts: RemoteTasksOptions) {
    const connection = connectionOf(target);
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
    this.events.on('stalled', ({ jobId }) => this.opts.onStalled?.(jobId));
    this.events.on('progress', ({ jobId, data }) => {
      if (typeof data === 'object' && data !== null) this.opts.onProgress?.(jobId, data as unknown as TaskJobProgress);
    });
  }

  static async connect(target: RedisTarget, opts: RemoteTasksOptions = {}): Promise<RemoteTasks> {
    const r = new RemoteTasks(target, opts);
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

/** One job as the worker's processor sees it. */
export interface ConsumedJob {
  id: string;
  data: TaskJobData;
  progress(p: TaskJobProgress): Promise<void>;
}

/** What the processor answers: a result, or that the coordinator cancelled the job (then it is not retried). */
export type ConsumedOutcome = { result: TaskJobResult } | { cancelled: true };

export interface JobConsumerOptions {
  concurrency: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** A job ID the coordinator asks to stop (the worker stops its agent if it runs it). */
  onCancel: (jobId: string) => void;
  log: (line: string) => void;
}

/**
 * The worker's side: takes task jobs `concurrency` at a time (BullMQ renews each job's lock while it
 * runs; a worker that dies leaves its jobs stalled and BullMQ hands them to another) and listens for
 * the coordinator's cancels.
 */
export class JobConsumer {
  private constructor(
    private readonly worker: Worker<TaskJobData, TaskJobResult>,
    private readonly subscriber: Redis,
  ) {}

  static async start(target: RedisTarget, process: (job: ConsumedJob) => Promise<ConsumedOutcome>, opts: JobConsumerOptions): Promise<JobConsumer> {
    const subscriber = new Redis(connectionOf(target));
    await subscriber.subscribe(CANCEL_CHANNEL);
    subscriber.on('message', (_channel: string, jobId: string) => opts.onCancel(jobId));
    const worker = new Worker<TaskJobData, TaskJobResult>(
      QUEUE_NAME,
      async (job: Job<TaskJobData, TaskJobResult>) => {
        const outcome = await process({ id: job.id!, data: job.data, progress: (p) => job.updateProgress(p as unknown as object) });
        if ('cancelled' in outcome) throw new UnrecoverableError('cancelled by the coordinator');
        return outcome.result;
      },
      {
        connection: connectionOf(target),
        concurrency: opts.concurrency,
        ...(opts.lockDurationMs ? { lockDuration: opts.lockDurationMs } : {}),
        ...(opts.stalledIntervalMs ? { stalledInterval: opts.stalledIntervalMs } : {}),
      },
    );
    worker.on('error', (e) => opts.log(`queue: ${e.message}`));
    await worker.waitUntilReady();
    return new JobConsumer(worker, subscriber);
  }

  /** Takes no new jobs and waits for the running ones (their results still reach the coordinator). */
  async close(): Promise<void> {
    await this.worker.close();
    await this.subscriber.quit().catch(() => undefined);
  }
}
