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
  /**
   * How long Redis may stay unreachable before the jobs waited for are given up (default 60 s): BullMQ
   * reconnects for ever, which carries a run through a Redis restart but would wait for ever on a Redis
   * that is gone.
   */
  outageMs?: number;
  /** Redis stopped answering (`up` false) or answers again. */
  onConnection?: (up: boolean, where: string) => void;
}

/** How long a ping of the watchdog may take before Redis counts as gone. */
const PING_TIMEOUT_MS = 5000;

/** How long closing the connections may take before they are dropped (Redis may be gone). */
const CLOSE_TIMEOUT_MS = 3000;

/** Resolves to `value` or, after `ms`, to `late`. */
function within<T, L>(value: Promise<T>, ms: number, late: L): Promise<T | L> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<L>((resolve) => (timer = setTimeout(() => resolve(late), ms)));
  return Promise.race([value, deadline]).finally(() => clearTimeout(timer));
}

/** How long a first connection to Redis may take before the run is refused (an unreachable host would otherwise be retried for ever). */
const PROBE_TIMEOUT_MS = 5000;

/**
 * Connects once to Redis and pings it, without retries: BullMQ's own connections retry for ever (what
 * a run needs once it is going, through a Redis restart), so a wrong address or password would hang a
 * start instead of failing it. Rejects with what went wrong, in words.
 */
export async function probeRedis(target: RedisTarget): Promise<void> {
  const where = `${target.host}:${target.port}`;
  const probe = new Redis({ ...target, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: PROBE_TIMEOUT_MS, enableOfflineQueue: false });
  // The reason a connection closed (a refused AUTH) comes as an 'error' event; the call only says "closed".
  let reason = '';
  probe.on('error', (e: Error) => (reason ||= e.message));
  try {
    // connectTimeout ends with the TCP connection; a peer that then never answers is timed out here.
    const attempt = probe
      .connect()
      .then(() => probe.ping())
      .then(() => true);
    // Rejected after the deadline (by the disconnect below) is no one's business.
    attempt.catch(() => undefined);
    const answered = await within(attempt, PROBE_TIMEOUT_MS, false);
    if (!answered) throw new Error('ETIMEDOUT');
  } catch (e) {
    const said = `${reason} ${(e as Error).message}`.trim();
    if (/NOAUTH|Authentication required/i.test(said)) throw new Error(`Redis at ${where} needs a password: set PLAN_REDIS_PASSWORD (or put it in the URL, redis://:<password>@${where})`);
    if (/WRONGPASS|invalid password|invalid username-password/i.test(said)) throw new Error(`Redis at ${where} refused the password (PLAN_REDIS_PASSWORD or the URL's)`);
    if (/ECONNREFUSED/.test(said)) throw new Error(`nothing answers at ${where}: is redis-server running there? (docs/distributed.md has a one-line start)`);
    if (/ETIMEDOUT|timed? ?out/i.test(said)) throw new Error(`Redis at ${where} did not answer within ${PROBE_TIMEOUT_MS / 1000} s`);
    throw new Error(`cannot use Redis at ${where}: ${said}`);
  } finally {
    probe.disconnect();
  }
}

export class RemoteTasks {
  private readonly queue: Queue<TaskJobData, TaskJobResult>;
  private readonly events: QueueEvents;
  private readonly publisher: Redis;
  /** Everyone waiting for a job: a duplicate submit waits for the same job as the first. */
  private readonly waiting = new Map<string, Array<(o: RemoteOutcome) => void>>();
  /** Since when Redis has not answered (undefined while it does). */
  private downSince: number | undefined;
  private readonly watchdog: NodeJS.Timeout;
  private closing = false;
  /** Jobs the watchdog gave up on (Redis was gone too long). */
  private readonly givenUp = new Set<string>();

  private constructor(target: RedisTarget, private readonly opts: RemoteTasksOptions) {
    const connection = connectionOf(target);
    this.queue = new Queue<TaskJobData, TaskJobResult>(QUEUE_NAME, { connection });
    this.events = new QueueEvents(QUEUE_NAME, { connection });
    this.publisher = new Redis(connection);
    // BullMQ reports its reconnects as errors; the watchdog decides when a gone Redis ends the wait.
    this.queue.on('error', () => undefined);
    this.events.on('error', () => undefined);
    this.publisher.on('error', () => undefined);
    const where = `${target.host}:${target.port}`;
    this.publisher.on('close', () => {
      if (this.downSince !== undefined || this.closing) return;
      this.downSince = Date.now();
      opts.onConnection?.(false, where);
    });
    this.publisher.on('ready', () => {
      if (this.downSince === undefined) return;
      this.downSince = undefined;
      opts.onConnection?.(true, where);
    });
    const outageMs = opts.outageMs ?? 60_000;
    // A Redis that goes silent (a host powered off, a cut network) closes no connection: a ping that
    // gets no answer within PING_TIMEOUT_MS counts as gone too, and one that does as back.
    let pinging = false;
    const ping = () => {
      if (pinging || this.closing) return;
      pinging = true;
      void within(this.publisher.ping().then(() => true, () => false), PING_TIMEOUT_MS, false).then((answered) => {
        pinging = false;
        if (this.closing) return;
        if (!answered && this.downSince === undefined) {
          this.downSince = Date.now();
          opts.onConnection?.(false, where);
        } else if (answered && this.downSince !== undefined) {
          this.downSince = undefined;
          opts.onConnection?.(true, where);
        }
      });
    };
    this.watchdog = setInterval(() => {
      ping();
      if (this.downSince === undefined || Date.now() - this.downSince < outageMs) return;
      const reason = `Redis at ${target.host}:${target.port} has not answered for ${Math.round((Date.now() - this.downSince) / 1000)} s`;
      for (const jobId of [...this.waiting.keys()]) {
        this.givenUp.add(jobId);
        this.settle(jobId, { kind: 'failed', reason });
      }
    }, Math.min(1000, outageMs));
    this.watchdog.unref();
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
    const added = this.queue
      .add('task', data, {
        jobId,
        attempts: this.opts.attempts ?? 1,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 24 * 3600 },
      })
      // Finished before we listened (a duplicate of a job that already ran): take its state now.
      .then((job) => this.settleFinished(job));
    // While Redis is gone the add waits; the watchdog settles `done` meanwhile. A job added after its
    // task was given up is removed, so that no worker runs it.
    added.then(
      () => {
        if (this.givenUp.has(jobId) && !this.closing) void this.queue.remove(jobId).catch(() => undefined);
      },
      () => this.settle(jobId, { kind: 'failed', reason: 'the job could not be queued' }),
    );
    await Promise.race([added.catch(() => undefined), done]);
    return { id: jobId, done, cancel: () => this.cancel(jobId) };
  }

  /**
   * A job queued earlier (by a coordinator that was restarted), followed like one of ours: undefined
   * when the queue no longer has it.
   */
  async follow(jobId: string): Promise<RemoteJob | undefined> {
    const done = this.waitFor(jobId);
    const job: Job<TaskJobData, TaskJobResult> | undefined = await Promise.race([this.queue.getJob(jobId).catch(() => undefined), done.then(() => undefined)]);
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
    this.closing = true;
    clearInterval(this.watchdog);
    const closed = Promise.all([this.events.close(), this.queue.close(), this.publisher.quit().catch(() => undefined)]).then(() => true);
    if (await within(closed, CLOSE_TIMEOUT_MS, false)) return;
    // Redis is gone: drop the connections rather than wait for it.
    this.publisher.disconnect();
    await within(Promise.allSettled([this.events.disconnect(), this.queue.disconnect()]), CLOSE_TIMEOUT_MS, undefined);
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
    // Said once when Redis goes and once when it is back, not at every reconnect attempt.
    let down = false;
    subscriber.on('error', (e: Error) => {
      if (down) return;
      down = true;
      opts.log(`Redis at ${target.host}:${target.port} does not answer (${e.message}); waiting for it`);
    });
    subscriber.on('ready', () => {
      if (!down) return;
      down = false;
      opts.log(`Redis at ${target.host}:${target.port} answers again`);
    });
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
    // Connection errors are the subscriber's to report (above); the rest are BullMQ's own.
    worker.on('error', (e) => {
      if (!/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed/.test(e.message)) opts.log(`queue: ${e.message}`);
    });
    await worker.waitUntilReady();
    return new JobConsumer(worker, subscriber);
  }

  /**
   * Takes no new jobs and waits for the running ones (their results still reach the coordinator). When
   * Redis is gone, BullMQ would wait for ever to record a finished job (and its lock timers with it):
   * the connections are dropped instead, which fails what waits on them and lets the close end.
   */
  async close(): Promise<void> {
    const redisUp = () => this.subscriber.status === 'ready';
    const closed = (redisUp() ? this.worker.close() : this.worker.close(true)).then(
      () => true,
      () => true,
    );
    while (!(await within(closed, CLOSE_TIMEOUT_MS, false))) {
      // While Redis answers, a job still running is waited for (its agent is finishing).
      if (redisUp()) continue;
      await within(this.worker.disconnect().catch(() => undefined), CLOSE_TIMEOUT_MS, undefined);
      await within(closed, CLOSE_TIMEOUT_MS, false);
      break;
    }
    this.subscriber.disconnect();
  }
}
