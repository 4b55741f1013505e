/**
 * Starting and stopping orchestrators as background processes, for the API and `planctl top`,
 * through the same paths as the command line: a start runs `planctl orchestrate --plan <file>
 * --daemon` (which starts the detached orchestrator and logs to `<plan output dir>/orchestrator-<plan>.log`),
 * a stop sends SIGTERM to the pid in the registry, as `planctl orchestrators stop` does. The agent
 * command comes from the caller's own options (the server's, top's flags), never from a request:
 * whoever can reach the API must not choose what program runs.
 */
import type { Analysis } from '../core/analyzer.js';
import { spawn } from 'node:child_process';
import { stat, open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PlanSession } from '../core/session.js';
import { PlanError } from '../core/source.js';
import { GitService } from '../git/gitService.js';
import { isPidAlive } from './registry.js';
import type { KnownPlan, OrchestratorInfo } from './events/messages.js';
import { sameFile } from './events/planWatcher.js';
import { commandsNotApproved, gateCommands, unapprovedCommands } from './gates.js';
import { readApprovedCommands } from './approvals.js';
import { checkCommands, checkPlace } from './preflight.js';

/** How to run planctl: a node script and the node flags it needs (a CLI run from source needs tsx's). */
export interface PlanctlEntry {
  execArgv: readonly string[];
  script: string;
}

export interface LaunchOptions {
  entry: PlanctlEntry;
  /** argv template for the agents; planctl's default when unset. */
  agent?: readonly string[];
  /** Agents at once when a request does not say (planctl's default when unset). */
  maxParallel?: number;
  /** More `planctl orchestrate` options for every start (--agent-kind, --no-commit, …), from the caller's own flags. */
  extraArgs?: readonly string[];
  env: NodeJS.ProcessEnv;
}

export interface Started {
  pid: number;
  log: string;
  /** False when the orchestrator was already done (a plan with nothing left to run) before it was seen in the registry. */
  registered: boolean;
}

/** The orchestrator log of a plan, as `planctl orchestrate --daemon` names it. */
export function orchestratorLogPath(statusPath: string, planFile: string): string {
  return path.join(path.dirname(statusPath), `orchestrator-${path.basename(planFile, '.md')}.log`);
}

/** The registry holds one record per plan file name, across worktrees: that is what a second orchestrator would collide with. */
export function runningFor(plan: KnownPlan, orchestrators: readonly OrchestratorInfo[]): OrchestratorInfo | undefined {
  const base = path.basename(plan.file, '.md');
  return orchestrators.find((o) => o.alive && path.basename(o.planFile, '.md') === base);
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

async function sizeOf(file: string): Promise<number> {
  return stat(file).then((s) => s.size, () => 0);
}

async function readFrom(file: string, offset: number, max = 64 * 1024): Promise<string> {
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return '';
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, offset);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/** planctl's one-line errors start with `planctl: `; the last one is why the run ended. */
function lastPlanctlError(text: string): string | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('planctl: '));
  return lines[lines.length - 1]?.slice('planctl: '.length);
}

export interface StartRequest {
  plan: KnownPlan;
  statusPath: string;
  launch: LaunchOptions;
  /** The registry as the server sees it, re-read on each call. */
  registry: () => Promise<OrchestratorInfo[]>;
  /** From the request; the server's default otherwise. */
  maxParallel?: number;
  inPlace?: boolean;
  allowDirty?: boolean;
  /** Checks that must pass before anything starts, run after the "already running" check. */
  preflight?: () => Promise<void>;
}

const starting = new Map<string, Promise<unknown>>();

/**
 * Starts the orchestrator and waits until it is in the registry (or has already ended), so that the
 * answer says whether it really runs. Starts of one plan are queued: the second sees the first's
 * record and gets 409 instead of racing it.
 */
export function startOrchestrator(req: StartRequest): Promise<Started> {
  const key = req.plan.file;
  const next = (starting.get(key) ?? Promise.resolve()).catch(() => undefined).then(() => launchOne(req));
  const tail = next.catch(() => undefined);
  starting.set(key, tail);
  void tail.then(() => {
    if (starting.get(key) === tail) starting.delete(key);
  });
  return next;
}

async function launchOne({ plan, statusPath, launch, registry, maxParallel, inPlace, allowDirty, preflight }: StartRequest): Promise<Started> {
  const running = runningFor(plan, await registry());
  if (running) throw alreadyRunning(running);
  await preflight?.();
  const log = orchestratorLogPath(statusPath, plan.file);
  const logStart = await sizeOf(log);
  const args = [...launch.entry.execArgv, launch.entry.script, 'orchestrate', '--plan', plan.file, '--daemon'];
  const parallel = maxParallel ?? launch.maxParallel;
  if (parallel !== undefined) args.push('--max-parallel', String(parallel));
  if (launch.agent) args.push('--agent', JSON.stringify(launch.agent));
  args.push(...(launch.extraArgs ?? []));
  if (inPlace) args.push('--in-place');
  if (allowDirty) args.push('--allow-dirty');
  const r = await run(args, plan.worktree, launch.env, 30_000);
  if (r.code !== 0) throw new PlanError('start-failed', lastPlanctlError(r.err) ?? `planctl orchestrate --daemon exited with code ${r.code}`);
  const pid = Number(/\bpid (\d+)/.exec(r.out)?.[1]);
  // Not the user's doing: reported as an internal error.
  if (!Number.isInteger(pid) || pid <= 0) throw new Error('planctl orchestrate --daemon did not say which process it started');

  const deadline = Date.now() + 15_000;
  for (;;) {
    const record = (await registry()).find((o) => o.pid === pid && o.alive);
    if (record) return { pid, log, registered: true };
    if (!isPidAlive(pid)) {
      // Ended before we saw it: refused (another orchestrator, plan errors), or simply done already.
      const why = lastPlanctlError(await readFrom(log, logStart));
      if (why === undefined) return { pid, log, registered: false };
      throw new PlanError(/already running/.test(why) ? 'orchestrator-running' : 'start-failed', why);
    }
    if (Date.now() > deadline) return { pid, log, registered: false };
    await new Promise((res) => setTimeout(res, 25));
  }
}

export function alreadyRunning(o: OrchestratorInfo): PlanError {
  return new PlanError('orchestrator-running', `an orchestrator is already running ${o.name} (pid ${o.pid} on ${o.host}, since ${o.startedAt})`);
}

export function notRunning(plan: string): PlanError {
  return new PlanError('not-running', `no orchestrator is running ${plan}`);
}

/** SIGTERM to the orchestrator of this plan: it starts nothing new and lets running tasks finish (its --grace). */
export function stopOrchestrator(plan: KnownPlan, orchestrators: readonly OrchestratorInfo[]): OrchestratorInfo {
  const o = orchestrators.find((x) => x.alive && sameFile(x.planFile, plan.file));
  if (!o) throw notRunning(plan.name);
  if (o.host !== os.hostname()) throw new PlanError('other-host', `${plan.name} runs on ${o.host} (pid ${o.pid}); stop it there`);
  try {
    process.kill(o.pid, 'SIGTERM');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw new PlanError('not-running', `the orchestrator of ${plan.name} (pid ${o.pid}) has already ended`);
    throw e;
  }
  return o;
}

export interface PlanStart {
  plan: KnownPlan;
  session: PlanSession;
  launch: LaunchOptions;
  /** The registry as the caller sees it, re-read on each call. */
  registry: () => Promise<OrchestratorInfo[]>;
  maxParallel?: number;
  /** Gate commands the user was shown (a CommandsNotApproved's `commands`) and approves with this start. */
  approveCommands?: readonly string[];
  inPlace?: boolean;
  allowDirty?: boolean;
}

/**
 * A start as a person asks for one (the API's start endpoint, `planctl top`): refused while the plan
 * has errors or gate commands the user has not seen, then the checks of where the run commits, then
 * the background orchestrator. Each refusal is a PlanError whose code says what the user may do:
 * `commands-not-approved` (approve them), `in-place-required` (make a worktree, or run in place),
 * `checkout-dirty` (run anyway), `orchestrator-running`.
 */
/**
 * What must hold before anything starts: a plan without errors, and every gate command approved
 * (saved for the plan, or `approveCommands` the user saw now). Gate commands run only once a person
 * approved them: the refusal lists them for the caller to show.
 */
export function checkStartable(relPath: string, analysis: Analysis, approved: readonly string[], approveCommands: readonly string[]): void {
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) throw new PlanError('plan-has-errors', `${relPath} has ${errors.length} error(s) (first: line ${errors[0]!.line}: ${errors[0]!.message})`);
  const unseen = unapprovedCommands(gateCommands(analysis.plan), approved).filter((c) => !approveCommands.includes(c));
  if (unseen.length > 0) throw commandsNotApproved(relPath, unseen);
}

export async function startPlan(req: PlanStart): Promise<Started> {
  const { plan, session: s } = req;
  checkStartable(plan.plan, s.analysis, await readApprovedCommands(s.statusPath), req.approveCommands ?? []);
  const preflight = async (): Promise<void> => {
    const git = await GitService.open(plan.worktree).catch(() => undefined);
    if (git) await checkPlace(git, plan.worktree, s.statusPath, plan.plan, { inPlace: req.inPlace === true, allowDirty: req.allowDirty === true });
    await checkCommands(s, true);
  };
  return startOrchestrator({
    preflight,
    plan,
    statusPath: s.statusPath,
    launch: req.launch,
    registry: req.registry,
    ...(req.maxParallel ? { maxParallel: req.maxParallel } : {}),
    ...(req.inPlace ? { inPlace: true } : {}),
    ...(req.allowDirty ? { allowDirty: true } : {}),
  });
}
