/**
 * Finding and reading a plan file, and the context around it (repository root, status file).
 * Shared by planctl, the extension and the orchestrator so that all of them agree on which plan
 * is active and where its status lives.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { decodePlanBytes, PlanError } from './source.js';
import { findRepoRoot, statusPathFor } from './status.js';
import type { Plan } from './model.js';

/** The worktree's own pointer, then the seeds' old single pointer. */
export const POINTER_FILES = ['.claude-context/current-plan.txt', '.claude/current-plan.txt'] as const;

/** Where plans are looked for, relative to a checkout: the extension's `planGlobs` default and `planctl top`'s plan picker. */
export const DEFAULT_PLAN_GLOBS: readonly string[] = ['docs/plans/**/*.md', '**/tasks.md', '.kiro/specs/**/tasks.md', 'specs/**/tasks.md'];

export async function readPlanFile(planPath: string): Promise<string> {
  let stat;
  try {
    stat = await fs.stat(planPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PlanError('plan-not-found', `${planPath}: no such plan file`, planPath);
    throw new PlanError('plan-unreadable', `${planPath}: cannot read the plan (${code ?? 'error'})`, planPath);
  }
  if (!stat.isFile()) throw new PlanError('plan-not-a-file', `${planPath} is not a file`, planPath);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(planPath);
  } catch (e) {
    throw new PlanError('plan-unreadable', `${planPath}: cannot read the plan (${(e as NodeJS.ErrnoException).code ?? 'error'})`, planPath);
  }
  return decodePlanBytes(bytes, planPath);
}

export interface PlanResolution {
  path: string;
  /** How the plan was chosen, for messages: `--plan`, `PLAN_FILE`, or the pointer file used. */
  source: string;
}

export interface ResolveOptions {
  explicit?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * `--plan`, then `PLAN_FILE`, then the current worktree's `.claude-context/current-plan.txt`,
 * then `.claude/current-plan.txt`. `CLAUDE_WORKTREE` names the worktree when set.
 */
export async function resolvePlanPath(opts: ResolveOptions): Promise<PlanResolution> {
  if (opts.explicit) return { path: path.resolve(opts.cwd, opts.explicit), source: '--plan' };
  const fromEnv = opts.env.PLAN_FILE?.trim();
  if (fromEnv) return { path: path.resolve(opts.cwd, fromEnv), source: 'PLAN_FILE' };
  const root = worktreeRoot(opts);
  for (const pointer of POINTER_FILES) {
    const pointerPath = path.join(root, pointer);
    let content: string;
    try {
      content = (await fs.readFile(pointerPath, 'utf8')).trim();
    } catch {
      continue;
    }
    if (content) return { path: path.resolve(root, content), source: pointerPath };
  }
  throw new PlanError('no-active-plan', 'no plan given: pass --plan <file>, set PLAN_FILE, or run "planctl use <plan>" in this worktree');
}

export function worktreeRoot(opts: { cwd: string; env: NodeJS.ProcessEnv }): string {
  const fromEnv = opts.env.CLAUDE_WORKTREE?.trim();
  if (!fromEnv) return findRepoRoot(opts.cwd);
  const dir = path.resolve(opts.cwd, fromEnv);
  // A stale variable would silently send every command to the wrong (or no) plan.
  if (!existsSync(dir)) throw new PlanError('plan-not-found', `CLAUDE_WORKTREE is ${fromEnv}, which does not exist; unset it or point it at a worktree`);
  return dir;
}

/**
 * Writes this worktree's pointer; the plan is stored relative to the worktree root. With `both`
 * (`planctl use`, Set Active Plan), the seeds' `.claude/current-plan.txt` gets the same value, so that
 * their scripts and planctl agree on the active plan. Not by default: in a plan worktree that file may
 * be tracked, and rewriting it would show as the user's change.
 */
export async function writePlanPointer(root: string, planPath: string, opts: { both?: boolean } = {}): Promise<string> {
  const rel = path.relative(root, planPath);
  const value = rel.startsWith('..') || path.isAbsolute(rel) ? planPath : rel.split(path.sep).join('/');
  const pointers = opts.both ? POINTER_FILES : POINTER_FILES.slice(0, 1);
  for (const p of pointers) {
    const pointer = path.join(root, p);
    await fs.mkdir(path.dirname(pointer), { recursive: true });
    await fs.writeFile(pointer, `${value}\n`, 'utf8');
  }
  return path.join(root, POINTER_FILES[0]);
}

/** What each pointer of a worktree names (trimmed; undefined when the file is missing or empty). */
export async function readPointers(root: string): Promise<Record<(typeof POINTER_FILES)[number], string | undefined>> {
  const out = {} as Record<(typeof POINTER_FILES)[number], string | undefined>;
  for (const p of POINTER_FILES) out[p] = (await fs.readFile(path.join(root, p), 'utf8').catch(() => '')).trim() || undefined;
  return out;
}

/** The plan's name as the status folder uses it: the file name without `.md`. */
export function planName(planPath: string): string {
  return path.basename(planPath).replace(/\.md$/i, '');
}

/**
 * Where the plan's status file lives. The plan's `**Output:**` folder is honoured only when it
 * stays inside the repository: a plan must not make us write anywhere else.
 */
export function statusFileFor(planPath: string, plan: Plan | undefined, root = findRepoRoot(path.dirname(planPath))): string {
  const output = plan?.output;
  if (output) {
    const resolved = path.resolve(root, output);
    const rel = path.relative(root, resolved);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return statusPathFor(planPath, { root, output: rel });
  }
  return statusPathFor(planPath, { root });
}

export { relativeToRoot } from './status.js';
