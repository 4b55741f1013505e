/**
 * `planctl orchestrate --all`: one `planctl orchestrate --plan <file>` child per active plan
 * worktree, at most `worktrees.max_concurrent` at once, a plan starting only after the plans named
 * in its Upstream dependencies have finished successfully.
 *
 * Each plan runs in a process of its own (not in-process Orchestrators) so that a plan's signals,
 * registry record, crash-resume and exit code are exactly those of a plain `planctl orchestrate`,
 * and `planctl orchestrators stop <plan>` works on it like on any other.
 *
 * Dependencies on a phase of another plan ("depends on A's phase 2") are not supported: a plan
 * waits for its upstream plans as a whole.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { analyzePlan } from './analyzer.js';
import { readPlanFile } from './planFile.js';
import { WorktreeManager } from '../git/worktreeManager.js';

export interface PlanRun {
  /** The worktree name, used as the line prefix and in messages. */
  name: string;
  worktree: string;
  planPath: string;
  /** Names (of other PlanRuns) that must succeed first. */
  after: string[];
  /** Upstream plan files that are not an active worktree plan: taken as already done. */
  external: string[];
}

export type PlanOutcome =
  | { name: string; state: 'succeeded'; code: 0; ms: number }
  | { name: string; state: 'failed'; code: number | null; signal?: NodeJS.Signals; ms: number }
  | { name: string; state: 'skipped'; reason: string };

export interface MultiOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  /** Arguments after `orchestrate --plan <file>` for every child (--agent, --max-parallel, …). */
  childArgs: readonly string[];
  /** Plans at once (default: worktrees.max_concurrent). */
  maxConcurrent?: number;
  /**
   * How to start planctl again. Default: this process's node, its loader flags (a CLI run from
   * source under tsx needs them) and its entry script.
   */
  entry?: { execArgv: readonly string[]; script: string };
  handleSignals?: boolean;
}

export interface MultiSummary {
  outcomes: PlanOutcome[];
  wallMs: number;
  signal?: NodeJS.Signals;
}

const planKey = (file: string): string => path.basename(file).toLowerCase();

/** Active plans with their order constraints, from the repository's plan worktrees. */
export async function discoverPlans(cwd: string): Promise<{ runs: PlanRun[]; maxConcurrent: number }> {
  const manager = await WorktreeManager.open(cwd);
  const worktrees = (await manager.list()).filter((w) => w.plan && !w.missing);
  const byFile = new Map<string, string>();
  const runs: PlanRun[] = [];
  const deps = new Map<string, string[]>();
  for (const w of worktrees) {
    const planPath = path.resolve(w.path, w.plan!);
    byFile.set(planKey(planPath), w.name);
    const { plan } = analyzePlan(await readPlanFile(planPath));
    deps.set(w.name, plan.planDependencies.map((d) => d.name));
    runs.push({ name: w.name, worktree: w.path, planPath, after: [], external: [] });
  }
  for (const r of runs) {
    for (const dep of deps.get(r.name) ?? []) {
      const upstream = byFile.get(planKey(dep));
      if (upstream === r.name) continue;
      if (upstream !== undefined) r.after.push(upstream);
      else r.external.push(dep);
    }
  }
  return { runs, maxConcurrent: manager.config.worktrees.max_concurrent };
}

export async function orchestrateAll(opts: MultiOptions): Promise<MultiSummary> {
  const t0 = Date.now();
  const { runs, maxConcurrent } = await discoverPlans(opts.cwd);
  const limit = opts.maxConcurrent ?? maxConcurrent;
  const entry = opts.entry ?? { execArgv: process.execArgv, script: process.argv[1]! };
  const outcomes = new Map<string, PlanOutcome>();
  const running = new Map<string, ChildProcess>();
  let stopping: NodeJS.Signals | undefined;

  if (runs.length === 0) {
    opts.out('No plan worktrees with a plan; create one with planctl worktree create <plan>.');
    return { outcomes: [], wallMs: Date.now() - t0 };
  }
  for (const r of runs) {
    const waits = r.after.length ? `after ${r.after.join(', ')}` : 'no upstream plans';
    const ext = r.external.length ? `; not active, taken as done: ${r.external.join(', ')}` : '';
    opts.out(`[${r.name}] ${path.relative(r.worktree, r.planPath)} (${waits}${ext})`);
  }

  let wake: (() => void) | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping ??= sig;
    // Children are in our process group for a terminal's Ctrl-C, but a SIGTERM sent to us alone must be passed on.
    for (const c of running.values()) c.kill(sig);
    wake?.();
  };
  if (opts.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const start = (r: PlanRun): void => {
    const started = Date.now();
    const child = spawn(process.execPath, [...entry.execArgv, entry.script, 'orchestrate', '--plan', r.planPath, ...opts.childArgs], {
      cwd: r.worktree,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: false,
    });
    running.set(r.name, child);
    opts.out(`[${r.name}] started (pid ${child.pid ?? '?'})`);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => opts.out(`[${r.name}] ${line}`));
    }
    let spawnError: string | undefined;
    child.on('error', (err) => {
      spawnError = err.message;
    });
    child.on('close', (code, signal) => {
      running.delete(r.name);
      const ms = Date.now() - started;
      if (code === 0) outcomes.set(r.name, { name: r.name, state: 'succeeded', code: 0, ms });
      else outcomes.set(r.name, { name: r.name, state: 'failed', code, ...(signal ? { signal } : {}), ms });
      const how = code === 0 ? 'succeeded' : spawnError ? `could not start: ${spawnError}` : signal ? `killed by ${signal}` : `failed (exit ${code})`;
      opts.out(`[${r.name}] ${how} after ${(ms / 1000).toFixed(1)} s`);
      wake?.();
    });
  };

  try {
    for (;;) {
      // Skips cascade: a plan after a skipped plan is skipped too, so repeat until nothing changes.
      for (let changed = true; changed; ) {
        changed = false;
        for (const r of runs) {
          if (outcomes.has(r.name) || running.has(r.name)) continue;
          const bad = r.after.find((a) => outcomes.get(a) && outcomes.get(a)!.state !== 'succeeded');
          if (bad) {
            const reason = `upstream plan ${bad} ${outcomes.get(bad)!.state === 'skipped' ? 'was skipped' : 'failed'}`;
            outcomes.set(r.name, { name: r.name, state: 'skipped', reason });
            opts.out(`[${r.name}] skipped: ${reason}`);
            changed = true;
          }
        }
      }
      const pending = runs.filter((r) => !outcomes.has(r.name) && !running.has(r.name));
      if (stopping) {
        for (const r of pending) outcomes.set(r.name, { name: r.name, state: 'skipped', reason: `stopped by ${stopping}` });
        pending.length = 0;
      }
      for (const r of pending) {
        if (running.size >= limit) break;
        if (r.after.every((a) => outcomes.get(a)?.state === 'succeeded')) start(r);
      }
      if (running.size === 0) {
        // Whatever is left waits on itself: a dependency cycle between plans.
        for (const r of runs.filter((x) => !outcomes.has(x.name))) {
          const reason = `dependency cycle among ${r.after.filter((a) => !outcomes.has(a)).join(', ')}`;
          outcomes.set(r.name, { name: r.name, state: 'skipped', reason });
          opts.out(`[${r.name}] skipped: ${reason}`);
        }
        break;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    if (opts.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  return { outcomes: runs.map((r) => outcomes.get(r.name)!), wallMs: Date.now() - t0, ...(stopping ? { signal: stopping } : {}) };
}
