/**
 * `planctl orchestrate` (run one plan with parallel agents) and `planctl orchestrators list`.
 *
 * Exit codes: 0 every task done, 1 some task failed or is blocked by one, 2 bad input or refused
 * (e.g. another orchestrator runs this plan), 130/143 stopped by SIGINT/SIGTERM.
 */
import { Command, CommanderError } from 'commander';
import path from 'node:path';
import { Orchestrator, listRegistry, registryDir, type OrchestratorEvent } from '../core/orchestrator.js';
import { resolvePlanPath } from '../core/planFile.js';
import { PlanError } from '../core/source.js';
import { findRepoRoot } from '../core/status.js';
import { GitService } from '../git/gitService.js';

export interface OrchestrateCommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /**
   * Ends the command with this exit code. planctl passes one that throws its UsageExit, because
   * runPlanctl turns every other non-zero CommanderError into 2 and we need 1, 130 and 143.
   */
  exitWith?: (code: number) => never;
}

interface OrchestrateOpts {
  plan?: string;
  maxParallel?: string;
  agent?: string;
  retries?: string;
  timeout?: string;
  commit: boolean;
  grace?: string;
}

function wholeNumber(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new PlanError('invalid-argument', `${name} must be a whole number of at least ${min}, not "${value}"`);
  return Number(value);
}

function seconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new PlanError('invalid-argument', `${name} must be a positive number of seconds, not "${value}"`);
  return Math.round(n * 1000);
}

export function parseAgent(value: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new PlanError('invalid-argument', `--agent must be a JSON array of strings, e.g. '["claude","-p","{prompt}"]', not ${value}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string') || !parsed[0]) {
    throw new PlanError('invalid-argument', `--agent must be a non-empty JSON array of strings, e.g. '["claude","-p","{prompt}"]'`);
  }
  return parsed as string[];
}

export function formatEvent(e: OrchestratorEvent): string {
  switch (e.type) {
    case 'started':
      return `▶ ${e.id} started${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}`;
    case 'completed':
      return `✓ ${e.id} done in ${(e.ms / 1000).toFixed(1)} s${e.commit ? ` (${e.commit.slice(0, 7)})` : ''}`;
    case 'failed':
      return `✗ ${e.id} failed: ${e.error}${e.retrying ? ' (retrying)' : ''}`;
    case 'unchecked':
      return `✓ ${e.id} not checked (VERIFY item without a command)`;
    case 'reset':
      return `↺ ${e.id} back to pending: ${e.reason}`;
    case 'stopping':
      return `■ ${e.signal}: no new tasks; waiting for running ones`;
    case 'warning':
      return `! ${e.message}`;
  }
}

export function registerOrchestrateCommands(program: Command, io: OrchestrateCommandIo): void {
  program
    .command('orchestrate')
    .description('run the plan: keep up to N agents busy with ready tasks, commit each finished task')
    .option('--plan <file>', "the plan (default: PLAN_FILE, then this worktree's .claude-context/current-plan.txt)")
    .option('--max-parallel <n>', 'agents at once (default 2)')
    .option('--agent <json>', 'agent argv as a JSON array; placeholders {id} {title} {body} {plan} {worktree} {prompt} {estimate} (default ["claude","-p","{prompt}"])')
    .option('--retries <n>', 'extra attempts for a failed task (default 1)')
    .option('--timeout <seconds>', 'per-task time limit')
    .option('--no-commit', 'do not commit after each task')
    .option('--grace <seconds>', 'after Ctrl-C/SIGTERM, how long running tasks may finish (default 30)')
    .action(async (opts: OrchestrateOpts) => {
      const maxParallel = wholeNumber(opts.maxParallel, '--max-parallel', 1);
      const retries = wholeNumber(opts.retries, '--retries', 0);
      const timeoutMs = seconds(opts.timeout, '--timeout');
      const graceMs = seconds(opts.grace, '--grace');
      const agent = opts.agent !== undefined ? parseAgent(opts.agent) : undefined;
      const resolved = await resolvePlanPath({ explicit: opts.plan, cwd: io.cwd, env: io.env });
      const orchestrator = new Orchestrator({
        planPath: resolved.path,
        commit: opts.commit,
        handleSignals: true,
        env: io.env,
        onEvent: (e) => io.out(formatEvent(e)),
        ...(maxParallel !== undefined ? { maxParallel } : {}),
        ...(retries !== undefined ? { retries } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(graceMs !== undefined ? { graceMs } : {}),
        ...(agent ? { agent } : {}),
      });
      const s = await orchestrator.run();
      io.out(
        `${s.completed.length} done, ${s.failed.length} failed${s.failed.length ? ` (${s.failed.join(', ')})` : ''}, ${s.blocked.length} not run${s.blocked.length ? ` (${s.blocked.join(', ')})` : ''} in ${(s.wallMs / 1000).toFixed(1)} s`,
      );
      const code = s.signal ? (s.signal === 'SIGINT' ? 130 : 143) : s.failed.length > 0 || s.blocked.length > 0 ? 1 : 0;
      if (code === 0) return;
      if (io.exitWith) io.exitWith(code);
      throw new CommanderError(code, 'planctl.orchestrate', 'orchestrate did not finish every task');
    });

  const group = program.command('orchestrators').description('orchestrators recorded for this repository');
  group
    .command('list')
    .description('running (and dead) orchestrators: plan, worktree, pid, alive')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const git = await GitService.open(io.cwd).catch(() => undefined);
      if (!git) throw new PlanError('invalid-argument', `${io.cwd} is not inside a git repository; the orchestrator registry lives in its git dir`);
      const entries = await listRegistry(await registryDir(git, path.join(findRepoRoot(io.cwd), 'x')));
      if (opts.json) return io.out(JSON.stringify({ orchestrators: entries }, null, 2));
      if (entries.length === 0) return io.out('No orchestrators recorded.');
      for (const e of entries) {
        io.out(`${e.name}  pid ${e.pid} on ${e.host}  ${e.alive ? 'alive' : 'dead'}  since ${e.startedAt}  ${path.relative(io.cwd, e.plan) || e.plan}  (worktree ${e.worktree})`);
      }
    });
}
