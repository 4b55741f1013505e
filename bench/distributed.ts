/**
 * Distributed runs (`node out/bench/distributed.js`): the same 24-task plan (3 phases of 8 independent
 * tasks with the sh simulated agent) through `planctl orchestrate --queue` on one worker with 4 agents,
 * then on two workers with 4 each (each worker with its own clone: two hosts on one machine). Twice:
 * with tasks of 400 ms, where the run's fixed costs (starting the coordinator, one integration and
 * hand-over per phase, the last push) are a large share of the time, and with tasks of 2 s, still far
 * shorter than an agent's minutes, where the scaling shows. Real redis-server, BullMQ and git (the cluster of test/distributed/cluster.ts); the agent
 * is simulated so that the figure is the queue's and git's, not a model's. The two set-ups alternate
 * (one, two, one, two) and the ratio is the median of the rounds' ratios, because the machine's load
 * changes within a run. Also printed: the same plan run locally with 4 agents, for the coordinator's
 * overhead against the local orchestrator's.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { coordinatorRepo, RedisServer, redisServerPath, startWorker, stopWorker, type WorkerProc } from '../test/distributed/cluster.js';
import { planctlProcess } from '../test/agents/realAgents.js';
import { removeTempRepos } from '../test/unit/helpers/tempRepo.js';
import type { BenchRow } from './row.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const AGENT = JSON.stringify(['/bin/sh', path.join(REPO, 'examples', 'sim-agent.sh'), '{id}', '{estimate}']);
/** The sim agent sleeps this many ms per estimated minute; every task is estimated at 20 minutes. */
const SHORT_MS_PER_MINUTE = 20;
const LONG_MS_PER_MINUTE = 100;
const TASKS = 24;
const ROUNDS = 3;

function plan(): string {
  const lines = ['# Implementation Plan: Dist'];
  for (let p = 1; p <= 3; p++) {
    lines.push('', `## Phase ${p}: Step ${p}`);
    for (let i = 1; i <= 8; i++) lines.push(`- [ ] ${p}.${i} Part ${i} (est: 20m)`);
  }
  return `${lines.join('\n')}\n`;
}

/** Wall time of `planctl orchestrate` on a fresh copy of the plan, with `queue` (and `workers` workers) or locally. */
async function orchestrate(env: NodeJS.ProcessEnv, maxParallel: number, queue?: { redis: RedisServer; workers: number }): Promise<number> {
  const { repo, remote } = await coordinatorRepo('dist', plan());
  const workers: WorkerProc[] = [];
  try {
    for (let i = 0; i < (queue?.workers ?? 0); i++) {
      workers.push(await startWorker(`w${i + 1}`, { redis: queue!.redis, remote, env, concurrency: 4, cache: path.join(path.dirname(repo.dir), `worker${i + 1}`) }));
    }
    const args = ['orchestrate', '--in-place', ...(queue ? ['--queue', queue.redis.url] : []), '--plan', 'docs/plans/dist.md', '--max-parallel', String(maxParallel), '--agent', AGENT, '--retries', '0'];
    const t0 = performance.now();
    const r = await planctlProcess(args, repo.dir, env, 600_000).done;
    const ms = performance.now() - t0;
    if (r.code !== 0) throw new Error(`distributed bench run failed: ${r.out}\n${r.err}\n${workers.map((w) => w.out()).join('\n')}`);
    return ms;
  } finally {
    for (const w of workers) await stopWorker(w);
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const envWith = (msPerMinute: number): NodeJS.ProcessEnv => ({ ...process.env, PLAN_SIM_MS_PER_MINUTE: String(msPerMinute), PLAN_WORKER_LOCK_MS: '10000' });

/** One worker against two, alternating, on tasks of 20 × `msPerMinute` ms; returns the row and one worker's median. */
async function oneAgainstTwo(redis: RedisServer, msPerMinute: number): Promise<{ row: BenchRow; one: number }> {
  const env = envWith(msPerMinute);
  const one: number[] = [];
  const two: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    one.push(await orchestrate(env, 4, { redis, workers: 1 }));
    two.push(await orchestrate(env, 8, { redis, workers: 2 }));
  }
  const ratios = one.map((o, i) => two[i]! / o);
  const ms = 20 * msPerMinute;
  return {
    one: median(one),
    row: {
      name: `distributed, ${TASKS} tasks of ${ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`} (sh sim agent): two workers × 4 agents (median of ${ROUNDS} alternating rounds)`,
      value: s(median(two)),
      baseline: `one worker × 4 agents ${s(median(one))}`,
      ratio: `×${median(ratios).toFixed(2)} of one worker (rounds: ${ratios.map((r) => r.toFixed(2)).join(', ')})`,
      goal: '≤ 0.6',
    },
  };
}

export async function benchDistributed(): Promise<BenchRow[]> {
  if (!redisServerPath()) return [{ name: 'distributed: two workers × 4 vs one × 4', value: '—', baseline: '—', ratio: 'redis-server not installed', goal: '≤ 0.6' }];
  const redis = await RedisServer.start();
  try {
    const short = await oneAgainstTwo(redis, SHORT_MS_PER_MINUTE);
    const long = await oneAgainstTwo(redis, LONG_MS_PER_MINUTE);
    const local = await orchestrate(envWith(SHORT_MS_PER_MINUTE), 4);
    const ideal = (TASKS / 4) * 20 * SHORT_MS_PER_MINUTE;
    const perTask = (ms: number) => `${((ms - ideal) / TASKS).toFixed(0)} ms per task above the ideal ${s(ideal)}`;
    return [
      short.row,
      long.row,
      {
        name: `distributed coordinator vs the local orchestrator, same plan, tasks of ${20 * SHORT_MS_PER_MINUTE} ms, 4 agents`,
        value: `one worker × 4: ${s(short.one)} (${perTask(short.one)})`,
        baseline: `local orchestrate, 4 agents: ${s(local)} (${perTask(local)})`,
        ratio: `×${(short.one / local).toFixed(2)} of local`,
        goal: '—',
      },
    ];
  } finally {
    await redis.stop();
    await removeTempRepos();
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  for (const row of await benchDistributed()) console.log(row);
}
