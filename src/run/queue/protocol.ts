/**
 * What the coordinator (`planctl orchestrate --queue`) and the workers (`planctl worker`) say to each
 * other through BullMQ on Redis. The coordinator keeps the graph, the scheduler, status.json and the
 * plan branch; a job is one attempt of one task, pinned to the plan branch commit that holds every
 * dependency; the worker answers with a commit, sent back in the job's result as a thin pack or, when
 * it is large, pushed to `refs/plan-tasks/<plan>/<task>/<attempt>`.
 */
import type { AgentSettings, ToolDenial } from '../agents/types.js';
import { PlanError } from '../../core/source.js';
import type { RedisTarget } from './redisUrl.js';

export { parseRedisUrl, withoutPassword, type RedisTarget } from './redisUrl.js';
import type { CommitChain } from '../../git/commitPacks.js';

export const QUEUE_NAME = 'plan-tasks';
/** Pub/sub channel on which the coordinator names the jobs to cancel. */
export const CANCEL_CHANNEL = 'plan-orchestrator:cancel';

export interface TaskJobData {
  plan: string;
  taskId: string;
  attempt: number;
  /** The plan branch commit the task starts from (it holds every dependency's work). */
  base: string;
  /** The plan branch on the remote that holds `base` (a worker that lacks `base` fetches this branch only). */
  branch?: string;
  /**
   * When `base` may not be on the remote yet (its push is under way): the plan branch's commits since
   * the one that is, as packs (git/commitPacks.ts). A worker that lacks `base` unpacks them rather than
   * waiting for the push and fetching.
   */
  baseChain?: CommitChain;
  /** Where the worker pushes the task's commit when it does not send it back in the result. */
  ref: string;
  /**
   * A resolve job (git-workflow.json `queue.on_conflict: "agent"`): the task's earlier commit, which
   * conflicts with `base`, as a thin pack against its parent. The worker applies it to `base` with the
   * conflict markers in `files`, and the agent (whose prompt says so) resolves them.
   */
  resolve?: { commit: string; pack: string; files: string[] };
  prompt: string;
  title: string;
  body: string;
  estimateMinutes: number;
  allowedTools: string[];
  settings: AgentSettings;
  /** The plan's output folder relative to the repository (the orchestrator's files, never committed). */
  outputDir: string;
  findingsDir: string;
  /** Files the task never commits (git-workflow.json agent.secretPatterns, else the defaults). */
  secretPatterns?: string[];
  message: string;
  /** Set when the coordinator's git has no identity either: the same fallback for every commit. */
  identity?: { name: string; email: string };
}

/** Live activity of a running job, as BullMQ progress. */
export interface TaskJobProgress {
  host: string;
  activity?: string;
  turn?: number;
  costUsd?: number;
  sessionId?: string;
}

export interface TaskJobResult {
  host: string;
  ok: boolean;
  reason?: string;
  denials?: ToolDenial[];
  /** The task's commit; undefined when the task changed nothing. */
  commit?: string;
  /**
   * The commit as a thin pack against the job's base, base64 (git/commitPacks.ts). Absent when the
   * worker pushed the commit to the job's ref instead (a large one, or `planctl worker --push-commits`).
   */
  pack?: string;
  files: string[];
  leftOut: Array<{ path: string; why: string }>;
  costUsd?: number;
  sessionId?: string;
  agentMs?: number;
  processMs: number;
}

/** `<plan>:<task>:<attempt>`: BullMQ refuses a second job with an ID it has, so a task attempt is queued once. */
export function jobIdOf(plan: string, taskId: string, attempt: number | string): string {
  return `${plan}:${taskId}:${attempt}`;
}

export function taskRefOf(plan: string, taskId: string, attempt: number | string): string {
  return `refs/plan-tasks/${plan}/${taskId}/${attempt}`;
}

/** BullMQ's connection options: ioredis, no per-command retry limit (BullMQ's own requirement for workers). */
export function connectionOf(target: RedisTarget): RedisTarget & { maxRetriesPerRequest: null } {
  return { ...target, maxRetriesPerRequest: null };
}

/** BullMQ, loaded only now (bullmqTransport.ts says why); the bundle points the import at dist/planctl-queue.mjs. */
export async function loadTransport(): Promise<typeof import('./bullmqTransport.js')> {
  try {
    return await import('./bullmqTransport.js');
  } catch (e) {
    throw new PlanError('invalid-argument', `the queue client cannot be loaded (${e instanceof Error ? e.message : String(e)}); dist/planctl-queue.mjs must sit beside planctl.mjs (npm run build makes both)`);
  }
}

/** The transport, once Redis answered: a start fails at once, in words, rather than retrying for ever. */
export async function openTransport(target: RedisTarget): Promise<typeof import('./bullmqTransport.js')> {
  const transport = await loadTransport();
  try {
    await transport.probeRedis(target);
  } catch (e) {
    throw new PlanError('queue-unavailable', (e as Error).message);
  }
  return transport;
}
