/**
 * Distributed runs (`node out/bench/distributed.js`): the same 24-task plan (3 phases of 8 independent
 * tasks, 400 ms each with the sh simulated agent) through `planctl orchestrate --queue` on one worker
 * with 4 agents, then on two workers with 4 each (each worker with its own clone: two hosts on one
 * machine). Real redis-server, BullMQ and git; the agent is simulated so that the figure is the
 * queue's and git's, not a model's. Also printed: the same plan run locally with 4 agents, for the
 * coordinator's overhead against the local orchestrator's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RedisServer, redisServerPath } from '../test/distributed/cluster.js';
import type { BenchRow } from './row.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '../..');
const PLANCTL = path.join(REPO, 'dist', 'planctl.mjs');
const SIM = path.join(REPO, 'examples', 'sim-agent.sh');
const MS_PER_MINUTE = 20;

function plan(): string {
  const lines = ['# Implementation Plan: Dist'];
  for (let p = 1; p <= 3; p++) {
    lines.push('', `## Phase ${p}: Step ${p}`);
    for (let i = 1; i <= 8; i++) lines.push(`- [ ] ${p}.${i} Part ${i} (est: 20m)`);
  }
  return `${lines.join('\n')}\n`;
}

function git(cwd: string, args: string[]): void {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

function coordinatorRepo(root: string): { dir: string; remote: string } {
  const dir = path.join(root, 'coord');
  const remote = path.join(root, 'remote.git');
  mkdirSync(path.join(dir, 'docs', 'plans'), { recursive: true });
  git(root, ['init', '-q', '--bare', remote]);
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.name', 'Bench']);
  git(dir, ['config', 'user.email', 'bench@example.com']);
  writeFileSync(path.join(dir, 'docs', 'plans', 'dist.md'), plan());
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'plan']);
  git(dir, ['remote', 'add', 'origin', remote]);
  git(dir, ['checkout', '-q', '-b', 'plan/dist']);
  git(dir, ['push', '-q', 'origin', 'main', 'plan/dist']);
  return { dir, remote };
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [PLANCTL, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out, ms: performance.now() - t0 }));
  });
}

async function withWorkers(root: string, redis: RedisServer, count: number, env: NodeJS.ProcessEnv): Promise<number> {
  const { dir, remote } = coordinatorRepo(path.join(root, `w${count}`));
  const workers = [];
  for (let i = 0; i < count; i++) {
    const cache = path.join(root, `w${count}`, `worker${i}`);
    const child = spawn(process.execPath, [PLANCTL, 'worker', '--queue', redis.url, '--repo', remote, '--concurrency', '4', '--cache', cache], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    for (let t = 0; t < 400 && !/^worker /m.test(out); t++) await new Promise((r) => setTimeout(r, 50));
    workers.push(child);
  }
  try {
    const agent = JSON.stringify(['/bin/sh', SIM, '{id}', '{estimate}']);
    const r = await run(['orchestrate', '--in-place', '--queue', redis.url, '--plan', 'docs/plans/dist.md', '--max-parallel', String(4 * count), '--agent', agent, '--retries', '0'], dir, env);
    if (r.code !== 0) throw new Error(`distributed bench run failed: ${r.out}`);
    return r.ms;
  } finally {
    for (const w of workers) w.kill('SIGTERM');
  }
}

export async function benchDistributed(): Promise<BenchRow[]> {
  if (!redisServerPath()) return [{ name: 'distributed: two workers × 4 vs one × 4', value: '—', baseline: '—', ratio: 'redis-server not installed', goal: '≤ 0.6' }];
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'planctl-bench-dist-')));
  const redis = await RedisServer.start();
  const env = { ...process.env, PLAN_SIM_MS_PER_MINUTE: String(MS_PER_MINUTE), PLAN_WORKER_LOCK_MS: '10000' };
  try {
    const one = await withWorkers(root, redis, 1, env);
    const two = await withWorkers(root, redis, 2, env);
    const local = coordinatorRepo(path.join(root, 'local'));
    const l = await run(['orchestrate', '--in-place', '--plan', 'docs/plans/dist.md', '--max-parallel', '4', '--agent', JSON.stringify(['/bin/sh', SIM, '{id}', '{estimate}']), '--retries', '0'], local.dir, env);
    if (l.code !== 0) throw new Error(`local bench run failed: ${l.out}`);
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    const ideal = (24 / 4) * 20 * MS_PER_MINUTE;
    return [
      {
        name: `distributed, 24 tasks of ${20 * MS_PER_MINUTE} ms (sh sim agent): two workers × 4 agents`,
        value: s(two),
        baseline: `one worker × 4 agents ${s(one)}`,
        ratio: `×${(two / one).toFixed(2)} of one worker`,
        goal: '≤ 0.6',
      },
      {
        name: 'distributed coordinator vs the local orchestrator, same plan, 4 agents',
        value: `one worker × 4: ${s(one)} (${((one - ideal) / 24).toFixed(0)} ms per task above the ideal ${s(ideal)})`,
        baseline: `local orchestrate, 4 agents: ${s(l.ms)} (${((l.ms - ideal) / 24).toFixed(0)} ms per task above the ideal)`,
        ratio: `×${(one / l.ms).toFixed(2)} of local`,
        goal: '—',
      },
    ];
  } finally {
    await redis.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  for (const row of await benchDistributed()) console.log(row);
}
