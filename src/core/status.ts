/**
 * The status store: `docs/plan-outputs/<plan-name>/status.json`, shared by every process that works on
 * one plan. Each write happens under a cross-process lock and replaces the file atomically, so concurrent
 * agents lose no update and a reader never sees half a file.
 */
import { constants as fsConstants, existsSync } from 'node:fs';
import { copyFile, lstat, mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile, { type LockOptions } from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import { PlanError } from './source.js';
import { isRecordedProcessAlive, processStartTime } from './processIdentity.js';
import { parseArrayLayout, serializeArrayLayout, type LegacyLayout } from './legacyStatus.js';

const TASK_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'skipped'] as const;
/** Enough to see how a task got where it is, without letting a flapping task grow the file forever. */
const HISTORY_LIMIT = 50;

const taskStatusSchema = z.enum(TASK_STATUSES);

const toolDenialSchema = z.object({ tool: z.string(), input: z.string(), rule: z.string() });

/**
 * What the task's agent did on its latest attempt (and, for cost, on all of them): written by the
 * orchestrator while the agent runs (throttled) and when it ends, read by every view.
 */
const agentRunSchema = z.object({
  kind: z.string().optional(),
  sessionId: z.string().optional(),
  model: z.string().optional(),
  /** The latest action, e.g. `Edit src/cache/lru.ts`. */
  activity: z.string().optional(),
  activityAt: z.string().optional(),
  turn: z.number().int().nonnegative().optional(),
  /** This attempt's cost as the agent reported it. */
  costUsd: z.number().nonnegative().optional(),
  /** Every attempt's cost together. */
  totalCostUsd: z.number().nonnegative().optional(),
  inputTokens: z.number().int().nonnegative().optional(),
  outputTokens: z.number().int().nonnegative().optional(),
  /** Tool calls the agent was denied: the task waits for the user to approve them (`planctl approve`). */
  needsApproval: z.array(toolDenialSchema).optional(),
  /** Set by an approval: the next attempt continues the agent's session instead of starting afresh. */
  resume: z.boolean().optional(),
  /** The task's commit. */
  commit: z.string().optional(),
  /** The task's log, relative to the repository root. */
  log: z.string().optional(),
  /** The agent's own account of its duration (for the orchestrator's overhead benchmark). */
  agentMs: z.number().nonnegative().optional(),
  /** From the agent's spawn to its exit, as the orchestrator saw it. */
  processMs: z.number().nonnegative().optional(),
  /** The worker that runs the task (`planctl worker`, with --queue). */
  host: z.string().optional(),
});

const taskRecordSchema = z.object({
  status: taskStatusSchema,
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
  updatedAt: z.string(),
  attempts: z.number().int().nonnegative(),
  lastError: z.string().optional(),
  holder: z
    .object({
      pid: z.number().int(),
      host: z.string(),
      agent: z.string().optional(),
      /** The holder's kernel start time (see processIdentity.ts), so that a reused PID is not taken for it. */
      startTime: z.string().optional(),
    })
    .optional(),
  history: z.array(z.object({ status: taskStatusSchema, at: z.string(), note: z.string().optional() })),
  run: agentRunSchema.optional(),
});

/** The seeds' array layout, kept for their scripts (legacyStatus.ts); never on disk under this name. */
const legacyLayoutSchema = z.object({
  fields: z.record(z.string(), z.unknown()),
  taskFields: z.record(z.string(), z.record(z.string(), z.unknown())),
  hyphenStatus: z.boolean().optional(),
  fromSeeds: z.boolean().optional(),
});

const statusFileSchema = z.object({
  schemaVersion: z.literal(1),
  plan: z.string(),
  version: z.number().int().nonnegative(),
  updatedAt: z.string(),
  tasks: z.record(z.string(), taskRecordSchema),
  /** Set when the file is in the seeds' array layout: what it keeps for their scripts. */
  legacy: legacyLayoutSchema.optional(),
});

export type TaskStatus = z.infer<typeof taskStatusSchema>;
export type TaskRecord = z.infer<typeof taskRecordSchema>;
export type StatusFile = z.infer<typeof statusFileSchema>;
export type AgentRun = z.infer<typeof agentRunSchema>;
export type ToolDenialRecord = z.infer<typeof toolDenialSchema>;
/** Fields to set on a task's `run`; `null` removes one. */
export type RunPatch = { [K in keyof AgentRun]?: AgentRun[K] | null };

export interface SetTaskStatusOptions {
  error?: string;
  agent?: string;
  note?: string;
  /**
   * The process recorded as the holder of a started task; default this one. planctl passes its parent
   * (the shell or agent that ran it), because planctl itself exits as soon as the task is recorded.
   */
  holderPid?: number;
}

export interface ClaimOptions extends SetTaskStatusOptions {
  /** Take the task over even from a live holder. */
  force?: boolean;
}

export type TaskHolder = NonNullable<TaskRecord['holder']>;

export interface StatusStoreOptions {
  /** proper-lockfile retry policy; tests lower it to see `status-locked` without waiting. */
  lockRetries?: LockOptions['retries'];
}

/** Nearest ancestor holding `.git` (a directory, or a file in worktrees and submodules); else `startDir`. */
export function findRepoRoot(startDir: string): string {
  const start = path.resolve(startDir);
  for (let dir = start; ; ) {
    if (existsSync(path.join(dir, '.git'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return start;
    dir = parent;
  }
}

export function statusPathFor(planPath: string, opts: { root?: string; output?: string } = {}): string {
  const root = opts.root ?? findRepoRoot(path.dirname(path.resolve(planPath)));
  const folder = opts.output ?? path.join('docs', 'plan-outputs', path.basename(planPath, '.md'));
  return path.resolve(root, folder, 'status.json');
}

/** A path as stored in status files and shown to users: relative to the root with `/`, the same on every OS. */
export function relativeToRoot(root: string, file: string): string {
  return path.relative(root, path.resolve(file)).split(path.sep).join('/');
}

/** The store for a plan, at its default location (or its `**Output:**` folder). */
export function statusStoreFor(planPath: string, opts: { root?: string; output?: string } = {}): StatusStore {
  const root = opts.root ?? findRepoRoot(path.dirname(path.resolve(planPath)));
  return new StatusStore(statusPathFor(planPath, { ...opts, root }), relativeToRoot(root, planPath));
}

export function emptyStatus(plan: string): StatusFile {
  return { schemaVersion: 1, plan, version: 0, updatedAt: '', tasks: {} };
}

/** Parses and validates the file; `undefined` when there is none yet. */
export async function readStatusFile(statusPath: string): Promise<StatusFile | undefined> {
  if (!(await refuseSymlink(statusPath))) return undefined;
  let text: string;
  try {
    // O_NOFOLLOW: a link put in place after the check above is refused too (ELOOP), not followed.
    text = await readFile(statusPath, { encoding: 'utf8', flag: fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) });
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    if (errorCode(err) === 'ELOOP') throw symlinkRefused(statusPath);
    throw new PlanError('status-unreadable', `${statusPath} cannot be read (${errorCode(err) ?? String(err)})`, statusPath);
  }
  return parseStatusText(text, statusPath);
}

/**
 * A status file that is a symbolic link is refused: writing it (write-file-atomic resolves links) would
 * replace whatever file the link points to. Returns whether the path exists.
 */
async function refuseSymlink(statusPath: string): Promise<boolean> {
  try {
    if ((await lstat(statusPath)).isSymbolicLink()) throw symlinkRefused(statusPath);
    return true;
  } catch (err) {
    if (err instanceof PlanError) throw err;
    if (errorCode(err) === 'ENOENT') return false;
    throw new PlanError('status-unreadable', `${statusPath} cannot be read (${errorCode(err) ?? String(err)})`, statusPath);
  }
}

export function parseStatusText(text: string, statusPath: string): StatusFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw corrupt(statusPath, (err as Error).message);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw corrupt(statusPath, 'not a JSON object');
  const fields = json as { schemaVersion?: unknown; tasks?: unknown };
  // A file without a schemaVersion is the old tool's (the seeds' status-cli.js); with schemaVersion 1
  // and a tasks array it is one we wrote in their layout. Either way it stays in that layout.
  if (fields.schemaVersion === undefined && !Array.isArray(fields.tasks)) {
    throw corrupt(statusPath, 'no schemaVersion and no tasks list: not a status file this tool knows');
  }
  if (fields.schemaVersion !== undefined && fields.schemaVersion !== 1) {
    throw corrupt(statusPath, `schemaVersion ${JSON.stringify(fields.schemaVersion)} is not one this version of Plan Orchestrator reads (1)`);
  }
  if (Array.isArray(fields.tasks)) {
    let layout;
    try {
      layout = parseArrayLayout(json as Record<string, unknown>, taskRecordSchema as never, fields.schemaVersion === undefined);
    } catch (err) {
      throw corrupt(statusPath, (err as Error).message);
    }
    return { schemaVersion: 1, plan: layout.plan, version: layout.version, updatedAt: layout.updatedAt, tasks: layout.tasks as StatusFile['tasks'], legacy: layout.legacy };
  }
  const parsed = statusFileSchema.safeParse(json);
  if (!parsed.success) throw corrupt(statusPath, firstIssue(parsed.error));
  return parsed.data;
}

const LOCK_OPTIONS = {
  // The status file may not exist yet, and the lock must not depend on resolving it.
  realpath: false,
  // A live holder refreshes the lock's mtime every 2 s; one untouched for 10 s belongs to a dead process.
  stale: 10_000,
  update: 2_000,
  // Roughly 40 s of patience in total: long enough to queue behind many agents, short enough to report.
  retries: { retries: 200, factor: 1.2, minTimeout: 5, maxTimeout: 250, randomize: true },
} satisfies LockOptions;

/**
 * proper-lockfile sees two callers in one process as contention and makes the second poll with backoff;
 * queueing them here first keeps the retry budget for real cross-process contention.
 */
const inProcessQueues = new Map<string, Promise<unknown>>();

function serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (inProcessQueues.get(key) ?? Promise.resolve()).then(fn);
  const tail = run.catch(() => undefined);
  inProcessQueues.set(key, tail);
  void tail.then(() => {
    if (inProcessQueues.get(key) === tail) inProcessQueues.delete(key);
  });
  return run;
}

export interface StatusTransition extends SetTaskStatusOptions {
  taskId: string;
  status: TaskStatus;
  /** Changes to the task's agent record, applied with the transition. */
  run?: RunPatch;
  /** With in_progress: skipped when another live holder has the task (as claimTask refuses it). */
  claim?: boolean;
}

/** A change to a task's agent record alone (live activity, cost), with no change of status. */
export interface RunUpdate {
  taskId: string;
  run: RunPatch;
}

export function applyRunPatch(s: StatusFile, taskId: string, patch: RunPatch): void {
  const now = new Date().toISOString();
  const task = (s.tasks[taskId] ??= { status: 'pending', updatedAt: now, attempts: 0, history: [] });
  const run: Record<string, unknown> = { ...(task.run ?? {}) };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete run[k];
    else if (v !== undefined) run[k] = v;
  }
  task.run = run as AgentRun;
  if (Object.keys(run).length === 0) delete task.run;
}

/** One task's transition applied to a status file in memory: timestamps, holder, attempts, history. */
export function applyTransition(s: StatusFile, t: StatusTransition): void {
  const now = new Date().toISOString();
  const task = (s.tasks[t.taskId] ??= { status: 'pending', updatedAt: now, attempts: 0, history: [] });
  task.status = t.status;
  task.updatedAt = now;
  switch (t.status) {
    case 'in_progress':
      task.startedAt = now;
      task.attempts += 1;
      task.holder = holderRecord(t.holderPid ?? process.pid, t.agent);
      delete task.completedAt;
      break;
    case 'completed':
    case 'skipped':
      task.completedAt = now;
      delete task.holder;
      break;
    case 'failed':
      task.lastError = t.error ?? 'failed (no error message given)';
      delete task.holder;
      break;
    case 'pending':
      // A reset: the task may run again, but how often it ran and what happened stays on record.
      delete task.holder;
      delete task.startedAt;
      delete task.completedAt;
      delete task.lastError;
      break;
  }
  task.history.push({ status: t.status, at: now, ...(t.note ? { note: t.note } : {}) });
  if (task.history.length > HISTORY_LIMIT) task.history.splice(0, task.history.length - HISTORY_LIMIT);
  if (t.run) applyRunPatch(s, t.taskId, t.run);
}

function holderRecord(pid: number, agent: string | undefined): TaskHolder {
  const startTime = processStartTime(pid);
  return { pid, host: os.hostname(), ...(agent ? { agent } : {}), ...(startTime !== undefined ? { startTime } : {}) };
}

/**
 * Whether a task's holder may still be working on it. A holder on another host cannot be checked from
 * here, so it counts as live; on this host, a dead PID or one reused by another process does not.
 */
export function isHolderLive(holder: TaskHolder): boolean {
  if (holder.host !== os.hostname()) return true;
  return isRecordedProcessAlive(holder.pid, holder.startTime);
}

export function describeHolder(holder: TaskHolder): string {
  return `pid ${holder.pid} on ${holder.host}${holder.agent ? ` (agent ${holder.agent})` : ''}`;
}

export class StatusStore {
  readonly path: string;
  private readonly lockRetries: LockOptions['retries'];

  constructor(
    statusPath: string,
    readonly planRelPath: string,
    opts: StatusStoreOptions = {},
  ) {
    this.path = path.resolve(statusPath);
    this.lockRetries = opts.lockRetries ?? LOCK_OPTIONS.retries;
  }

  /** The current content, or an empty status (version 0) when no file exists yet. */
  async read(): Promise<StatusFile> {
    return (await readStatusFile(this.path)) ?? emptyStatus(this.planRelPath);
  }

  /** Lock, re-read, mutate, bump the version, write atomically, unlock. Returns what was written. */
  update(mutator: (s: StatusFile) => void | Promise<void>): Promise<StatusFile> {
    return serialize(this.path, () => this.lockedUpdate(mutator));
  }

  setTaskStatus(taskId: string, status: TaskStatus, opts: SetTaskStatusOptions = {}): Promise<StatusFile> {
    return this.update((s) => applyTransition(s, { taskId, status, ...opts }));
  }

  /**
   * Starts a task for one holder, checked and recorded under the same lock, so that of many processes
   * starting one task exactly one gets it. A task `in_progress` whose holder is live (see isHolderLive)
   * is refused with `task-claimed`, naming the holder, unless `force`; a dead holder's task is taken over.
   */
  claimTask(taskId: string, opts: ClaimOptions = {}): Promise<StatusFile> {
    return this.update((s) => {
      const current = s.tasks[taskId];
      const held = current?.status === 'in_progress' ? current.holder : undefined;
      if (held && !opts.force && isHolderLive(held)) {
        throw new PlanError(
          'task-claimed',
          `task ${taskId} of ${this.planRelPath} is already in progress, held by ${describeHolder(held)}${current?.startedAt ? ` since ${current.startedAt}` : ''}; use --force to take it over`,
          this.path,
        );
      }
      const note = held ? `took over from ${describeHolder(held)}${isHolderLive(held) ? ' (forced)' : ', which is gone'}` : undefined;
      applyTransition(s, { ...opts, taskId, status: 'in_progress', note: opts.note ?? note });
    });
  }

  /**
   * Several transitions in one locked write, applied in order. The orchestrator records a finished
   * task and the tasks it unblocks together: one lock and one fsync instead of one per task.
   */
  setTaskStatuses(transitions: readonly StatusTransition[], runUpdates: readonly RunUpdate[] = []): Promise<StatusFile> {
    return this.update((s) => {
      for (const t of transitions) {
        // The claim of claimTask, for the orchestrator's batched writes: a task another live holder
        // took meanwhile (planctl start) stays theirs; the caller sees who holds it in what is returned.
        if (t.claim && t.status === 'in_progress') {
          const held = s.tasks[t.taskId]?.status === 'in_progress' ? s.tasks[t.taskId]!.holder : undefined;
          if (held && held.pid !== process.pid && isHolderLive(held)) continue;
        }
        applyTransition(s, t);
      }
      for (const u of runUpdates) applyRunPatch(s, u.taskId, u.run);
    });
  }

  private async lockedUpdate(mutator: (s: StatusFile) => void | Promise<void>): Promise<StatusFile> {
    try {
      await mkdir(path.dirname(this.path), { recursive: true });
    } catch (err) {
      throw ioError(this.path, 'cannot be created', err);
    }
    // If our lock is ever taken over (we stalled past `stale`), writing would clobber the new holder's work.
    let compromised: Error | undefined;
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(this.path, {
        ...LOCK_OPTIONS,
        retries: this.lockRetries,
        lockfilePath: `${this.path}.lock`,
        onCompromised: (err) => {
          compromised = err;
        },
      });
    } catch (err) {
      if (errorCode(err) === 'ELOCKED') throw locked(this.path);
      throw ioError(this.path, 'cannot be locked', err);
    }
    try {
      // Read inside the lock: what another process wrote a moment ago is what we must build on.
      const status = await this.read();
      // The seeds' file is about to be rewritten for the first time: keep their original beside it.
      if (status.legacy?.fromSeeds) {
        await backupStatusFile(this.path);
        delete status.legacy.fromSeeds;
      }
      await mutator(status);
      status.schemaVersion = 1;
      status.plan = this.planRelPath;
      status.version += 1;
      status.updatedAt = new Date().toISOString();
      // Never write a file that our own reader would reject.
      const checked = statusFileSchema.safeParse(status);
      if (!checked.success) throw new Error(`refusing to write an invalid status file: ${firstIssue(checked.error)}`);
      if (compromised) throw locked(this.path);
      // Checked again just before writing: a link put in place since the read would be written through.
      await refuseSymlink(this.path);
      try {
        await writeFileAtomic(this.path, `${JSON.stringify(serializeStatus(checked.data), null, 2)}\n`);
      } catch (err) {
        throw ioError(this.path, 'cannot be written', err);
      }
      return checked.data;
    } finally {
      // After a compromise the lock is no longer ours, and releasing it reports that; nothing to add.
      await release().catch(() => undefined);
    }
  }
}

/** What goes on disk: our record layout, or the seeds' array layout when the file came in it. */
export function serializeStatus(status: StatusFile): Record<string, unknown> {
  const { legacy, ...ours } = status;
  if (!legacy) return ours;
  return serializeArrayLayout(ours as Parameters<typeof serializeArrayLayout>[0], legacy as LegacyLayout);
}

/**
 * Copies a status file to `status.json.bak`, or to `status.json.<time>.bak` when that exists already
 * (an earlier migration's backup is never overwritten). Returns the backup's path.
 */
export async function backupStatusFile(statusPath: string): Promise<string> {
  const plain = `${statusPath}.bak`;
  const target = existsSync(plain) ? `${statusPath}.${new Date().toISOString().replace(/[:.]/g, '-')}.bak` : plain;
  try {
    await copyFile(statusPath, target, fsConstants.COPYFILE_EXCL);
  } catch (err) {
    throw ioError(statusPath, `cannot be backed up to ${path.basename(target)}`, err);
  }
  return target;
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid content';
  const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return `${where}: ${issue.message}`;
}

function corrupt(statusPath: string, reason: string): PlanError {
  return new PlanError(
    'status-corrupt',
    `${statusPath} is not a valid status file (${reason}); it is kept as it is and not written: fix it or move it away`,
    statusPath,
  );
}

function symlinkRefused(statusPath: string): PlanError {
  return new PlanError(
    'status-unreadable',
    `${statusPath} is a symbolic link; status files are never read or written through a link: replace it with a regular file`,
    statusPath,
  );
}

function locked(statusPath: string): PlanError {
  return new PlanError('status-locked', `${statusPath} is locked by another process; try again`, statusPath);
}

/** There is no separate "unwritable" code; the message says which operation failed. */
function ioError(statusPath: string, what: string, err: unknown): PlanError {
  if (err instanceof PlanError) return err;
  return new PlanError('status-unreadable', `${statusPath} ${what} (${errorCode(err) ?? String(err)})`, statusPath);
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}
