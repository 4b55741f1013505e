/**
 * `planctl worktree …`: one git worktree per plan. Thin over WorktreeManager; all decisions live
 * there so the extension behaves the same.
 *
 * Exit codes follow planctl: 0 done, 2 refused or failed (one line on stderr saying why). A merge or
 * rebase that stops on conflicts also exits 2, after printing the conflicted files.
 */
import { Command, CommanderError, Option } from 'commander';
import path from 'node:path';
import { MERGE_STRATEGIES, type MergeStrategy } from '../core/workflowConfig.js';
import { relativeToCwd, table } from './format.js';
import { formatBytes } from '../git/diskUsage.js';
import { WorktreeManager } from '../git/worktreeManager.js';
import {
  WorktreeError,
  type CleanupReport,
  type CompleteResult,
  type PlanWorktree,
  type RebaseResult,
  type WorktreeListReport,
} from '../git/worktreeResults.js';

/** The part of planctl's Io these commands use. */
export interface WorktreeCommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);

/**
 * The `worktree` command group, created on first use. Other files (`worktree conflicts`) register
 * their subcommands on the same object, whichever registers first.
 */
export function worktreeCommand(program: Command): Command {
  const existing = program.commands.find((c) => c.name() === 'worktree');
  if (existing) return existing;
  return program.command('worktree').description('one git worktree per plan: create, list, complete, rebase, remove, clean up');
}

export function registerWorktreeCommands(program: Command, io: WorktreeCommandIo): Command {
  const group = worktreeCommand(program);
  const open = () => WorktreeManager.open(io.cwd);
  const shown = (p: string) => relativeToCwd(io.cwd, p);
  const warn = (w: string) => io.err(`planctl: warning: ${w}`);

  group
    .command('create')
    .description('create worktrees/plan-<name> on a new branch plan/<name> for a plan, with its context')
    .argument('<plan>', 'plan file')
    .option('--base <ref>', 'branch or commit to start from (default: the main branch)')
    .option('--attach', 'check out the existing branch plan/<name> instead of creating it')
    .option('--name <name>', 'worktree name (default: the plan file name); made into a safe slug')
    .option('--json', 'machine-readable output')
    .action(
      guard(io, async (plan: string, opts: { base?: string; attach?: boolean; name?: string; json?: boolean }) => {
        const manager = await open();
        const created = await manager.create(path.resolve(io.cwd, plan), {
          ...(opts.base !== undefined ? { base: opts.base } : {}),
          ...(opts.attach ? { attach: true } : {}),
          ...(opts.name !== undefined ? { name: opts.name } : {}),
        });
        if (opts.json) return io.out(json(created));
        const from = created.attached ? 'attached existing branch' : `new branch from ${created.base}`;
        io.out(`created ${shown(created.path)} on ${created.branch} (${from})`);
        if (created.plan) io.out(`  plan: ${created.plan}`);
        if (created.copiedFiles.length) io.out(`  copied: ${created.copiedFiles.join(', ')}`);
        io.out(`  cd ${shown(created.path)}`);
        created.warnings.forEach(warn);
      }),
    );

  group
    .command('list')
    .description('plan worktrees: branch, base, ahead/behind, dirty, last activity, disk size, stale')
    .option('--json', 'machine-readable output')
    .action(
      guard(io, async (opts: { json?: boolean }) => {
        const report = await (await open()).listReport();
        if (opts.json) return io.out(json(report));
        io.out(formatList(report, shown));
        report.warnings.forEach(warn);
      }),
    );

  group
    .command('path')
    .description("print a plan worktree's directory (cd \"$(planctl worktree path <name>)\")")
    .argument('<name>', 'plan worktree name')
    .action(
      guard(io, async (name: string) => {
        io.out(await (await open()).pathOf(name));
      }),
    );

  group
    .command('remove')
    .description('remove a plan worktree (refused while it has uncommitted or unmerged work, or git-ignored files that would be lost)')
    .argument('<name>', 'plan worktree name')
    .option('--force', 'remove even with uncommitted changes, unmerged commits or git-ignored files that would be lost')
    .option('--delete-branch', 'delete the branch plan/<name> too (kept by default)')
    .option('--json', 'machine-readable output')
    .action(
      guard(io, async (name: string, opts: { force?: boolean; deleteBranch?: boolean; json?: boolean }) => {
        const result = await (await open()).remove(name, { force: !!opts.force, deleteBranch: !!opts.deleteBranch });
        if (opts.json) return io.out(json(result));
        const branch = result.branch ? `; branch ${result.branch} ${result.branchDeleted ? 'deleted' : 'kept'}` : '';
        io.out(`removed ${shown(result.path)}${branch}`);
      }),
    );

  group
    .command('complete')
    .description('merge plan/<name> into the main branch (in the main checkout), then remove its worktree')
    .argument('<name>', 'plan worktree name')
    .addOption(new Option('--strategy <strategy>', 'merge (a merge commit), squash, or rebase (then fast-forward); default: git-workflow.json').choices([...MERGE_STRATEGIES]))
    .option('--rebase-dependents', 'rebase plan branches based on this one onto the main branch afterwards')
    .option('--delete-branch', 'delete plan/<name> after merging (default: worktrees.auto_cleanup)')
    .option('--keep-branch', 'keep plan/<name> after merging')
    .option('--json', 'machine-readable output')
    .action(
      guard(io, async (name: string, opts: { strategy?: MergeStrategy; rebaseDependents?: boolean; deleteBranch?: boolean; keepBranch?: boolean; json?: boolean }) => {
        if (opts.deleteBranch && opts.keepBranch) throw new WorktreeError('invalid-option', '--delete-branch and --keep-branch contradict each other');
        const result = await (await open()).complete(name, {
          ...(opts.strategy ? { strategy: opts.strategy } : {}),
          ...(opts.rebaseDependents ? { rebaseDependents: true } : {}),
          ...(opts.deleteBranch ? { deleteBranch: true } : opts.keepBranch ? { deleteBranch: false } : {}),
        });
        if (opts.json) io.out(json(result));
        else {
          io.out(formatComplete(result, shown));
          result.warnings.forEach(warn);
        }
        if (result.outcome === 'conflict') stop(io, `${result.branch} is blocked: ${result.hint}`);
      }),
    );

  group
    .command('rebase')
    .description('rebase plan/<name> onto the updated main branch, in its worktree')
    .argument('<name>', 'plan worktree name')
    .option('--json', 'machine-readable output')
    .action(
      guard(io, async (name: string, opts: { json?: boolean }) => {
        const result = await (await open()).rebase(name);
        if (opts.json) io.out(json(result));
        else io.out(formatRebase(result));
        if (result.outcome === 'conflict') stop(io, `${result.branch} is blocked: ${result.hint}`);
      }),
    );

  group
    .command('cleanup')
    .description('repair interrupted creates; remove merged and stale clean worktrees (never dirty or unmerged ones)')
    .option('--dry-run', 'report what would be removed, change nothing')
    .option('--json', 'machine-readable output')
    .action(
      guard(io, async (opts: { json?: boolean; dryRun?: boolean }) => {
        const report = await (await open()).cleanup({ dryRun: !!opts.dryRun });
        if (opts.json) return io.out(json(report));
        io.out(formatCleanup(report, shown, !!opts.dryRun));
      }),
    );

  return group;
}

/** Turns a WorktreeError into planctl's one line on stderr and exit code 2; other errors pass to runPlanctl. */
function guard<A extends unknown[]>(io: WorktreeCommandIo, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (e) {
      if (e instanceof WorktreeError) stop(io, e.message);
      throw e;
    }
  };
}

function stop(io: WorktreeCommandIo, message: string): never {
  io.err(`planctl: ${message}`);
  // runPlanctl maps a CommanderError to its exit status without printing anything more.
  throw new CommanderError(2, 'planctl.worktree', message);
}

function formatList(report: WorktreeListReport, shown: (p: string) => string): string {
  if (report.worktrees.length === 0) return 'No plan worktrees (create one with "planctl worktree create <plan>").';
  const rows = [
    ['NAME', 'BRANCH', 'PLAN', 'BASE', 'AHEAD/BEHIND', 'DIRTY', 'LAST ACTIVITY', 'SIZE', 'STATE', 'PATH'],
    ...report.worktrees.map((w) => [
      w.name,
      w.branch ?? '(detached)',
      w.plan ?? '-',
      w.comparedWith,
      `+${w.ahead}/-${w.behind}`,
      w.dirty ? 'yes' : 'no',
      w.lastActivityAt ? w.lastActivityAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-',
      formatBytes(w.diskBytes),
      stateOf(w),
      shown(w.path),
    ]),
  ];
  const total = `${report.worktrees.length} of at most ${report.maxConcurrent} plan worktrees; ${formatBytes(report.totalDiskBytes)} on disk (warning above ${report.diskWarnMb} MB)`;
  return `${table(rows)}\n${total}`;
}

function stateOf(w: PlanWorktree): string {
  const flags = [w.missing ? 'missing' : '', w.blocked ? 'blocked' : '', w.stale ? 'stale' : '', w.locked ? 'locked' : ''].filter(Boolean);
  return flags.length ? flags.join(',') : 'ok';
}

function formatComplete(r: CompleteResult, shown: (p: string) => string): string {
  if (r.outcome === 'conflict') {
    const lines = [`${r.strategy} of ${r.branch} into ${r.target} stopped on conflicts in ${shown(r.conflicts!.where)}:`];
    for (const f of r.conflicts!.files) lines.push(`  ${f}`);
    lines.push(`left as it is for you to finish: ${r.hint}`);
    return lines.join('\n');
  }
  const what = r.alreadyMerged ? `${r.branch} was already in ${r.target}; nothing to merge` : `merged ${r.branch} into ${r.target} (${r.strategy}${r.commit ? `, ${r.commit.slice(0, 8)}` : ''})`;
  const lines = [what, `removed the worktree; branch ${r.branch} ${r.branchDeleted ? 'deleted' : 'kept'}`];
  for (const d of r.dependents) {
    const state = d.rebase === 'rebased' ? `rebased onto ${r.target}` : d.rebase === 'conflict' ? `rebase stopped on conflicts (${(d.conflicts ?? []).join(', ')}): ${d.reason}` : d.rebase === 'skipped' ? `not rebased: ${d.reason}` : `based on ${r.branch}: rebase it (planctl worktree rebase ${d.name}) or pass --rebase-dependents`;
    lines.push(`dependent ${d.branch} (${shown(d.path)}): ${state}`);
  }
  return lines.join('\n');
}

function formatRebase(r: RebaseResult): string {
  if (r.outcome === 'rebased') return `rebased ${r.branch} onto ${r.onto}${r.after && r.after !== r.before ? '' : ' (already up to date)'}`;
  return [`rebase of ${r.branch} onto ${r.onto} stopped on conflicts:`, ...(r.conflicts ?? []).map((f) => `  ${f}`), `left as it is for you to finish: ${r.hint}`].join('\n');
}

function formatCleanup(r: CleanupReport, shown: (p: string) => string, dryRun: boolean): string {
  const lines: string[] = [];
  for (const a of r.repaired) lines.push(`repaired ${a.name}: ${a.detail}`);
  for (const x of r.removed) lines.push(`${dryRun ? 'would remove' : 'removed'} ${shown(x.path)} (${x.reason})${x.branchDeleted ? `; ${dryRun ? 'would delete' : 'deleted'} its branch` : ''}`);
  for (const k of r.kept) lines.push(`kept ${shown(k.path)}: ${k.reason}`);
  return lines.length ? lines.join('\n') : 'nothing to clean up';
}


