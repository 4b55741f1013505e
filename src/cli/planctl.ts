/**
 * planctl: the command line over src/core. Every command is a thin shell around a core call;
 * all plan knowledge lives in core so the extension and the orchestrator behave identically.
 *
 * Exit codes: 0 ok, 1 `validate` found errors, 2 the command could not run (bad input).
 */
import { Command, CommanderError, Option } from 'commander';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import { PlanError } from '../core/source.js';
import { openPlan, requireTask, type PlanSession } from '../core/session.js';
import { resolvePlanPath, worktreeRoot, writePlanPointer, readPlanFile, relativeToRoot, statusFileFor } from '../core/planFile.js';
import { findRepoRoot } from '../core/status.js';
import { readApprovedCommands } from '../run/approvals.js';
import { gateCommands } from '../run/gates.js';
import { fileGates } from '../run/fileGates.js';
import { nodeStates, readyTasks, simulate, simulateBatched, waitingFor, type TaskStatus } from '../core/schedule.js';
import { planProgress, type PlanProgress } from '../core/progress.js';
import { tickCompletedTasks, withOriginalBom } from '../core/sync.js';
import { analyzeOffThread } from '../core/offThread.js';
import type { Diagnostic } from '../core/diagnostics.js';
import { collectAllPlans } from '../run/allPlans.js';
import { registerWorktreeCommands } from './worktreeCommands.js';
import { registerConflictCommands } from './conflictCommands.js';
import { registerOrchestrateCommands } from './orchestrateCommands.js';
import { registerServeCommands } from './serveCommands.js';
import { registerSetupCommands } from './setupCommands.js';
import { registerTopCommands } from './topCommands.js';
import { relativeToCwd, table, wholeNumber } from './format.js';
import { formatMinutes } from '../core/scheduleData.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

class UsageExit extends Error {
  constructor(readonly exitCode: number) {
    super('exit');
  }
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);

export function buildProgram(io: Io): Command {
  const program = new Command('planctl')
    .description('Check, schedule and track markdown implementation plans')
    .version('0.1.0')
    .showHelpAfterError('(run "planctl --help" for usage)')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  const planOption = (): Option => new Option('--plan <file>', 'the plan (default: PLAN_FILE, then this worktree\'s .claude-context/current-plan.txt)');

  const session = async (explicit: string | undefined): Promise<PlanSession> => {
    const resolved = await resolvePlanPath({ explicit, cwd: io.cwd, env: io.env });
    return openPlan(resolved.path);
  };

  program
    .command('validate')
    .description('report duplicate IDs, unknown dependencies, cycles and file conflicts')
    .argument('[plan]', 'plan file')
    .addOption(planOption())
    .option('--json', 'machine-readable output')
    .action(async (planArg: string | undefined, opts: { plan?: string; json?: boolean }) => {
      const resolved = await resolvePlanPath({ explicit: opts.plan ?? planArg, cwd: io.cwd, env: io.env });
      const text = await readPlanFile(resolved.path);
      // Off the main thread, so that Ctrl-C and SIGTERM end a long analysis at once (offThread.ts).
      const { diagnostics, plan } = await analyzeOffThread(text);
      const shown = relativeToCwd(io.cwd, resolved.path);
      // Everything a run would execute besides the agents: the explicit gate commands, nothing else.
      const approved = new Set(await readApprovedCommands(statusFileFor(resolved.path, plan, findRepoRoot(path.dirname(resolved.path)))).catch(() => []));
      const commands = gateCommands(plan).map((g) => ({ ...g, approved: approved.has(g.command) }));
      // Files the VERIFY items require (checked after their phase, never executed).
      const files = fileGates(plan);
      if (opts.json) {
        io.out(json({ plan: shown, diagnostics: diagnostics.map(publicDiagnostic), commands, files }));
      } else {
        for (const d of diagnostics) io.out(`${shown}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`);
        io.out(summaryLine(diagnostics));
        for (const c of commands) io.out(`${shown}:${c.line}: ${c.taskId} runs: $ ${c.command}${c.approved ? '' : '  (not approved yet)'}`);
        for (const f of files) io.out(`${shown}:${f.line}: ${f.taskId} checks: ${f.files.join(', ')} exist${f.files.length === 1 ? 's' : ''} and ${f.files.length === 1 ? 'is' : 'are'} not empty`);
      }
      if (diagnostics.some((d) => d.severity === 'error')) throw new UsageExit(1);
    });

  program
    .command('show')
    .description('the parsed plan: phases, tasks, dependencies, files, VERIFY items')
    .argument('[plan]', 'plan file')
    .addOption(planOption())
    .option('--json', 'machine-readable output')
    .action(async (planArg: string | undefined, opts: { plan?: string; json?: boolean }) => {
      const resolved = await resolvePlanPath({ explicit: opts.plan ?? planArg, cwd: io.cwd, env: io.env });
      const { plan } = await analyzeOffThread(await readPlanFile(resolved.path));
      const phases = plan.phases.map((p) => ({
        id: p.id,
        title: p.title,
        implicit: p.implicit,
        line: p.range.start.line,
        tasks: p.taskIndices.map((i) => {
          const t = plan.tasks[i]!;
          return {
            id: t.id,
            title: t.title,
            checked: t.checkbox === 'checked',
            checkbox: t.checkbox,
            dependsOn: t.dependsOn.map((d) => (d.kind === 'phase' ? `Phase ${d.target}` : d.target)),
            files: t.files.map((f) => f.path),
            line: t.range.start.line,
            ...(t.estimateMinutes !== undefined ? { estimateMinutes: t.estimateMinutes } : {}),
            ...(t.labels.length ? { labels: t.labels } : {}),
            ...(t.parentId ? { parent: t.parentId } : {}),
          };
        }),
        verify: p.verifyIndices.map((i) => {
          const t = plan.tasks[i]!;
          return { id: t.id, title: t.title, checked: t.checkbox === 'checked', line: t.range.start.line, ...(t.command ? { command: t.command } : {}) };
        }),
        verifyBlocking: p.verifyBlocking,
      }));
      const shape = {
        title: plan.title,
        dialect: plan.dialect,
        metadata: Object.fromEntries(plan.metadata.map((m) => [m.key, m.value])),
        planDependencies: plan.planDependencies.map((d) => (d.phase !== undefined ? `${d.name} (phase ${d.phase})` : d.name)),
        phases,
      };
      if (opts.json) return io.out(json(shape));
      io.out(`${plan.title || path.basename(resolved.path)}  (${plan.dialect} dialect)`);
      for (const p of phases) {
        io.out(p.implicit ? 'Tasks' : `Phase ${p.id}: ${p.title}`);
        for (const t of p.tasks) {
          const deps = t.dependsOn.length ? `  ⇠ ${t.dependsOn.join(', ')}` : '';
          io.out(`  [${t.checked ? 'x' : ' '}] ${t.id} ${t.title}${deps}`);
        }
        for (const v of p.verify) io.out(`  VERIFY [${v.checked ? 'x' : ' '}] ${v.id} ${v.title}`);
      }
    });

  program
    .command('next')
    .description('the tasks that can start now, longest remaining path first')
    .argument('[count]', 'how many (default 5)')
    .addOption(planOption())
    .option('--json', 'machine-readable output')
    .action(async (count: string | undefined, opts: { plan?: string; json?: boolean }) => {
      const n = count === undefined ? 5 : wholeNumber(count, 'count', 1);
      const s = await session(opts.plan);
      const tasks = readyTasks(s.analysis.plan, s.analysis.graph, s.statusOf, n);
      if (opts.json) return io.out(json({ tasks }));
      if (tasks.length === 0) return io.out(nothingReadyMessage(s));
      for (const t of tasks) {
        const retry = t.status === 'failed' ? ' (retry)' : '';
        io.out(`${t.id.padEnd(8)} ${t.title}${retry}  [${t.estimateMinutes}m, path ${t.priority}m]`);
      }
    });

  const transitions: Array<[string, TaskStatus, string]> = [
    ['start', 'in_progress', 'mark a task as started'],
    ['complete', 'completed', 'mark a task as completed'],
    ['fail', 'failed', 'mark a task as failed (--reason says why)'],
    ['skip', 'skipped', 'skip a task (counts as done for its dependents)'],
    ['reset', 'pending', 'put a task back to pending'],
  ];
  for (const [name, status, description] of transitions) {
    const cmd = program
      .command(name)
      .description(description)
      .argument('<task-id>', 'task ID, e.g. 2.3 or T012')
      .addOption(planOption())
      .option('--json', 'machine-readable output');
    if (name === 'fail') cmd.option('--reason <text>', 'what went wrong');
    cmd.option('--agent <name>', 'who works on it (recorded as the holder)');
    if (name === 'start') cmd.option('--force', 'take the task over even while another live process holds it');
    cmd.action(async (id: string, opts: { plan?: string; json?: boolean; reason?: string; agent?: string; force?: boolean }) => {
      const s = await session(opts.plan);
      requireTask(s, id);
      if (status === 'in_progress') {
        const { plan, graph } = s.analysis;
        const state = nodeStates(plan, graph, s.statusOf);
        const waits = waitingFor(plan, graph, state, graph.indexById.get(id)!);
        if (waits.length > 0) io.err(`planctl: warning: ${id} is not ready; it waits for ${waits.map((w) => `${w.id} (${w.state})`).join(', ')}`);
      }
      // start claims the task: checked and recorded under the status lock, refused while a live process
      // holds it. The holder is our parent (the shell or agent that ran planctl): planctl exits at once.
      const updated =
        status === 'in_progress'
          ? await s.store.claimTask(id, { agent: opts.agent, force: opts.force, holderPid: process.ppid })
          : await s.store.setTaskStatus(id, status, { error: opts.reason, agent: opts.agent });
      if (opts.json) io.out(json({ task: id, status, version: updated.version, statusFile: relativeToCwd(io.cwd, s.statusPath) }));
      else io.out(`${id} → ${status}`);
    });
  }

  program
    .command('status')
    .description('progress per phase, for one plan or every plan of every worktree')
    .addOption(planOption())
    .option('--all-plans', 'every plan of every worktree of this repository')
    .option('--json', 'machine-readable output')
    .action(async (opts: { plan?: string; json?: boolean; allPlans?: boolean }) => {
      if (opts.allPlans) {
        const plans = await collectAllPlans(io.cwd);
        if (opts.json) return io.out(json({ plans }));
        if (plans.length === 0) return io.out('No plans found in any worktree (run "planctl use <plan>" in a worktree).');
        io.out(table([
          ['PLAN', 'WORKTREE', 'BRANCH', 'DONE', 'RUNNING', 'FAILED', '%'],
          ...plans.map((p) => [p.plan, p.worktree, p.branch ?? '(detached)', `${p.done}/${p.total}`, String(p.running), String(p.failed), `${p.percent}%`]),
        ]));
        return;
      }
      const s = await session(opts.plan);
      const progress = planProgress(s.analysis.plan, s.analysis.graph, s.statusOf);
      if (opts.json) {
        return io.out(json({ plan: s.relPath, statusFile: relativeToRoot(s.root, s.statusPath), version: s.status.version, ...progress }));
      }
      io.out(`${progress.title || s.relPath}: ${progress.done}/${progress.total} done (${progress.percent}%)`);
      io.out(progressTable(progress));
    });

  program
    .command('simulate')
    .description('list-schedule the plan on W workers with the estimates; prints makespan and critical path')
    .addOption(planOption())
    .requiredOption('--workers <n>', 'number of parallel workers')
    .option('--remaining', 'leave out work already done')
    .option('--json', 'machine-readable output')
    .action(async (opts: { plan?: string; json?: boolean; workers: string; remaining?: boolean }) => {
      const workers = wholeNumber(opts.workers, '--workers', 1);
      const s = await session(opts.plan);
      const { plan, graph } = s.analysis;
      const options = { workers, ...(opts.remaining ? { statusOf: s.statusOf } : {}) };
      const result = simulate(plan, graph, options);
      const batched = simulateBatched(plan, graph, options);
      const serial = result.totalWork;
      if (opts.json) {
        return io.out(json({ ...result, batchedMakespan: batched.makespan, serialMinutes: serial }));
      }
      io.out(`workers:        ${workers}`);
      io.out(`makespan:       ${formatMinutes(result.makespan)}  (lower bound ${formatMinutes(result.lowerBound)})`);
      io.out(`one worker:     ${formatMinutes(serial)}  → speedup ×${(serial / Math.max(result.makespan, 1e-9)).toFixed(2)}`);
      io.out(`batched (seeds' pattern): ${formatMinutes(batched.makespan)}`);
      io.out(`critical path:  ${result.criticalPath.join(' → ')}  (${formatMinutes(result.criticalPathMinutes)})`);
    });

  program
    .command('use')
    .description("make a plan this worktree's active plan (.claude-context/current-plan.txt and the seeds' .claude/current-plan.txt)")
    .argument('<plan>', 'plan file')
    .action(async (planArg: string) => {
      const planPath = path.resolve(io.cwd, planArg);
      const text = await readPlanFile(planPath);
      const root = worktreeRoot({ cwd: io.cwd, env: io.env });
      const pointer = await writePlanPointer(root, planPath, { both: true });
      // The plan's deliverables go to findings/ (the prompt and the slash commands name it): there from the start.
      const statusFile = statusFileFor(planPath, (await analyzeOffThread(text)).plan, findRepoRoot(path.dirname(planPath)));
      await fs.mkdir(path.join(path.dirname(statusFile), 'findings'), { recursive: true });
      io.out(`active plan: ${relativeToCwd(io.cwd, planPath)} (${relativeToCwd(io.cwd, pointer)}, .claude/current-plan.txt)`);
    });

  program
    .command('sync')
    .description('tick the markdown checkboxes of completed tasks (no other byte changes)')
    .addOption(planOption())
    .action(async (opts: { plan?: string }) => {
      const s = await session(opts.plan);
      const { text, ticked } = tickCompletedTasks(s.text, s.analysis.plan, s.statusOf);
      if (ticked.length === 0) return io.out('nothing to tick: every completed task is already checked');
      // Refuse to overwrite edits made since we read the plan.
      if ((await readPlanFile(s.path)) !== s.text) throw new PlanError('plan-unreadable', `${s.relPath} changed while syncing; run sync again`);
      const mode = (await fs.stat(s.path)).mode;
      // The reader dropped a byte order mark; the file keeps it.
      await writeFileAtomic(s.path, withOriginalBom(text, await fs.readFile(s.path)), { encoding: 'utf8', mode });
      io.out(`ticked ${ticked.length} checkbox${ticked.length === 1 ? '' : 'es'}: ${ticked.join(', ')}`);
    });

  registerWorktreeCommands(program, io);
  registerConflictCommands(program, io);
  // orchestrate ends with its own exit codes (1 failed tasks, 130/143 signals), not commander's.
  registerOrchestrateCommands(program, { ...io, exitWith: (code: number): never => { throw new UsageExit(code); } });
  registerServeCommands(program, io);
  registerTopCommands(program, io);
  registerSetupCommands(program, { ...io, exitWith: (code: number): never => { throw new UsageExit(code); } });

  return program;
}

function publicDiagnostic(d: Diagnostic): Record<string, unknown> {
  return { code: d.code, severity: d.severity, line: d.line, column: d.column, endLine: d.endLine, endColumn: d.endColumn, message: d.message, tasks: d.tasks };
}

function summaryLine(ds: Diagnostic[]): string {
  const count = (s: string): number => ds.filter((d) => d.severity === s).length;
  const e = count('error');
  const w = count('warning');
  return `${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}`;
}

function nothingReadyMessage(s: PlanSession): string {
  const p = planProgress(s.analysis.plan, s.analysis.graph, s.statusOf);
  if (p.total > 0 && p.done === p.total && p.checks.done === p.checks.total) return 'All tasks are done.';
  if (p.running > 0) return `No task can start now: ${p.running} running; the rest wait for them.`;
  if (p.failed > 0) return `No task can start now: ${p.failed} failed; retry, skip or reset them.`;
  return 'No task can start now (see "planctl validate" for cycles).';
}

function progressTable(p: PlanProgress): string {
  return table([
    ['PHASE', 'TITLE', 'DONE', 'RUNNING', 'FAILED'],
    ...p.phases.map((ph) => [ph.id || '-', ph.title, `${ph.done}/${ph.total}`, String(ph.running), String(ph.failed)]),
  ]);
}





/** Runs planctl; returns the exit code instead of exiting so tests can call it in-process. */
export async function runPlanctl(argv: string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof UsageExit) return e.exitCode;
    if (e instanceof CommanderError) {
      // Help and --version end through exitOverride too, with code 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    // By name too: `planctl serve` loads its server from a second bundle with its own PlanError class.
    if (e instanceof PlanError || (e instanceof Error && (e.name === 'GitError' || e.name === 'PlanError'))) {
      io.err(`planctl: ${e.message}`);
      return 2;
    }
    io.err(`planctl: internal error: ${e instanceof Error ? e.message : String(e)}`);
    if (io.env.PLANCTL_DEBUG && e instanceof Error && e.stack) io.err(e.stack);
    return 2;
  }
}
