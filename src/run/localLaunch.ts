/**
 * Starts a task's agent, or a gate's command, as a process on this machine: the adapter's command
 * line with the task's prompt and allowed tools, a snapshot of the worktree to tell the task's
 * changes from the others' later, its log file and its time limits. The task's run record says it
 * is starting; what the process does from there reaches the orchestrator through `onEvent`.
 */
import path from 'node:path';
import type { Task } from '../core/model.js';
import type { PlanSession } from '../core/session.js';
import type { GitService } from '../git/gitService.js';
import { AgentProcess, agentEnv } from './agentProcess.js';
import { requiresChanges, type AgentAdapter, type AgentEvent, type AgentSettings } from './agents/index.js';
import { splitCommand } from './gates.js';
import { promptValues, renderPrompt } from './prompt.js';
import type { RunningTask } from './runningTask.js';
import type { StatusBatch } from './statusBatch.js';
import { snapshotWorktree } from './taskChanges.js';

/** What a local launch needs from the run; fixed once the run has started. */
export interface LocalLaunchContext {
  session: PlanSession;
  batch: StatusBatch;
  git: GitService | undefined;
  settings: AgentSettings;
  worktree: string;
  logsDir: string;
  findingsDir: string;
  promptTemplate: string;
  /** Commit each completed task's changes (false with --no-commit). */
  commit: boolean;
  /** The environment agents start from. */
  env: NodeJS.ProcessEnv;
  /** Read again for each task: `planctl approve` adds rules while the run goes on. */
  allowedTools(): Promise<string[]>;
}

export interface LocalStart {
  adapter: AgentAdapter;
  /** A VERIFY item's command, run as written, rather than an agent. */
  isGate: boolean;
  /** The agent session to resume (adapters that can), instead of starting afresh. */
  resumeSession?: string;
  onEvent(event: AgentEvent): void;
}

/** Starts the process of `r` (recorded in_progress already) and sets its `proc` and `before`; throws when it cannot be started. */
export async function startLocalAgent(ctx: LocalLaunchContext, r: RunningTask, start: LocalStart): Promise<AgentProcess> {
  const { task, attempt } = r;
  const { adapter, isGate, resumeSession } = start;
  const { worktree, settings } = ctx;
  const launch = isGate
    ? { argv: splitCommand(task.command!), env: {} }
    : adapter.launch({
        taskId: task.id,
        title: task.title,
        body: task.body,
        estimateMinutes: task.estimateMinutes ?? 60,
        planPath: ctx.session.path,
        worktree,
        prompt: taskPrompt(ctx, task),
        allowedTools: await ctx.allowedTools(),
        ...(resumeSession ? { resumeSession } : {}),
        settings,
      });
  if (launch.argv.length === 0 || !launch.argv[0]) throw new Error('empty command');
  // What the task changes matters for its commit and for the "no changes made" rule; without
  // either (--no-commit with a command agent) the two git status runs per task are saved.
  if (ctx.git && !isGate && (ctx.commit || requiresChanges(settings))) r.before = await snapshotWorktree(ctx.git, worktree);
  const logPath = path.join(ctx.logsDir, `${task.id}.log`);
  const minutes = (m: number) => (m > 0 ? m * 60_000 : undefined);
  const proc = new AgentProcess({
    launch,
    cwd: worktree,
    env: agentEnv(ctx.env, { ...launch.env, PLAN_TASK_ID: task.id, PLAN_FILE: ctx.session.path, PLAN_ORCHESTRATOR_PID: String(process.pid) }),
    logPath,
    logHeader: `=== ${task.id} attempt ${attempt} at ${new Date().toISOString()}: ${JSON.stringify(launch.argv)}${launch.stdin !== undefined ? ' (prompt on stdin)' : ''}`,
    reader: adapter.reader(worktree),
    onEvent: start.onEvent,
    ...(minutes(settings.timeoutMinutes) ? { timeoutMs: minutes(settings.timeoutMinutes)! } : {}),
    ...(!isGate && minutes(settings.idleTimeoutMinutes) ? { idleMs: minutes(settings.idleTimeoutMinutes)! } : {}),
  });
  r.proc = proc;
  ctx.batch.updateRun(task.id, {
    kind: isGate ? 'gate' : adapter.kind,
    log: path.relative(ctx.session.root, logPath).split(path.sep).join('/'),
    activity: resumeSession ? 'resuming the agent session' : 'starting',
    activityAt: new Date().toISOString(),
    turn: 0,
    costUsd: 0,
    needsApproval: null,
    resume: null,
  });
  return proc;
}

function taskPrompt(ctx: LocalLaunchContext, task: Task): string {
  const { plan, graph } = ctx.session.analysis;
  const values = promptValues({ plan, graph, task, planRelPath: ctx.session.relPath, status: ctx.batch.status, worktree: ctx.worktree, findingsDir: ctx.findingsDir });
  return renderPrompt(ctx.promptTemplate, values);
}
