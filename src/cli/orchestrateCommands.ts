/**
 * `planctl orchestrate` (run one plan with parallel agents, or every active plan with --all, or in
 * the background with --daemon) and `planctl orchestrators list|stop`.
 *
 * Exit codes: 0 every task done, 1 some task failed or is blocked by one, 2 bad input or refused
 * (e.g. another orchestrator runs this plan), 130/143 stopped by SIGINT/SIGTERM.
 */
import { Command, CommanderError } from 'commander';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Orchestrator, type OrchestratorEvent } from '../run/orchestrator.js';
import { isPidAlive, listRegistry, registryDir, runningRecordFor } from '../run/registry.js';
import { isAgentKind, type AgentOverrides } from '../run/agents/index.js';
import { agentFileFor, approveTask, checkToolRule, readApprovedCommands } from '../run/approvals.js';
import { gateCommands, unapprovedCommands } from '../run/gates.js';
import { createInterface } from 'node:readline';
import { loadTransport } from '../run/queue/protocol.js';
import { PlanWorker } from '../run/queue/worker.js';
import { orchestrateAll, type MultiOptions, type MultiSummary } from '../run/multiOrchestrator.js';
import { openPlan, requireTask } from '../core/session.js';
import { resolvePlanPath } from '../core/planFile.js';
import { PlanError } from '../core/source.js';
import { findRepoRoot } from '../core/status.js';
import { GitService } from '../git/gitService.js';
import { parseAgent, wholeNumber } from './format.js';
import { loadTop, onTerminal } from './topCommands.js';

export { parseAgent };

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
  /** Redraw a live block instead of printing lines (default: process.stdout.isTTY). */
  tty?: boolean;
  /** May ask the user questions on the terminal (default: stdin and stdout are terminals). */
  interactive?: boolean;
  /** Show `--all` in planctl top's dashboard (default: stdin and stdout are terminals). */
  dashboard?: boolean;
  /** How to start planctl again for --all and --daemon (default: this node, its flags, process.argv[1]). */
  entry?: { execArgv: readonly string[]; script: string };
}

interface OrchestrateOpts {
  plan?: string;
  maxParallel?: string;
  agent?: string;
  agentKind?: string;
  model?: string;
  allowedTools?: string[];
  maxTurns?: string;
  maxCost?: string;
  idleTimeout?: string;
  promptFile?: string;
  approveCommands?: boolean;
  inPlace?: boolean;
  allowDirty?: boolean;
  queue?: string;
  remote?: string;
  retries?: string;
  timeout?: string;
  commit: boolean;
  grace?: string;
  batched?: boolean;
  all?: boolean;
  maxPlans?: string;
  daemon?: boolean;
}

/** The options a child orchestrator (--all, --daemon) needs to behave like this one. */
function forwardedArgs(opts: OrchestrateOpts): string[] {
  const out: string[] = [];
  if (opts.maxParallel !== undefined) out.push('--max-parallel', opts.maxParallel);
  if (opts.agent !== undefined) out.push('--agent', opts.agent);
  if (opts.agentKind !== undefined) out.push('--agent-kind', opts.agentKind);
  if (opts.model !== undefined) out.push('--model', opts.model);
  for (const rule of opts.allowedTools ?? []) out.push('--allowed-tool', rule);
  if (opts.maxTurns !== undefined) out.push('--max-turns', opts.maxTurns);
  if (opts.maxCost !== undefined) out.push('--max-cost', opts.maxCost);
  if (opts.idleTimeout !== undefined) out.push('--idle-timeout', opts.idleTimeout);
  if (opts.promptFile !== undefined) out.push('--prompt-file', opts.promptFile);
  if (opts.approveCommands) out.push('--approve-commands');
  if (opts.inPlace) out.push('--in-place');
  if (opts.allowDirty) out.push('--allow-dirty');
  if (opts.queue !== undefined) out.push('--queue', opts.queue);
  if (opts.remote !== undefined) out.push('--remote', opts.remote);
  if (opts.retries !== undefined) out.push('--retries', opts.retries);
  if (opts.timeout !== undefined) out.push('--timeout', opts.timeout);
  if (opts.grace !== undefined) out.push('--grace', opts.grace);
  if (!opts.commit) out.push('--no-commit');
  if (opts.batched) out.push('--batched');
  return out;
}

/**
 * On a terminal: one compact block (running tasks with their elapsed time, done/total, failures),
 * redrawn at most every 250 ms, so that 8 agents do not scroll everything else away.
 */
class LiveView {
  private readonly running = new Map<string, { title: string; since: number; activity?: string; costUsd?: number }>();
  private readonly failed: string[] = [];
  private total = 0;
  private done = 0;
  private drawnLines = 0;
  private lastDraw = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly ticker: NodeJS.Timeout;

  constructor(private readonly write: (s: string) => void) {
    // Elapsed seconds must move even when no event arrives.
    this.ticker = setInterval(() => this.schedule(), 1000);
    this.ticker.unref();
  }

  event(e: OrchestratorEvent): void {
    switch (e.type) {
      case 'plan':
        this.total = e.total;
        this.done = e.done;
        break;
      case 'started':
        this.running.set(e.id, { title: e.title, since: Date.now() });
        break;
      case 'activity': {
        const r = this.running.get(e.id);
        if (r) {
          r.activity = e.text;
          if (e.costUsd !== undefined) r.costUsd = e.costUsd;
        }
        break;
      }
      case 'completed':
      case 'unchecked':
      case 'file-checked':
        this.running.delete(e.id);
        this.done++;
        break;
      case 'needs-approval':
        this.line(formatEvent(e));
        break;
      case 'failed':
        this.running.delete(e.id);
        if (!e.retrying) this.failed.push(e.id);
        this.line(formatEvent(e));
        break;
      case 'reset':
        this.running.delete(e.id);
        this.line(formatEvent(e));
        break;
      case 'stopping':
      case 'warning':
      case 'budget':
        this.line(formatEvent(e));
        break;
    }
    this.schedule();
  }

  /** A line that stays: printed above the block. */
  private line(text: string): void {
    this.clear();
    this.write(`${text}\n`);
    this.draw();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, 250 - (Date.now() - this.lastDraw));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.clear();
      this.draw();
    }, wait);
    this.timer.unref();
  }

  private clear(): void {
    if (this.drawnLines > 0) this.write(`\x1b[${this.drawnLines}F\x1b[J`);
    this.drawnLines = 0;
  }

  private draw(): void {
    const width = Math.max(40, (process.stdout.columns || 100) - 1);
    const now = Date.now();
    const lines = [`${this.done}/${this.total} done, ${this.running.size} running, ${this.failed.length} failed${this.failed.length ? ` (${this.failed.join(', ')})` : ''}`];
    for (const [id, r] of this.running) {
      const cost = r.costUsd ? `  $${r.costUsd.toFixed(2)}` : '';
      lines.push(`  ▶ ${id} ${((now - r.since) / 1000).toFixed(0).padStart(4)} s${cost}  ${r.activity ?? r.title}`.slice(0, width));
    }
    this.write(`${lines.join('\n')}\n`);
    this.drawnLines = lines.length;
    this.lastDraw = now;
  }

  end(): void {
    clearInterval(this.ticker);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.clear();
    this.draw();
  }
}


function summaryOf(s: MultiSummary): string {
  const count = (state: string) => s.outcomes.filter((o) => o.state === state).length;
  return `plans: ${count('succeeded')} succeeded, ${count('failed')} failed, ${count('skipped')} skipped in ${(s.wallMs / 1000).toFixed(1)} s`;
}

/**
 * `orchestrate --all` on a terminal: the plans run exactly as without it, and `planctl top`'s dashboard
 * shows them instead of their interleaved lines (which go to the plans' activity feeds). q leaves the
 * dashboard and the run goes on printing lines; Ctrl-C stops every plan, as it does without it.
 */
async function orchestrateAllInDashboard(multi: Omit<MultiOptions, 'out'>, io: OrchestrateCommandIo): Promise<MultiSummary> {
  const top = await loadTop();
  const early: string[] = [];
  let listener: ((line: string) => void) | undefined;
  const run = orchestrateAll({ ...multi, out: (line) => (listener ? listener(line) : early.push(line)) });
  const ended = run.then(summaryOf, (e: unknown) => `orchestrate --all failed: ${e instanceof Error ? e.message : String(e)}`);
  let finished = false;
  void ended.then(() => (finished = true));
  await top.runTop({
    cwd: io.cwd,
    out: io.out,
    interactive: true,
    launch: { entry: multi.entry!, env: io.env, extraArgs: multi.childArgs },
    run: {
      onLine: (l) => {
        listener = l;
        for (const line of early.splice(0)) l(line);
        return () => (listener = undefined);
      },
      ended,
      // The same stop as Ctrl-C without the dashboard: orchestrateAll passes SIGINT on to every plan.
      stop: () => process.kill(process.pid, 'SIGINT'),
    },
  });
  listener = io.out;
  if (!finished) io.out('The dashboard is closed; the plans keep running (Ctrl-C stops them). Watch them with: planctl top');
  return run;
}

function seconds(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new PlanError('invalid-argument', `${name} must be a positive number of seconds, not "${value}"`);
  return Math.round(n * 1000);
}


export function formatEvent(e: OrchestratorEvent): string {
  switch (e.type) {
    case 'started':
      return `▶ ${e.id} started${e.attempt > 1 ? ` (attempt ${e.attempt}${e.resume ? ', resuming the agent session' : ''})` : ''}`;
    case 'activity':
      return `  ${e.id} · ${e.text}`;
    case 'completed':
      return `✓ ${e.id} done in ${(e.ms / 1000).toFixed(1)} s${e.commit ? ` (${e.commit.slice(0, 7)})` : ''}${e.costUsd ? `, $${e.costUsd.toFixed(2)}` : ''}`;
    case 'needs-approval':
      return `? ${e.id} needs approval: ${e.denials.map((d) => d.rule).join(', ')}; allow it with: planctl approve ${e.id}`;
    case 'budget':
      return `$ the plan has cost $${e.spentUsd.toFixed(2)} of $${e.maxUsd.toFixed(2)}: no new tasks are started`;
    case 'failed':
      return `✗ ${e.id} failed: ${e.error}${e.retrying ? ' (retrying)' : ''}`;
    case 'unchecked':
      return `✓ ${e.id} not checked (VERIFY item without a command)`;
    case 'file-checked':
      return `✓ ${e.id} ${e.note}`;
    case 'reset':
      return `↺ ${e.id} back to pending: ${e.reason}`;
    case 'stopping':
      return `■ ${e.signal}: no new tasks; waiting for running ones`;
    case 'warning':
      return `! ${e.message}`;
    case 'plan':
      return `${e.done} of ${e.total} tasks done already`;
  }
}

/**
 * The plan's gate commands that were never approved: listed, and on a terminal the user is asked once
 * (yes approves them for the plan). Elsewhere the orchestrator refuses with the list.
 */
async function confirmCommands(planPath: string, io: OrchestrateCommandIo): Promise<boolean> {
  if (!(io.interactive ?? (process.stdin.isTTY === true && process.stdout.isTTY === true))) return false;
  const session = await openPlan(planPath);
  const missing = unapprovedCommands(gateCommands(session.analysis.plan), await readApprovedCommands(session.statusPath));
  if (missing.length === 0) return false;
  io.out(`${session.relPath} runs these commands as VERIFY gates (no shell unless the command names one):`);
  for (const c of missing) io.out(`  $ ${c}`);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => rl.question('Run them? [y/N] ', resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveNumber(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0)) throw new PlanError('invalid-argument', `${name} must be a positive number, not "${value}"`);
  return n;
}

/** The agent options of orchestrate, as settings over git-workflow.json's `agent` section. */
function agentOverrides(opts: OrchestrateOpts): AgentOverrides | readonly string[] | undefined {
  const out: AgentOverrides = {};
  if (opts.agentKind !== undefined) {
    if (!isAgentKind(opts.agentKind)) throw new PlanError('invalid-argument', `--agent-kind must be claude, codex or command, not "${opts.agentKind}"`);
    out.kind = opts.agentKind;
  }
  if (opts.agent !== undefined) out.command = parseAgent(opts.agent);
  if (opts.model !== undefined) out.model = opts.model;
  if (opts.allowedTools?.length) out.allowedTools = opts.allowedTools.map(checkToolRule);
  if (opts.maxTurns !== undefined) out.maxTurns = wholeNumber(opts.maxTurns, '--max-turns', 1);
  if (opts.idleTimeout !== undefined) out.idleTimeoutMinutes = positiveNumber(opts.idleTimeout, '--idle-timeout')! / 60;
  if (opts.promptFile !== undefined) out.promptFile = opts.promptFile;
  return Object.keys(out).length > 0 ? out : undefined;
}

export function registerOrchestrateCommands(program: Command, io: OrchestrateCommandIo): void {
  const fail = (code: number, message: string): never => {
    if (io.exitWith) io.exitWith(code);
    throw new CommanderError(code, 'planctl.orchestrate', message);
  };
  program
    .command('orchestrate')
    .description('run the plan: keep up to N agents busy with ready tasks, commit each finished task')
    .option('--plan <file>', "the plan (default: PLAN_FILE, then this worktree's .claude-context/current-plan.txt)")
    .option('--max-parallel <n>', 'agents at once (default 2)')
    .option('--agent-kind <kind>', 'claude (default), codex, or command (an argv template: --agent)')
    .option('--agent <json>', 'a command agent: argv as a JSON array; placeholders {id} {title} {body} {plan} {worktree} {prompt} {estimate}')
    .option('--model <name>', "the agent's model")
    .option('--allowed-tool <rule>', 'a tool the agent may use without asking, e.g. "Bash(npm test:*)" (repeatable)', collect)
    .option('--max-turns <n>', "limit on the agent's turns per task")
    .option('--max-cost <usd>', 'stop starting tasks once the plan has cost this much')
    .option('--idle-timeout <seconds>', 'stop an agent that prints nothing for this long (default 15 min)')
    .option('--prompt-file <file>', 'markdown prompt template (see docs/agents.md for its placeholders)')
    .option('--retries <n>', 'extra attempts for a failed task (default 1)')
    .option('--timeout <seconds>', 'per-task time limit (default 30 min)')
    .option('--no-commit', 'do not commit after each task')
    .option('--grace <seconds>', 'after Ctrl-C/SIGTERM, how long running tasks may finish (default 30)')
    .option('--batched', 'the old pattern, for comparison: start up to N ready tasks, wait for all of them, repeat')
    .option('--approve-commands', "run the plan's VERIFY gate commands (`$ …`) that were not approved yet; they are listed first")
    .option('--in-place', "commit to the main checkout's branch instead of refusing (the plan's worktree is the usual place)")
    .option('--allow-dirty', 'run although the checkout has uncommitted changes (they stay out of every task commit)')
    .option('--queue <redis-url>', 'run the agents on workers (planctl worker) through BullMQ on this Redis, e.g. redis://127.0.0.1:6379 (its password in PLAN_REDIS_PASSWORD)')
    .option('--remote <name>', 'with --queue: the git remote the workers clone (default origin)')
    .option('--all', "every plan worktree's plan, each in its own orchestrator, upstream plans first")
    .option('--max-plans <n>', 'with --all: plans at once (default worktrees.max_concurrent)')
    .option('--daemon', 'run in the background; output goes to <plan output dir>/orchestrator-<plan>.log')
    .action(async (opts: OrchestrateOpts) => {
      const optional = (value: string | undefined, name: string, min: number) => (value === undefined ? undefined : wholeNumber(value, name, min));
      const maxParallel = optional(opts.maxParallel, '--max-parallel', 1);
      const retries = optional(opts.retries, '--retries', 0);
      const timeoutMs = seconds(opts.timeout, '--timeout');
      const graceMs = seconds(opts.grace, '--grace');
      const agent = agentOverrides(opts);
      const maxCostUsd = positiveNumber(opts.maxCost, '--max-cost');
      const maxPlans = optional(opts.maxPlans, '--max-plans', 1);
      const entry = io.entry ?? { execArgv: process.execArgv, script: process.argv[1]! };

      if (opts.all) {
        if (opts.plan !== undefined || opts.daemon) throw new PlanError('invalid-argument', '--all cannot be combined with --plan or --daemon');
        const childArgs = forwardedArgs(opts);
        const multi = { cwd: io.cwd, env: io.env, childArgs, entry, handleSignals: true, ...(maxPlans !== undefined ? { maxConcurrent: maxPlans } : {}) };
        const s = (io.dashboard ?? onTerminal()) ? await orchestrateAllInDashboard(multi, io) : await orchestrateAll({ ...multi, out: io.out });
        io.out(summaryOf(s));
        for (const o of s.outcomes) if (o.state === 'skipped') io.out(`  ${o.name}: skipped (${o.reason})`);
        const code = s.signal ? (s.signal === 'SIGINT' ? 130 : 143) : s.outcomes.every((o) => o.state === 'succeeded') ? 0 : 1;
        if (code !== 0) fail(code, 'orchestrate --all did not finish every plan');
        return;
      }
      if (maxPlans !== undefined) throw new PlanError('invalid-argument', '--max-plans needs --all');

      const resolved = await resolvePlanPath({ explicit: opts.plan, cwd: io.cwd, env: io.env });
      if (opts.daemon) {
        const session = await openPlan(resolved.path);
        const outDir = path.dirname(session.statusPath);
        await mkdir(outDir, { recursive: true });
        const log = path.join(outDir, `orchestrator-${path.basename(resolved.path, '.md')}.log`);
        const fd = openSync(log, 'a');
        try {
          const child = spawn(process.execPath, [...entry.execArgv, entry.script, 'orchestrate', '--plan', resolved.path, ...forwardedArgs(opts)], {
            cwd: io.cwd,
            env: io.env,
            stdio: ['ignore', fd, fd],
            detached: true,
            shell: false,
          });
          child.unref();
          io.out(`orchestrator started in the background: pid ${child.pid}`);
          io.out(`log: ${log}`);
          io.out(`stop it with: planctl orchestrators stop ${path.basename(resolved.path, '.md')}`);
        } finally {
          closeSync(fd);
        }
        return;
      }

      // BullMQ's bundle compiles while the plan is read and git is asked about the checkout; a failure to
      // load it is reported where the coordinator starts.
      if (opts.queue !== undefined) void loadTransport().catch(() => undefined);
      const approveCommands = opts.approveCommands === true || (await confirmCommands(resolved.path, io));
      const live = (io.tty ?? process.stdout.isTTY === true) ? new LiveView((text) => process.stdout.write(text)) : undefined;
      const orchestrator = new Orchestrator({
        planPath: resolved.path,
        commit: opts.commit,
        batched: opts.batched === true,
        handleSignals: true,
        env: io.env,
        onEvent: (e) => (live ? live.event(e) : e.type === 'plan' ? undefined : io.out(formatEvent(e))),
        ...(maxParallel !== undefined ? { maxParallel } : {}),
        ...(retries !== undefined ? { retries } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(graceMs !== undefined ? { graceMs } : {}),
        ...(agent ? { agent } : {}),
        ...(maxCostUsd !== undefined ? { maxCostUsd } : {}),
        approveCommands,
        ...(opts.queue !== undefined ? { queue: { url: opts.queue, ...(opts.remote ? { remote: opts.remote } : {}) } } : {}),
        inPlace: opts.inPlace === true,
        allowDirty: opts.allowDirty === true,
      });
      let s;
      try {
        s = await orchestrator.run();
      } finally {
        live?.end();
      }
      const failedOnly = s.failed.filter((id) => !s.needsApproval.includes(id));
      io.out(
        `${s.completed.length} done, ${failedOnly.length} failed${failedOnly.length ? ` (${failedOnly.join(', ')})` : ''}, ${s.needsApproval.length ? `${s.needsApproval.length} need approval (${s.needsApproval.join(', ')}), ` : ''}${s.blocked.length} not run${s.blocked.length ? ` (${s.blocked.join(', ')})` : ''} in ${(s.wallMs / 1000).toFixed(1)} s${s.costUsd ? `, $${s.costUsd.toFixed(2)}` : ''}`,
      );
      for (const id of s.needsApproval) io.out(`  ${id} waits for approval: planctl approve ${id}, then planctl orchestrate again`);
      const code = s.signal ? (s.signal === 'SIGINT' ? 130 : 143) : s.failed.length > 0 || s.blocked.length > 0 ? 1 : 0;
      if (code !== 0) fail(code, 'orchestrate did not finish every task');
    });

  program
    .command('worker')
    .description('run task jobs from the queue of `planctl orchestrate --queue` on this host, until Ctrl-C/SIGTERM')
    .requiredOption('--queue <redis-url>', 'the Redis the coordinator queues jobs on, e.g. redis://10.0.0.5:6379 (its password in PLAN_REDIS_PASSWORD)')
    .requiredOption('--repo <git-url>', 'the repository the coordinator pushes the plan branch to (cloned once per host)')
    .option('--concurrency <n>', 'jobs at once (default 2)')
    .option('--cache <dir>', 'the clone, job worktrees and logs (default ~/.cache/plan-orchestrator/worker)')
    .option('--push-commits', "push every task's commit to refs/plan-tasks/… on the remote (default: only those too large to send back in the job's result)")
    .action(async (opts: { queue: string; repo: string; concurrency?: string; cache?: string; pushCommits?: boolean }) => {
      const concurrency = opts.concurrency === undefined ? 2 : wholeNumber(opts.concurrency, '--concurrency', 1);
      const cacheDir = path.resolve(io.cwd, opts.cache ?? path.join(os.homedir(), '.cache', 'plan-orchestrator', 'worker'));
      const worker = new PlanWorker({
        queueUrl: opts.queue,
        repoUrl: opts.repo,
        concurrency,
        cacheDir,
        env: io.env,
        ...(opts.pushCommits ? { pushCommits: true } : {}),
        log: (line) => io.out(line),
        // For tests and small clusters: how soon a dead worker's job moves to another (BullMQ's default is 30 s).
        ...(io.env.PLAN_WORKER_LOCK_MS ? { lockDurationMs: Number(io.env.PLAN_WORKER_LOCK_MS), stalledIntervalMs: Number(io.env.PLAN_WORKER_LOCK_MS) } : {}),
      });
      await worker.start();
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      io.out('worker: stopping (no new jobs; running ones finish first)');
      await worker.close();
    });

  program
    .command('approve')
    .description("allow the tool a task's agent was denied, and queue the task for a retry that resumes the agent's session")
    .argument('<task-id>', 'the task waiting for approval')
    .option('--plan <file>', "the plan (default: PLAN_FILE, then this worktree's .claude-context/current-plan.txt)")
    .option('--tool <rule>', 'allow this rule instead of exactly the denied calls, e.g. "Bash(make:*)" (repeatable)', collect)
    .option('--json', 'machine-readable output')
    .action(async (id: string, opts: { plan?: string; tool?: string[]; json?: boolean }) => {
      const resolved = await resolvePlanPath({ explicit: opts.plan, cwd: io.cwd, env: io.env });
      const session = await openPlan(resolved.path);
      requireTask(session, id);
      const result = await approveTask(session, id, opts.tool);
      if (opts.json) return io.out(JSON.stringify(result, null, 2));
      io.out(`${id}: allowed ${result.approved.join(', ')} for this plan (${path.relative(io.cwd, agentFileFor(session.statusPath)) || agentFileFor(session.statusPath)})`);
      const git = await GitService.open(io.cwd).catch(() => undefined);
      const running = git ? runningRecordFor(await listRegistry(await registryDir(git, session.statusPath)), session.path) : undefined;
      if (running) io.out(`${id}: the running orchestrator (pid ${running.pid}) retries it${result.resume ? ', resuming the agent session' : ''}`);
      else io.out(`${id}: pending again; run planctl orchestrate to retry it${result.resume ? ' (the agent session is resumed)' : ''}`);
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

  group
    .command('stop')
    .description('ask the orchestrator running a plan to stop (SIGTERM: no new tasks, running ones get the grace period)')
    .argument('<plan-name>', 'the plan file name without .md, as orchestrators list shows it')
    .option('--wait', 'return only when it has ended')
    .action(async (name: string, opts: { wait?: boolean }) => {
      const git = await GitService.open(io.cwd).catch(() => undefined);
      if (!git) throw new PlanError('invalid-argument', `${io.cwd} is not inside a git repository; the orchestrator registry lives in its git dir`);
      const entries = await listRegistry(await registryDir(git, path.join(findRepoRoot(io.cwd), 'x')));
      const wanted = path.basename(name, '.md');
      const e = entries.find((x) => x.name === wanted);
      if (!e) throw new PlanError('invalid-argument', `no orchestrator recorded for ${wanted}${entries.length ? `; recorded: ${entries.map((x) => x.name).join(', ')}` : ''}`);
      if (e.host !== os.hostname()) throw new PlanError('invalid-argument', `${wanted} runs on ${e.host} (pid ${e.pid}); stop it there`);
      if (!e.alive) {
        io.out(`${wanted}: pid ${e.pid} is not running (a stale record; the next orchestrate takes it over)`);
        fail(1, 'not running');
      }
      process.kill(e.pid, 'SIGTERM');
      io.out(`${wanted}: sent SIGTERM to pid ${e.pid}`);
      if (opts.wait) {
        while (isPidAlive(e.pid)) await new Promise((r) => setTimeout(r, 100));
        io.out(`${wanted}: pid ${e.pid} has ended`);
      }
    });
}
