/**
 * Creating a plan worktree: its branch and checkout, the plan and its status file in it, the marker,
 * the git-ignored files copied from the main checkout, and `worktrees.post_create`. Each step is
 * journaled first (createGuard.ts), and any failure undoes what was done: a create leaves a whole
 * worktree or nothing.
 */
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ignore from 'ignore';
import { analyzePlan } from '../core/analyzer.js';
import { planName, readPlanFile, relativeToRoot, statusFileFor, writePlanPointer } from '../core/planFile.js';
import { StatusStore } from '../core/status.js';
import type { CreateGuard, CreateJournal } from './createGuard.js';
import { GitError } from './errors.js';
import { recordCopies } from './ignoredFiles.js';
import { assertSafeName } from './slug.js';
import type { PlanWorktrees } from './planWorktrees.js';
import { CONTEXT_DIR, MARKER_FILE, WORKTREE_INCLUDE_FILE, writeJson, type WorktreeMarker } from './worktreeFiles.js';
import { describeOne } from './worktreeListing.js';
import { BRANCH_PREFIX, isInside, realish, samePath, slugName } from './worktreeNames.js';
import { WorktreeError, type CreateOptions, type CreatedWorktree } from './worktreeResults.js';

export async function createPlanWorktree(worktrees: PlanWorktrees, guard: CreateGuard, planPath: string, opts: CreateOptions = {}): Promise<CreatedWorktree> {
  const cfg = worktrees.config.worktrees;
  if (!cfg.enabled) {
    throw new WorktreeError('disabled', 'plan worktrees are disabled in git-workflow.json (worktrees.enabled is false)');
  }
  if (opts.attach && opts.base !== undefined) {
    throw new WorktreeError('invalid-option', '--base cannot be combined with --attach: an attached branch keeps its own history');
  }
  const planAbs = path.resolve(planPath);
  await readPlanFile(planAbs);
  const name = slugName(opts.name ?? planName(planAbs));
  const branch = BRANCH_PREFIX + name;
  const wtPath = worktrees.dirFor(name);
  const planRel = await locatePlan(worktrees, planAbs);

  const release = await guard.lockName(name);
  try {
    // A create of this name killed earlier would otherwise make this one fail on its leftovers.
    await guard.repairJournal(name);
    const all = await worktrees.git.listWorktrees();
    const atPath = all.find((w) => samePath(w.path, wtPath));
    if (atPath?.prunable) await worktrees.git.worktreePrune();
    else if (atPath) throw new GitError('path-exists', `plan ${name} already has a worktree at ${worktrees.shown(wtPath)} (branch ${atPath.branch ?? 'detached'}); use it, or choose another name with --name`);
    if (existsSync(wtPath)) {
      throw new GitError('path-exists', `${worktrees.shown(wtPath)} already exists; remove it or choose another name with --name`);
    }

    const target = cfg.main_branch ?? (await worktrees.mainGit.mainBranch());
    let base: string;
    let baseSha: string | undefined;
    const branchExists = await worktrees.git.branchExists(branch);
    if (branchExists) {
      if (!opts.attach) {
        throw new GitError('branch-exists', `branch ${branch} already exists; pass --attach to check it out in a new worktree, or choose another name with --name`);
      }
      const holder = all.find((w) => w.branch === branch && !w.prunable);
      if (holder) throw new GitError('branch-checked-out', `branch ${branch} is already checked out at ${holder.path}; use that worktree (planctl worktree path ${name})`);
      base = target;
      baseSha = await worktrees.git.resolveCommit(branch);
    } else {
      if (opts.attach) throw new GitError('unknown-ref', `--attach: branch ${branch} does not exist (leave out --attach to create it)`);
      base = opts.base ?? target;
      assertSafeName(base, 'base');
      baseSha = await worktrees.git.resolveCommit(base);
      if (!baseSha) throw new GitError('unknown-ref', `base ${JSON.stringify(base)} is not a branch or commit of this repository`);
    }
    if (!baseSha) throw new GitError('unknown-ref', `branch ${branch} has no commit`);

    const journal: CreateJournal = {
      version: 1,
      name,
      branch,
      path: wtPath,
      baseSha,
      createdBranch: !branchExists,
      step: 'add-worktree',
      pid: process.pid,
      host: os.hostname(),
      startedAt: worktrees.now().toISOString(),
    };
    const warnings: string[] = [];
    let journaled = false;
    try {
      await guard.withCountLock(async () => {
        const count = (await worktrees.entries()).filter((e) => !e.info.prunable).length;
        if (count >= cfg.max_concurrent) {
          throw new WorktreeError(
            'limit-reached',
            `${count} plan worktree${count === 1 ? '' : 's'} already exist${count === 1 ? 's' : ''} (worktrees.max_concurrent is ${cfg.max_concurrent} in git-workflow.json): complete or remove one first (planctl worktree list), or raise the limit`,
          );
        }
        await fs.mkdir(path.dirname(wtPath), { recursive: true });
        await excludeOurFiles(worktrees);
        await guard.writeJournal(journal);
        journaled = true;
        await worktrees.git.worktreeAdd(wtPath, branchExists ? { commitish: branch } : { commitish: baseSha!, newBranch: branch });
      });

      journal.step = 'context';
      await guard.writeJournal(journal);
      const planInWt = path.join(wtPath, planRel);
      if (!existsSync(planInWt)) {
        // The worktree is useless without its plan; the warning says why the merge back may collide.
        await fs.mkdir(path.dirname(planInWt), { recursive: true });
        await fs.copyFile(planAbs, planInWt);
        warnings.push(`${planRel} is not committed on ${branchExists ? branch : base}: copied it into the worktree; commit it there (and not separately in the main checkout) so the merge back does not collide`);
      }
      const text = await readPlanFile(planInWt);
      const analysis = analyzePlan(text);
      await writePlanPointer(wtPath, planInWt);
      const statusPath = statusFileFor(planInWt, analysis.plan, wtPath);
      if (!existsSync(statusPath)) await new StatusStore(statusPath, relativeToRoot(wtPath, planInWt)).update(() => undefined);
      const marker: WorktreeMarker = {
        tool: 'plan-orchestrator',
        version: 1,
        name,
        branch,
        base,
        startSha: baseSha,
        target,
        plan: relativeToRoot(wtPath, planInWt),
        statusFile: relativeToRoot(wtPath, statusPath),
        createdAt: worktrees.now().toISOString(),
        createdBranch: !branchExists,
      };
      await writeJson(path.join(wtPath, MARKER_FILE), marker);

      journal.step = 'copy-files';
      await guard.writeJournal(journal);
      const copy = await copyIncludedFiles(worktrees, wtPath);
      warnings.push(...copy.warnings);
      if (copy.copied.length > 0) {
        marker.copiedFiles = await recordCopies(wtPath, copy.copied);
        await writeJson(path.join(wtPath, MARKER_FILE), marker);
      }

      if (worktrees.config.worktrees.post_create) {
        journal.step = 'post-create';
        await guard.writeJournal(journal);
        await runPostCreate(worktrees.config.worktrees.post_create, wtPath, planInWt);
      }

      journal.step = 'validate';
      await guard.writeJournal(journal);
      const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length > 0) {
        const first = errors[0]!;
        warnings.push(`the plan has ${errors.length} error${errors.length === 1 ? '' : 's'} (line ${first.line}: ${first.message}); run "planctl validate ${marker.plan}" in the worktree`);
      }
      warnings.push(...worktrees.config.warnings);

      await fs.rm(guard.journalPath(name), { force: true });
      const entry = (await worktrees.entries()).find((e) => samePath(e.info.path, wtPath));
      const described = entry ? await describeOne(worktrees, entry, target) : undefined;
      if (!described) throw new GitError('git-failed', `git does not list the new worktree ${worktrees.shown(wtPath)}`);
      return { ...described, attached: branchExists, copiedFiles: copy.copied, warnings };
    } catch (err) {
      // Nothing half-made: undo what the journal says we did, then report the original failure.
      if (journaled) await guard.undoCreate(journal).catch(() => undefined);
      throw translateIoError(err);
    }
  } finally {
    await release();
  }
}

/** The plan's path relative to the worktree holding it: the same path in the new worktree. */
async function locatePlan(worktrees: PlanWorktrees, planAbs: string): Promise<string> {
  const real = await realish(planAbs);
  const roots = (await worktrees.git.listWorktrees()).filter((w) => !w.bare && !w.prunable).map((w) => w.path);
  // The innermost worktree: plan worktrees may live inside the main checkout.
  const root = roots.filter((r) => isInside(r, real)).sort((a, b) => b.length - a.length)[0];
  if (!root) throw new WorktreeError('invalid-plan', `${planAbs} is not inside this repository (${worktrees.repoRoot})`);
  return path.relative(root, real);
}

/**
 * Copies the main checkout's files matching `.worktreeinclude` or `copy_files` (gitignore syntax).
 * Only files git ignores are copied (`.env`, local settings): tracked files come with the checkout,
 * possibly in another version, and an untracked but not ignored copy would make the new worktree dirty.
 */
async function copyIncludedFiles(worktrees: PlanWorktrees, wtPath: string): Promise<{ copied: string[]; warnings: string[] }> {
  const includeText = await fs.readFile(path.join(worktrees.repoRoot, WORKTREE_INCLUDE_FILE), 'utf8').catch(() => '');
  if (includeText.trim().length === 0 && worktrees.config.worktrees.copy_files.length === 0) return { copied: [], warnings: [] };
  // add() splits a string on newlines only when given it alone, not inside an array.
  const ig = ignore().add(includeText).add(worktrees.config.worktrees.copy_files);
  const source = worktrees.repoRoot;
  const skipPrefix = isInside(source, worktrees.worktreesDir) ? `${relativeToRoot(source, worktrees.worktreesDir)}/` : undefined;
  const list = async (args: string[]) =>
    (await worktrees.git.read(['-C', source, 'ls-files', '-z', '--others', ...args]))
      .split('\0')
      .filter((f) => f.length > 0 && !f.endsWith('/') && !(skipPrefix && f.startsWith(skipPrefix)));
  const [ignored, untracked] = await Promise.all([list(['--ignored', '--exclude-standard']), list(['--exclude-standard'])]);
  const copied: string[] = [];
  const warnings: string[] = [];
  for (const rel of ignored) {
    if (!ig.ignores(rel)) continue;
    const dest = path.join(wtPath, rel);
    if (!isInside(wtPath, dest)) continue;
    if (existsSync(dest)) {
      warnings.push(`did not copy ${rel}: the worktree already has it`);
      continue;
    }
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.cp(path.join(source, rel), dest, { verbatimSymlinks: true, preserveTimestamps: true, errorOnExist: true, force: false });
    copied.push(rel);
  }
  for (const rel of untracked) {
    if (ig.ignores(rel)) warnings.push(`did not copy ${rel}: git does not ignore it, so the copy would count as an uncommitted change (add it to .gitignore, or commit it)`);
  }
  return { copied, warnings };
}

/**
 * Adds to the repository's local exclude file (`.git/info/exclude`, shared by all worktrees, never
 * committed): the worktrees directory, so the main checkout's `git status` stays clean, and
 * `.claude-context/`, so an agent's `git add -A` in a worktree does not commit our per-worktree
 * context and merge it into the main branch.
 */
async function excludeOurFiles(worktrees: PlanWorktrees): Promise<void> {
  const lines = [`/${CONTEXT_DIR}/`];
  if (isInside(worktrees.repoRoot, worktrees.worktreesDir)) lines.push(`/${relativeToRoot(worktrees.repoRoot, worktrees.worktreesDir)}/`);
  const exclude = path.join(await worktrees.git.commonDir(), 'info', 'exclude');
  const current = await fs.readFile(exclude, 'utf8').catch(() => '');
  const present = new Set(current.split(/\r?\n/));
  const missing = lines.filter((l) => !present.has(l));
  if (missing.length === 0) return;
  await fs.mkdir(path.dirname(exclude), { recursive: true });
  const prefix = current.length > 0 && !current.endsWith('\n') ? '\n' : '';
  await fs.appendFile(exclude, `${prefix}# plan worktrees (plan-orchestrator)\n${missing.join('\n')}\n`);
}

/** Variables that would point a git run in the post-create command at another repository (set inside hooks). */
const REPO_ENV = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_NAMESPACE'];

/** Runs `worktrees.post_create` as an argv array (no shell) in the new worktree. */
async function runPostCreate(argv: string[], cwd: string, planFile: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, CLAUDE_WORKTREE: cwd, PLAN_FILE: planFile };
  for (const key of REPO_ENV) delete env[key];
  const [program, ...args] = argv;
  const shown = JSON.stringify(argv);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(program!, args, { cwd, env, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? `${program} was not found` : err.message;
      reject(new WorktreeError('post-create-failed', `worktrees.post_create ${shown} could not run: ${why}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const last = tail.trim().split(/\r?\n/).pop() ?? '';
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      reject(new WorktreeError('post-create-failed', `worktrees.post_create ${shown} ${how}${last ? `: ${last}` : ''}; the worktree was not created`));
    });
  });
}

function translateIoError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') return new WorktreeError('disk-full', 'the disk is full: free some space (planctl worktree cleanup removes finished worktrees) and try again; nothing was created');
  if (code === 'EDQUOT') return new WorktreeError('disk-full', 'the disk quota is exhausted: free some space and try again; nothing was created');
  return err;
}
