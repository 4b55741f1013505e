/**
 * `planctl orchestrate --all`: one `planctl orchestrate --plan <file>` child per active plan
 * worktree, at most `worktrees.max_concurrent` at once, a plan starting only after the plans named
 * in its Upstream dependencies have finished successfully.
 *
 * Each plan runs in a process of its own (not in-process Orchestrators) so that a plan's signals,
 * registry record, crash-resume and exit code are exactly those of a plain `planctl orchestrate`,
 * and `planctl orchestrators stop <plan>` works on it like on any other.
 *
 * An upstream bullet that names a phase (`- **a.md** (phase 2)`) makes the plan wait only until that
 * phase of the other plan is done, read from the other plan's status.json while it runs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { analyzePlan } from '../core/analyzer.js';
import { readPlanFile } from '../core/planFile.js';
import { planProgress } from '../core/progress.js';
import { AnalysisCache, openPlan } from '../core/session.js';
import { WorktreeManager } from '../git/worktreeManager.js';

export interface PlanRun {
  /** The worktree name, used as the line prefix and in messages. */
  name: string;
  worktree: string;
  planPath: string;
  /** Names (of other PlanRuns) that must succeed first. */
  after: string[];
  /** Phases of other PlanRuns that must be done first; the rest of those plans may still run. */
  afterPhases: Array<{ plan: string; phase: string }>;
  /** The phase ids this plan has, to check a downstream plan's `phase N` against. */
  phases: string[];
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
const PHASE_POLL_MS = 250;

/** Every task and VERIFY item of the phase is completed or skipped (ticked boxes count too). */
async function phaseIsDone(run: PlanRun, phaseId: string, cache: AnalysisCache): Promise<boolean> {
  try {
    const session = await openPlan(run.planPath, undefined, cache);
    const phase = planProgress(session.analysis.plan, session.analysis.graph, session.statusOf).phases.find((p) => p.id === phaseId);
    return phase !== undefined && phase.done === phase.total && phase.checks.done === phase.checks.total;
  } catch {
    // A status file being rewritten or a plan being edited: ask again at the next poll.
    return false;
  }
}

/** Active plans with their order constraints, from the repository's plan worktrees. */
export async function discoverPlans(cwd: string): Promise<{ runs: PlanRun[]; maxConcurrent: number }> {
  const manager = await WorktreeManager.open(cwd);
  const worktrees = (await manager.list()).filter((w) => w.plan && !w.missing);
  const byFile = new Map<string, string>();
  const runs: PlanRun[] = [];
  const deps = new Map<string, Array<{ name: string; phase?: string }>>();
  for (const w of worktrees) {
    const planPath = path.resolve(w.path, w.plan!);
    byFile.set(planKey(planPath), w.name);
    const { plan } = analyzePlan(await readPlanFile(planPath));
    deps.set(w.name, plan.planDependencies);
    runs.push({ name: w.name, worktree: w.path, planPath, after: [], afterPhases: [], phases: plan.phases.map((p) => p.id), external: [] });
  }
  for (const r of runs) {
    for (const dep of deps.get(r.name) ?? []) {
      const upstream = byFile.get(planKey(dep.name));
      if (upstream === r.name) continue;
      if (upstream === undefined) r.external.push(dep.phase !== undefined ? `${dep.name} (phase ${dep.phase})` : dep.name);
      else if (dep.phase !== undefined) r.afterPhases.push({ plan: upstream, phase: dep.phase });
      else r.after.push(upstream);
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
    const upstream = [...r.after, ...r.afterPhases.map((d) => `${d.plan}'s phase ${d.phase}`)];
    const waits = upstream.length ? `after ${upstream.join(', ')}` : 'no upstream plans';
    const ext = r.external.length ? `; not active, taken as done: ${r.external.join(', ')}` : '';
    opts.out(`[${r.name}] ${path.relative(r.worktree, r.planPath)} (${waits}${ext})`);
  }

  let wake: (() => void) | undefined;
  /** Set by whatever wakes the loop: a plan that ends while the loop is busy must not be missed. */
  let dirty = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    stopping ??= sig;
    // Children are in our process group for a terminal's Ctrl-C, but a SIGTERM sent to us alone must be passed on.
    for (const c of running.values()) c.kill(sig);
    dirty = true;
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
      dirty = true;
      wake?.();
    });
  };

  const byName = new Map(runs.map((r) => [r.name, r]));
  /** `plan#phase` keys seen done: a phase once done stays done for this run. */
  const phasesDone = new Set<string>();
  /** Upstream plans are read every 250 ms while others wait on their phases: unchanged text is not re-analysed. */
  const analyses = new AnalysisCache();
  /** Phase dependencies read after their plan had ended: only then can "never done" be concluded. */
  const checkedAfterEnd = new Set<string>();
  const phaseKey = (d: { plan: string; phase: string }) => `${d.plan}#${d.phase}`;
  let pollTimer: NodeJS.Timeout | undefined;

  /** Reads the status of upstream plans that others wait on by phase. */
  const refreshPhases = async (): Promise<void> => {
    for (const r of runs) {
      if (outcomes.has(r.name) || running.has(r.name)) continue;
      for (const d of r.afterPhases) {
        if (phasesDone.has(phaseKey(d)) || !byName.get(d.plan)!.phases.includes(d.phase)) continue;
        const ended = outcomes.has(d.plan);
        if (outcomes.get(d.plan)?.state === 'succeeded' || (await phaseIsDone(byName.get(d.plan)!, d.phase, analyses))) {
          phasesDone.add(phaseKey(d));
          opts.out(`[${r.name}] ${d.plan}'s phase ${d.phase} is done`);
        } else if (ended) checkedAfterEnd.add(phaseKey(d));
      }
    }
  };
  const waitingOnRunningPhase = (): boolean =>
    runs.some((r) => !outcomes.has(r.name) && !running.has(r.name) && r.afterPhases.some((d) => !phasesDone.has(phaseKey(d)) && running.has(d.plan)));

  /** Why a plan can never start, or undefined while it still may. */
  const blockedBy = (r: PlanRun): string | undefined => {
    const bad = r.after.find((a) => outcomes.get(a) && outcomes.get(a)!.state !== 'succeeded');
    if (bad) return `upstream plan ${bad} ${outcomes.get(bad)!.state === 'skipped' ? 'was skipped' : 'failed'}`;
    for (const d of r.afterPhases) {
      if (phasesDone.has(phaseKey(d))) continue;
      if (!byName.get(d.plan)!.phases.includes(d.phase)) return `upstream plan ${d.plan} has no phase ${d.phase}`;
      const o = outcomes.get(d.plan);
      // Its plan may have finished the phase just before failing: decide on a reading taken after the end.
      if (o && o.state !== 'succeeded' && checkedAfterEnd.has(phaseKey(d))) return `upstream plan ${d.plan} ${o.state === 'skipped' ? 'was skipped' : 'failed'} before its phase ${d.phase} was done`;
    }
    return undefined;
  };
  const canStart = (r: PlanRun): boolean =>
    r.after.every((a) => outcomes.get(a)?.state === 'succeeded') &&
    r.afterPhases.every((d) => phasesDone.has(phaseKey(d)) || outcomes.get(d.plan)?.state === 'succeeded');

  try {
    for (;;) {
      dirty = false;
      await refreshPhases();
      // Skips cascade: a plan after a skipped plan is skipped too, so repeat until nothing changes.
      for (let changed = true; changed; ) {
        changed = false;
        for (const r of runs) {
          if (outcomes.has(r.name) || running.has(r.name)) continue;
          const reason = blockedBy(r);
          if (reason) {
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
        if (canStart(r)) start(r);
      }
      // A plan ended while this round ran: look again before concluding anything from a stale view.
      if (dirty) continue;
      if (running.size === 0) {
        // Whatever is left waits on itself: a dependency cycle between plans.
        for (const r of runs.filter((x) => !outcomes.has(x.name))) {
          const waitsOn = [...r.after, ...r.afterPhases.filter((d) => !phasesDone.has(phaseKey(d))).map((d) => d.plan)];
          const reason = `dependency cycle among ${[...new Set(waitsOn.filter((a) => !outcomes.has(a)))].join(', ')}`;
          outcomes.set(r.name, { name: r.name, state: 'skipped', reason });
          opts.out(`[${r.name}] skipped: ${reason}`);
        }
        break;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        // A phase finishing inside a running plan ends no process: look at its status file now and then.
        if (waitingOnRunningPhase()) pollTimer = setTimeout(resolve, PHASE_POLL_MS);
      });
      clearTimeout(pollTimer);
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
