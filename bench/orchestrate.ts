/**
 * The orchestrator on a generated 200-task plan with 8 simulated agents (real processes, a real
 * git repository): wall time against `simulate`'s makespan for the same plan (what a perfect
 * scheduler with zero overhead would take), and against the batched pattern (take 8 ready tasks,
 * wait for all of them) run by the same orchestrator in the same run.
 *
 * Time is compressed: the simulated agent sleeps PLAN_SIM_MS_PER_MINUTE ms per estimated minute, so
 * a task lasts 45 to 720 ms. The main figure uses the POSIX sh agent: a Node agent costs ~100 ms of
 * CPU just to start, longer than the shortest tasks, and on 2 cores 8 of them starting at once would
 * be measured as orchestrator overhead. The Node agent's figure is reported next to it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzePlan } from '../src/core/analyzer.js';
import { Orchestrator } from '../src/run/orchestrator.js';
import { simulate } from '../src/core/schedule.js';
import { readStatusFile } from '../src/core/status.js';
import { generatePlan } from './generate.js';
import type { BenchRow } from './row.js';

const TASKS = 200;
const WORKERS = 8;
const MS_PER_MINUTE = Number(process.env.PLAN_BENCH_MS_PER_MINUTE ?? '3');

function example(name: string): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'examples', name);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`examples/${name} not found`);
  }
}

type AgentKind = 'sh' | 'node';

function agentArgv(kind: AgentKind): string[] {
  return kind === 'sh'
    ? ['/bin/sh', example('sim-agent.sh'), '{id}', '{estimate}']
    : [process.execPath, example('sim-agent.mjs'), '--id', '{id}', '--title', '{title}', '--estimate', '{estimate}'];
}

/** A fresh repository per run: status.json and commits of one run must not leak into the next. */
export function freshRepo(root: string, name: string, planText: string, planName = 'bench'): string {
  const repo = path.join(root, name);
  mkdirSync(path.join(repo, 'docs', 'plans'), { recursive: true });
  const git = (args: string[]) => execFileSync('git', args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  git(['init', '-q', '-b', 'main']);
  git(['config', 'user.name', 'Bench']);
  git(['config', 'user.email', 'bench@example.com']);
  git(['config', 'commit.gpgsign', 'false']);
  writeFileSync(path.join(repo, 'docs', 'plans', `${planName}.md`), planText);
  git(['add', '-A']);
  git(['commit', '-q', '-m', 'initial']);
  return path.join(repo, 'docs', 'plans', `${planName}.md`);
}

async function run(planPath: string, opts: { batched: boolean; commit: boolean; agent: AgentKind }): Promise<number> {
  const s = await new Orchestrator({
    inPlace: true,
    planPath,
    agent: agentArgv(opts.agent),
    maxParallel: WORKERS,
    retries: 0,
    commit: opts.commit,
    batched: opts.batched,
    env: { ...process.env, PLAN_SIM_MS_PER_MINUTE: String(MS_PER_MINUTE) },
  }).run();
  if (s.failed.length || s.blocked.length) {
    const status = await readStatusFile(path.join(path.dirname(planPath), '..', 'plan-outputs', 'bench', 'status.json')).catch(() => undefined);
    const why = s.failed.map((id) => `${id}: ${status?.tasks[id]?.lastError ?? '?'}`).join('; ');
    throw new Error(`bench run did not finish: ${why}; ${s.blocked.length} blocked`);
  }
  return s.wallMs;
}

export async function benchOrchestrate(options: { withCommits?: boolean } = {}): Promise<BenchRow[]> {
  const planText = generatePlan({ tasks: TASKS, phaseSize: 20, seed: 42 });
  const { plan, graph } = analyzePlan(planText);
  const ideal = simulate(plan, graph, { workers: WORKERS }).makespan * MS_PER_MINUTE;
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'planctl-bench-orch-')));
  const s = (x: number) => `${(x / 1000).toFixed(2)} s`;
  try {
    const dag = await run(freshRepo(root, 'dag', planText), { batched: false, commit: false, agent: 'sh' });
    const batched = await run(freshRepo(root, 'batched', planText), { batched: true, commit: false, agent: 'sh' });
    const nodeAgent = await run(freshRepo(root, 'node', planText), { batched: false, commit: false, agent: 'node' });
    const rows: BenchRow[] = [
      {
        name: `orchestrate, ${TASKS} tasks, ${WORKERS} sh sim agents, --no-commit (${MS_PER_MINUTE} ms per estimated minute)`,
        value: s(dag),
        baseline: `simulate makespan ${s(ideal)}; batched pattern ${s(batched)}`,
        ratio: `×${(dag / ideal).toFixed(3)} of the makespan; batched/DAG ×${(batched / dag).toFixed(2)} speedup`,
        goal: '≤ 1.10 of the makespan',
      },
      {
        name: `orchestrate, ${TASKS} tasks, ${WORKERS} Node sim agents, --no-commit`,
        value: s(nodeAgent),
        baseline: `simulate makespan ${s(ideal)}`,
        ratio: `×${(nodeAgent / ideal).toFixed(3)} of the makespan`,
        goal: '—',
      },
    ];
    if (options.withCommits ?? true) {
      const committed = await run(freshRepo(root, 'commit', planText), { batched: false, commit: true, agent: 'sh' });
      rows.push({
        name: `orchestrate, ${TASKS} tasks, ${WORKERS} sim agents, one commit per task`,
        value: s(committed),
        baseline: `simulate makespan ${s(ideal)}; same run without commits ${s(dag)}`,
        ratio: `×${(committed / ideal).toFixed(3)} of the makespan`,
        goal: '≤ 1.10 of the makespan',
      });
    }
    return rows;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// Run directly: `node --import tsx bench/orchestrate.ts`.
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  for (const row of await benchOrchestrate()) console.log(row);
}
