/**
 * Which files a task changed, so that its commit holds its work and nothing else.
 *
 * A snapshot is the working tree's `git status` (untracked files one by one, ignored files never)
 * with each listed file's size and modification time. A task's changes are the files whose entry
 * differs between the snapshot at its start and the one at its end, less:
 * - files that were already modified when the run began (the user's own work, reported, never committed);
 * - files another running task said it edited (its Write/Edit tool calls): tasks run side by side in
 *   one directory, and a file belongs to the task whose agent wrote it;
 * - the orchestrator's own files (the plan's status.json and logs);
 * - files that look like secrets (`.env*`, keys), which stay uncommitted and are reported.
 *
 * What a parallel task changed through a shell command is not announced: such a file goes to the
 * first task that ends after it changed. The log of that commit says so when it holds files the
 * task's agent never named.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Task } from '../core/model.js';
import type { GitService } from '../git/gitService.js';

export type WorktreeSnapshot = Map<string, string>;

/** Never committed by a task; matched against every path and its base name. Configurable later via git-workflow.json. */
export const DEFAULT_SECRET_PATTERNS = ['.env', '.env.*', '*.pem', '*.key', '*.p12', '*.pfx', 'id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*', '.npmrc', '.netrc', '*.keystore'];

export async function snapshotWorktree(git: GitService, root: string): Promise<WorktreeSnapshot> {
  const entries = await git.statusEntries();
  const out: WorktreeSnapshot = new Map();
  await Promise.all(
    entries.map(async (e) => {
      let sig = e.code;
      try {
        const st = await lstat(path.join(root, e.path));
        sig += `:${st.size}:${st.mtimeMs}`;
      } catch {
        sig += ':absent';
      }
      out.set(e.path, sig);
    }),
  );
  return out;
}

/** Paths dirty now whose state differs from `before` (a path that became clean was reverted or committed by someone else). */
export function changedSince(before: WorktreeSnapshot, after: WorktreeSnapshot): string[] {
  const out: string[] = [];
  for (const [p, sig] of after) if (before.get(p) !== sig) out.push(p);
  return out.sort();
}

export interface TaskChangeFilter {
  /** Paths (relative to the worktree, `/`-separated) dirty before the run: the user's. */
  preexisting: ReadonlySet<string>;
  /** Paths other running tasks' agents reported editing. */
  claimedByOthers: ReadonlySet<string>;
  /** Folders (relative, `/`-separated, no trailing slash) whose files belong to the orchestrator. */
  orchestratorDirs: readonly string[];
  /** Files inside orchestratorDirs that are still the task's (the findings folder). */
  taskDirs: readonly string[];
  secretPatterns: readonly string[];
}

export interface TaskChanges {
  /** What the task's commit holds. */
  commit: string[];
  /** Changed during the task but left out, with the reason, for the log and the record. */
  leftOut: Array<{ path: string; why: 'preexisting' | 'other-task' | 'secret' }>;
}

const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);

/**
 * Every plan's orchestrator files in the conventional output folders (another plan running in the
 * same checkout rewrites its status.json while this plan's task runs, and it is not that task's work),
 * and the worktree context (`.claude-context/`: the active-plan pointer, the worktree marker).
 */
export const ORCHESTRATOR_FILES = ['**/plan-outputs/**/status.json', '**/plan-outputs/**/agent.json', '**/plan-outputs/**/*.lock', '**/plan-outputs/**/orchestrator-*.log', '.claude-context/**'];
const isOrchestratorFile = picomatch(ORCHESTRATOR_FILES, { dot: true });

export function isOrchestratorPath(p: string, orchestratorDirs: readonly string[]): boolean {
  return isOrchestratorFile(p) || orchestratorDirs.some((d) => under(p, d));
}

export function attributeChanges(changed: readonly string[], filter: TaskChangeFilter): TaskChanges {
  const secret = picomatch(filter.secretPatterns as string[], { dot: true, basename: true });
  const commit: string[] = [];
  const leftOut: TaskChanges['leftOut'] = [];
  for (const p of changed) {
    if (isOrchestratorPath(p, filter.orchestratorDirs) && !filter.taskDirs.some((d) => under(p, d))) continue;
    if (filter.preexisting.has(p)) leftOut.push({ path: p, why: 'preexisting' });
    else if (filter.claimedByOthers.has(p)) leftOut.push({ path: p, why: 'other-task' });
    else if (secret(p)) leftOut.push({ path: p, why: 'secret' });
    else commit.push(p);
  }
  return { commit, leftOut };
}

/** A worktree-relative, `/`-separated path for an absolute one inside it; undefined outside. */
export function worktreeRelative(worktree: string, file: string): string | undefined {
  const rel = path.relative(worktree, path.resolve(worktree, file));
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep).join('/');
}

export interface TaskChangeContext {
  git: GitService;
  worktree: string;
  before: WorktreeSnapshot;
  task: Pick<Task, 'id' | 'files'>;
  /** The other tasks running now: the files their agents reported (absolute) and the files they name. */
  others: ReadonlyArray<{ task: Pick<Task, 'files'>; files: ReadonlySet<string> }>;
  /** Files that are not this task's to commit: the user's, or left by another task's failed attempt. */
  notMine: ReadonlySet<string>;
  outputDir: string;
  findingsDir: string;
  secretPatterns?: readonly string[];
}

/** What the task changed since `before`, split into what its commit holds and what stays out (and why). */
export async function changesOfTask(ctx: TaskChangeContext): Promise<TaskChanges> {
  const { worktree } = ctx;
  const after = await snapshotWorktree(ctx.git, worktree);
  const claimedByOthers = new Set<string>();
  for (const other of ctx.others) {
    for (const f of other.files) {
      const rel = worktreeRelative(worktree, f);
      if (rel) claimedByOthers.add(rel);
    }
  }
  const changed = changedSince(ctx.before, after);
  // The scheduler never runs two tasks naming the same file at once: a changed file that another
  // running task names is that task's.
  const declared = ctx.others.flatMap((o) => o.task.files.filter((f) => f.kind === 'path').map((f) => f.path));
  if (declared.length > 0) {
    const own = ctx.task.files.filter((f) => f.kind === 'path').map((f) => f.path);
    const mine = own.length > 0 ? picomatch(own, { dot: true }) : () => false;
    const theirs = picomatch(declared, { dot: true });
    for (const p of changed) if (theirs(p) && !mine(p)) claimedByOthers.add(p);
  }
  const rel = (p: string) => worktreeRelative(worktree, p);
  return attributeChanges(changed, {
    preexisting: ctx.notMine,
    claimedByOthers,
    orchestratorDirs: [rel(ctx.outputDir)].filter((x): x is string => Boolean(x)),
    taskDirs: [rel(ctx.findingsDir)].filter((x): x is string => Boolean(x)),
    secretPatterns: ctx.secretPatterns ?? DEFAULT_SECRET_PATTERNS,
  });
}
