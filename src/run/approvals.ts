/**
 * The plan's agent file, `docs/plan-outputs/<plan>/agent.json`: what the user approved for the plan's
 * runs. Two lists: tool rules (`allowedTools`) and gate commands (`approvedCommands`, see gates.ts).
 *
 * Tool approvals: when an agent was denied a tool, the task waits with the denied calls on record
 * (`run.needsApproval`). Approving saves the allow rules in the plan's agent file,
 * `docs/plan-outputs/<plan>/agent.json` (`{"allowedTools": [...]}`, next to status.json and read by
 * every run of the plan), and puts the task back to pending with `run.resume`, so that the next
 * attempt continues the agent's session with the tool allowed.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import { PlanError } from '../core/source.js';
import type { PlanSession } from '../core/session.js';
import type { StatusFile, StatusTransition } from '../core/status.js';
import { lockOptions } from './registry.js';

export const AGENT_FILE = 'agent.json';

const agentFileSchema = z.looseObject({
  allowedTools: z.array(z.string().min(1)).default([]),
  /** Gate commands (VERIFY `$ …`) the user agreed to run, as written in the plan. */
  approvedCommands: z.array(z.string().min(1)).default([]),
});
type AgentFile = z.infer<typeof agentFileSchema>;

export function agentFileFor(statusPath: string): string {
  return path.join(path.dirname(statusPath), AGENT_FILE);
}

/** The plan's approved allow rules; none when the file does not exist. */
export async function readApprovedTools(statusPath: string): Promise<string[]> {
  return (await readAgentFile(statusPath)).allowedTools;
}

/** The gate commands the user approved for this plan. */
export async function readApprovedCommands(statusPath: string): Promise<string[]> {
  return (await readAgentFile(statusPath)).approvedCommands;
}

async function readAgentFile(statusPath: string): Promise<AgentFile> {
  const file = agentFileFor(statusPath);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { allowedTools: [], approvedCommands: [] };
    throw new PlanError('status-unreadable', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PlanError('status-corrupt', `${file} is not valid JSON (${(err as Error).message}); fix it or move it away`, file);
  }
  const parsed = agentFileSchema.safeParse(json);
  if (!parsed.success) throw new PlanError('status-corrupt', `${file}: allowedTools and approvedCommands must be lists of strings; fix it or move it away`, file);
  return parsed.data;
}

/** Adds to one list of the plan's agent file under its lock, keeping whatever else it holds. */
async function addToAgentFile(statusPath: string, key: 'allowedTools' | 'approvedCommands', values: readonly string[]): Promise<string[]> {
  const file = agentFileFor(statusPath);
  await mkdir(path.dirname(file), { recursive: true });
  const release = await lockfile.lock(file, lockOptions(`${file}.lock`));
  try {
    let existing: Record<string, unknown> = {};
    try {
      existing = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new PlanError('status-corrupt', `${file} cannot be read as JSON; fix it or move it away`, file);
    }
    const current = (await readAgentFile(statusPath))[key];
    const all = [...new Set([...current, ...values])];
    await writeFileAtomic(file, `${JSON.stringify({ ...existing, [key]: all }, null, 2)}\n`);
    return all;
  } finally {
    await release().catch(() => undefined);
  }
}

/** Records that the user agreed to run these gate commands of the plan. */
export function approveCommands(statusPath: string, commands: readonly string[]): Promise<string[]> {
  return addToAgentFile(statusPath, 'approvedCommands', commands);
}

/** A rule in Claude Code's syntax: `Tool` or `Tool(specifier)`, nothing else. */
export function checkToolRule(rule: string): string {
  if (!/^[A-Za-z][\w.-]*(?:\([^()\n]*\))?$/.test(rule) && !/^mcp__[\w-]+(?:__[\w-]+)?$/.test(rule)) {
    throw new PlanError('invalid-argument', `"${rule}" is not a tool rule; write it as Claude Code does, e.g. Bash(make deploy-prod) or Bash(make:*) or WebFetch`);
  }
  return rule;
}

export interface ApproveResult {
  taskId: string;
  approved: string[];
  resume: boolean;
}

/** What approving a task means, decided from its record alone: the rules, and the task's way back to pending. */
export interface Approval {
  approved: string[];
  resume: boolean;
  /** Absent when the task has nothing to go back from (rules approved ahead of any run). */
  transition?: StatusTransition;
}

/**
 * The task's denied calls (or exactly `rules` when given) and the retry that resumes the agent's
 * session. Refused when the task is not waiting for an approval and no rule was named, or runs.
 */
export function planApproval(status: StatusFile, taskId: string, rules?: readonly string[]): Approval {
  const record = status.tasks[taskId];
  const waiting = record?.run?.needsApproval ?? [];
  const chosen = rules && rules.length > 0 ? rules.map(checkToolRule) : waiting.map((d) => d.rule);
  if (chosen.length === 0) {
    throw new PlanError('invalid-argument', `task ${taskId} is not waiting for an approval${record?.status ? ` (it is ${record.status})` : ''}; name a tool with --tool to allow one anyway`);
  }
  if (record?.status === 'in_progress') throw new PlanError('status-locked', `task ${taskId} is running; approve it after it ends`);
  const resume = Boolean(record?.run?.sessionId);
  const goesBack = record && (record.status === 'failed' || waiting.length > 0);
  return {
    approved: chosen,
    resume,
    ...(goesBack ? { transition: { taskId, status: 'pending', note: `approved: ${chosen.join(', ')}`, run: { needsApproval: null, resume: resume || null } } } : {}),
  };
}

/** Saves the approved rules in the plan's agent file and queues the task for its retry (planApproval). */
export async function approveTask(session: PlanSession, taskId: string, rules?: readonly string[]): Promise<ApproveResult> {
  const approval = planApproval(session.status, taskId, rules);
  await addToAgentFile(session.statusPath, 'allowedTools', approval.approved);
  if (approval.transition) session.status = await session.store.setTaskStatuses([approval.transition]);
  return { taskId, approved: approval.approved, resume: approval.resume };
}
