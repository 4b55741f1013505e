/**
 * The orchestrator's side of `--queue`, in the orchestrator's terms: the checks before a run may use
 * the queue, the coordinator it gets (its jobs named after the plan, the remote and the branch), and
 * each task's job as the worker needs it. Kept here so that orchestrator.ts runs the plan and this file
 * says how a task travels to a worker.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { PlanSession } from '../../core/session.js';
import { PlanError } from '../../core/source.js';
import type { QueueConfig } from '../../core/workflowConfig.js';
import type { Task } from '../../core/model.js';
import type { StatusFile } from '../../core/status.js';
import type { GitService } from '../../git/gitService.js';
import type { AgentSettings } from '../agents/types.js';
import { promptValues, renderPrompt } from '../prompt.js';
import { registryName } from '../registry.js';
import { commitMessage } from '../taskCommit.js';
import { QueueCoordinator } from './coordinator.js';
import type { TaskJobData, TaskJobProgress } from './protocol.js';

export interface PlanQueueOptions {
  url: string;
  /** git-workflow.json's `queue` section (on_conflict, outage_seconds). */
  config: QueueConfig;
  /** The git remote the workers clone (default origin). */
  remote?: string;
  git: GitService | undefined;
  /** Whether the run commits: a worker's work comes back as a commit, so it must. */
  commit: boolean;
  session: PlanSession;
  identity?: { name: string; email: string };
  warn: (message: string) => void;
  onProgress: (taskId: string, progress: TaskJobProgress) => void;
}

/** The coordinator of a plan's run on the queue; refused without git, commits, or a branch. */
export async function startPlanQueue(o: PlanQueueOptions): Promise<QueueCoordinator> {
  if (!o.git || !o.commit) throw new PlanError('invalid-argument', '--queue needs a git repository and commits: workers send each task back as a commit');
  const branch = await o.git.currentBranch();
  if (!branch) throw new PlanError('invalid-argument', '--queue needs a branch checked out (the plan branch the workers start from)');
  const remote = o.remote ?? 'origin';
  const remoteUrl = await o.git.read(['remote', 'get-url', remote]).catch(() => '');
  const { on_conflict: onConflict, outage_seconds: outageSeconds } = o.config;
  return QueueCoordinator.start({
    url: o.url,
    remote,
    git: o.git,
    branch,
    // Jobs of different repositories (or plan branches) may share one Redis: the name says whose.
    plan: `${registryName(o.session.path)}-${createHash('sha256').update(`${remoteUrl}\0${branch}`).digest('hex').slice(0, 10)}`,
    ...(o.identity ? { identity: o.identity } : {}),
    warn: o.warn,
    onProgress: o.onProgress,
    ...(onConflict ? { onConflict } : {}),
    ...(outageSeconds !== undefined ? { outageMs: outageSeconds * 1000 } : {}),
  });
}

export interface TaskJobContext {
  session: PlanSession;
  status: StatusFile;
  task: Task;
  /** The coordinator's worktree: the job's paths are relative to it. */
  worktree: string;
  findingsDir: string;
  promptTemplate: string;
  settings: AgentSettings;
  allowedTools: string[];
  secretPatterns: readonly string[];
}

/** What a worker needs to run the task: the job's data but for what the coordinator decides (base, ref, attempt). */
export function taskJob(c: TaskJobContext): Omit<TaskJobData, 'base' | 'ref' | 'attempt' | 'plan' | 'taskId' | 'branch'> {
  const { plan, graph } = c.session.analysis;
  const rel = (p: string) => path.relative(c.worktree, p).split(path.sep).join('/');
  // The worker's worktree is not ours: it fills the {{worktree}} placeholder with its own path.
  const values = promptValues({ plan, graph, task: c.task, planRelPath: c.session.relPath, status: c.status, worktree: '{{worktree}}', findingsDir: c.findingsDir });
  values.findings = rel(c.findingsDir);
  return {
    prompt: renderPrompt(c.promptTemplate, values),
    title: c.task.title,
    body: c.task.body,
    estimateMinutes: c.task.estimateMinutes ?? 60,
    allowedTools: c.allowedTools,
    settings: c.settings,
    outputDir: rel(path.dirname(c.session.statusPath)),
    findingsDir: rel(c.findingsDir),
    secretPatterns: [...c.secretPatterns],
    message: commitMessage(c.task),
  };
}
