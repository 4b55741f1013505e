/**
 * `git-workflow.json` at the repository root: the seeds' configuration file. Read here: `worktrees`,
 * `agent`, `plans` (scheduling: `phase_overlap`) and `api` (`planctl serve`); other sections pass
 * through untouched.
 *
 * Every error names the key (`worktrees.max_concurrent: …`) because the file is edited by hand and a
 * bare "invalid config" sends the user hunting.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as z from 'zod';
import { PlanError } from './source.js';

export const WORKFLOW_CONFIG_FILE = 'git-workflow.json';

export const MERGE_STRATEGIES = ['merge', 'squash', 'rebase'] as const;
export type MergeStrategy = (typeof MERGE_STRATEGIES)[number];

/** A repository-relative path or gitignore pattern that cannot point outside the repository. */
const insidePattern = z
  .string()
  .min(1, 'must not be empty')
  .refine((p) => !path.isAbsolute(p) && !/^[A-Za-z]:[\\/]/.test(p), 'must be relative to the repository root, not absolute')
  .refine((p) => !p.split(/[\\/]/).includes('..'), 'must not contain ".." (files are copied from inside the repository only)');

/**
 * Git-ignored files that `worktree remove` may delete without --force: what a build or an install
 * makes again (gitignore syntax, matched at any depth). Any other ignored file may be the only copy
 * of something (a local database, an edited .env) and makes removal refuse.
 */
export const DEFAULT_DISPOSABLE = ['node_modules', 'dist', 'build', 'out', '.cache', 'coverage', '__pycache__', '.venv', 'target', '*.log'];

const worktreesSchema = z.looseObject({
  enabled: z.boolean().default(true),
  directory: z
    .string()
    .min(1, 'must not be empty')
    .refine((d) => !d.includes('\0'), 'must not contain a NUL byte')
    .default('worktrees'),
  max_concurrent: z.number().int('must be a whole number').min(1, 'must be at least 1').default(3),
  /** After a successful `complete`, delete the merged plan branch too (the seeds' default: true). */
  auto_cleanup: z.boolean().default(true),
  stale_days: z.number().positive('must be more than 0').default(14),
  merge_strategy: z.enum(MERGE_STRATEGIES).default('merge'),
  copy_files: z.array(insidePattern).default([]),
  /** Replaces DEFAULT_DISPOSABLE when set. */
  disposable: z.array(z.string().min(1, 'must not be empty')).default(() => [...DEFAULT_DISPOSABLE]),
  post_create: z.array(z.string().min(1, 'must not contain an empty argument')).min(1, 'must name a program, e.g. ["npm", "ci"]').optional(),
  disk_warn_mb: z.number().positive('must be more than 0').default(2048),
  /** The branch plans merge into; unset: the branch checked out in the main worktree when the plan worktree was created. */
  main_branch: z.string().min(1).optional(),
});

export const AGENT_KIND_NAMES = ['claude', 'codex', 'command'] as const;

/**
 * `agent`: which coding agent runs tasks and how. Every key is optional; planctl flags and the VS Code
 * settings override it. Arrays are argv elements or permission rules, never shell strings.
 */
const agentSchema = z.strictObject({
  kind: z.enum(AGENT_KIND_NAMES).optional(),
  allowedTools: z.array(z.string().min(1, 'must not be empty')).optional(),
  model: z.string().min(1).optional(),
  extraArgs: z.array(z.string()).optional(),
  maxTurns: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
  timeoutMinutes: z.number().min(0, 'must be 0 (no limit) or more').optional(),
  idleTimeoutMinutes: z.number().min(0, 'must be 0 (no limit) or more').optional(),
  promptFile: insidePattern.optional(),
  command: z.array(z.string()).min(1, 'must name a program, e.g. ["node", "agent.mjs", "{prompt}"]').optional(),
  executable: z.string().min(1).optional(),
  allowNoChanges: z.boolean().optional(),
  maxCostUsd: z.number().positive('must be more than 0').optional(),
  /** Files a task never commits (glob patterns, matched on the path and the base name); replaces the default list. */
  secretPatterns: z.array(z.string().min(1, 'must not be empty')).optional(),
});
export type AgentConfig = z.infer<typeof agentSchema>;

/**
 * `plans`: how every plan of the repository is scheduled. `phase_overlap` (0 < x ≤ 1) lets a phase
 * start once that share of the phase before it is done: the seeds' status-cli.js started the next phase
 * at 80% (0.8), which `planctl migrate` writes for the repositories it migrates. 1 (or unset) is the
 * strict barrier of plan-format.md.
 */
const plansSchema = z.looseObject({
  phase_overlap: z.number().gt(0, 'must be more than 0 (a share such as 0.8)').max(1, 'must be at most 1 (a share such as 0.8, not a percentage)').optional(),
});
export type PlansConfig = z.infer<typeof plansSchema>;

/** `api`: the seeds' section for the plan API (`planctl serve`). */
const apiSchema = z.looseObject({
  enabled: z.boolean().optional(),
  port: z.number().int('must be a whole number').min(0, 'must be 0 to 65535').max(65535, 'must be 0 to 65535').optional(),
  auth_required: z.boolean().optional(),
});
export type ApiConfig = z.infer<typeof apiSchema>;

/**
 * `queue`: distributed runs (`planctl orchestrate --queue`). `on_conflict` is what happens to a task
 * whose commit from a worker no longer applies to the plan branch: `rerun` runs the task again on the
 * new tip (the default), `agent` applies its commit there with conflict markers and has an agent
 * resolve them (docs/distributed.md). `outage_seconds` is how long Redis may stay unreachable mid-run
 * before the coordinator fails the tasks whose jobs it waits for, rather than waiting for ever.
 */
const queueSchema = z.looseObject({
  on_conflict: z.enum(['rerun', 'agent']).optional(),
  /** How long Redis may stay unreachable mid-run before the coordinator gives up the jobs it waits for (default 60). */
  outage_seconds: z.number().positive('must be more than 0').optional(),
});
export type QueueConfig = z.infer<typeof queueSchema>;

const configSchema = z.looseObject({
  worktrees: worktreesSchema.prefault({}),
  agent: agentSchema.optional(),
  plans: plansSchema.optional(),
  api: apiSchema.optional(),
  queue: queueSchema.optional(),
});

const KNOWN_WORKTREE_KEYS = new Set(Object.keys(worktreesSchema.shape));

export interface WorktreesConfig {
  enabled: boolean;
  /** As written in the file (relative to the repository root, or absolute). */
  directory: string;
  max_concurrent: number;
  auto_cleanup: boolean;
  stale_days: number;
  merge_strategy: MergeStrategy;
  copy_files: string[];
  disposable: string[];
  post_create?: string[];
  disk_warn_mb: number;
  main_branch?: string;
}

export interface WorkflowConfig {
  worktrees: WorktreesConfig;
  /** The `agent` section as written (absent keys: the agent layer's defaults). */
  agent: AgentConfig;
  plans: PlansConfig;
  api: ApiConfig;
  queue: QueueConfig;
  /** Where the file was read from; undefined when there is none and every default applies. */
  file: string | undefined;
  /** Unknown keys in `worktrees` (likely typos): reported, not fatal, so older planctl versions can read newer files. */
  warnings: string[];
}

/** A config error; `key` is the dotted key at fault (`worktrees.max_concurrent`), or undefined for the file as a whole. */
export class WorkflowConfigError extends PlanError {
  constructor(
    message: string,
    readonly key: string | undefined,
    file: string,
  ) {
    super('invalid-argument', message, file);
  }
}

export function defaultWorkflowConfig(): WorkflowConfig {
  return parseWorkflowConfig({}, '(defaults)');
}

/** Reads and validates `<repoRoot>/git-workflow.json`; a missing file means all defaults. */
export async function loadWorkflowConfig(repoRoot: string): Promise<WorkflowConfig> {
  const file = path.join(repoRoot, WORKFLOW_CONFIG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ...defaultWorkflowConfig(), file: undefined };
    throw new WorkflowConfigError(`${WORKFLOW_CONFIG_FILE}: cannot be read (${code ?? String(e)})`, undefined, file);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new WorkflowConfigError(`${WORKFLOW_CONFIG_FILE}: not valid JSON (${(e as Error).message})`, undefined, file);
  }
  return { ...parseWorkflowConfig(json, file), file };
}

/** Validates an already parsed config object; `file` is only used in messages. */
export function parseWorkflowConfig(json: unknown, file: string): WorkflowConfig {
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.map(String).join('.') || undefined;
    const where = key ? `${key}: ` : '';
    let message = friendlyMessage(issue);
    if (key === 'worktrees.post_create' && issue.code === 'invalid_type' && typeof (json as { worktrees?: { post_create?: unknown } })?.worktrees?.post_create === 'string') {
      // A shell string is the mistake people make; we never run a shell, so say what to write instead.
      message = 'must be an argv array such as ["npm", "ci"], not a command string (no shell is used)';
    }
    throw new WorkflowConfigError(`${WORKFLOW_CONFIG_FILE}: ${where}${message}`, key, file);
  }
  const { worktrees } = parsed.data;
  const warnings: string[] = [];
  for (const key of Object.keys(worktrees)) {
    if (!KNOWN_WORKTREE_KEYS.has(key)) warnings.push(`${WORKFLOW_CONFIG_FILE}: unknown key worktrees.${key} (ignored)`);
  }
  if (worktrees.main_branch !== undefined && !/^[A-Za-z0-9._/-]+$/.test(worktrees.main_branch)) {
    throw new WorkflowConfigError(`${WORKFLOW_CONFIG_FILE}: worktrees.main_branch: ${JSON.stringify(worktrees.main_branch)} is not a plain branch name`, 'worktrees.main_branch', file);
  }
  const config: WorktreesConfig = {
    enabled: worktrees.enabled,
    directory: worktrees.directory,
    max_concurrent: worktrees.max_concurrent,
    auto_cleanup: worktrees.auto_cleanup,
    stale_days: worktrees.stale_days,
    merge_strategy: worktrees.merge_strategy,
    copy_files: worktrees.copy_files,
    disposable: worktrees.disposable,
    disk_warn_mb: worktrees.disk_warn_mb,
    ...(worktrees.post_create ? { post_create: worktrees.post_create } : {}),
    ...(worktrees.main_branch ? { main_branch: worktrees.main_branch } : {}),
  };
  return { worktrees: config, agent: parsed.data.agent ?? {}, plans: parsed.data.plans ?? {}, api: parsed.data.api ?? {}, queue: parsed.data.queue ?? {}, file, warnings };
}

/**
 * Just `plans.phase_overlap`, for every command that schedules (next, status, simulate, orchestrate,
 * the API): a mistake elsewhere in the file (a worktree setting) must not stop `planctl next`.
 */
export async function readPhaseOverlap(repoRoot: string): Promise<number | undefined> {
  const file = path.join(repoRoot, WORKFLOW_CONFIG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw new WorkflowConfigError(`${WORKFLOW_CONFIG_FILE}: not valid JSON (${(e as Error).message})`, undefined, file);
  }
  const plans = (json as { plans?: unknown } | null)?.plans;
  if (plans === undefined) return undefined;
  const parsed = plansSchema.safeParse(plans);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = ['plans', ...issue.path.map(String)].join('.');
    throw new WorkflowConfigError(`${WORKFLOW_CONFIG_FILE}: ${key}: ${friendlyMessage(issue)}`, key, file);
  }
  const overlap = parsed.data.phase_overlap;
  return overlap !== undefined && overlap < 1 ? overlap : undefined;
}

function friendlyMessage(issue: z.core.$ZodIssue): string {
  // zod's default "Invalid input: expected number, received string" is fine but long-winded.
  return issue.message.replace(/^Invalid input: /, '');
}
