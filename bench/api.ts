/**
 * The plan API (`planctl serve`, a child process on 127.0.0.1, a real git repository):
 * - status reads per second with 50 concurrent HTTP clients, against the same reads done directly
 *   through core (openPlan + planProgress + the task rows) with the same concurrency, in the same run;
 * - event latency with 50 WebSocket clients connected: from a StatusStore write to the task message
 *   reaching every client, against an fs.watch on the status folder in this process (the kernel's
 *   notification, the floor any watcher-based server starts from).
 *
 * Loopback only, bounded in count and time; the server and every client are closed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, watch } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { AnalysisCache, openPlan } from '../src/core/session.js';
import { planProgress } from '../src/core/progress.js';
import { taskRows } from '../src/run/events/views.js';
import { makeBenchRepo } from './benchRepo.js';
import type { BenchRow } from './row.js';

/** The bounds of the run: how many clients, reads and writes, and how long the reads may take at most. */
const RUN = { clients: 50, reads: 2000, readDeadlineMs: 20_000, events: 40, eventGapMs: 60, planTasks: 50 } as const;
const { clients: CLIENTS, reads: READS, readDeadlineMs: READ_DEADLINE_MS, events: EVENTS, eventGapMs: EVENT_GAP_MS, planTasks: PLAN_TASKS } = RUN;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const ms = (x: number): string => (x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);

/** planctl's entry beside this file: compiled (out/bench → out/src/cli/main.js) or from source under tsx. */
function planctlEntry(): string[] {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const main = path.resolve(path.dirname(here), '..', 'src', 'cli', fromSource ? 'main.ts' : 'main.js');
  return fromSource ? ['--import', 'tsx', main] : [main];
}

function startServer(repo: string, tokenFile: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [...planctlEntry(), 'serve', '--port', '0', '--token-file', tokenFile], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`planctl serve did not start: ${out}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on('exit', (code) => reject(new Error(`planctl serve exited with ${code}: ${out}`)));
  });
}

/** `count` calls of `one`, `concurrency` at a time, stopping early at the deadline; returns calls per second. */
async function throughput(concurrency: number, count: number, deadlineMs: number, one: () => Promise<void>): Promise<{ perSecond: number; done: number }> {
  let started = 0;
  let done = 0;
  const t0 = performance.now();
  const end = t0 + deadlineMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < count && performance.now() < end) {
        started++;
        await one();
        done++;
      }
    }),
  );
  return { perSecond: done / ((performance.now() - t0) / 1000), done };
}

export async function benchApi(): Promise<BenchRow[]> {
  const { root, repo, planFile, store } = makeBenchRepo('planctl-bench-api-', PLAN_TASKS);
  const tokenFile = path.join(root, 'config', 'api-token');
  await store.setTaskStatus('1.1', 'completed');

  let server: ChildProcess | undefined;
  const sockets: WebSocket[] = [];
  try {
    const started = await startServer(repo, tokenFile);
    server = started.child;
    const base = `http://127.0.0.1:${started.port}`;
    const token = readFileSync(tokenFile, 'utf8').trim();
    const headers = { authorization: `Bearer ${token}` };

    // Status reads: HTTP against core, same count and concurrency.
    const viaHttp = async (): Promise<void> => {
      const res = await fetch(`${base}/api/plans/bench/status`, { headers });
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      await res.json();
    };
    // The server's way: the plan and status.json read on every request, the analysis reused while the text is unchanged.
    const cache = new AnalysisCache();
    const viaCore = async (): Promise<void> => {
      const s = await openPlan(planFile, repo, cache);
      JSON.stringify({ ...planProgress(s.analysis.plan, s.analysis.graph, s.statusOf), tasks: taskRows(s.analysis, s.status) });
    };
    await throughput(CLIENTS, 100, READ_DEADLINE_MS, viaHttp);
    await throughput(CLIENTS, 100, READ_DEADLINE_MS, viaCore);
    const http = await throughput(CLIENTS, READS, READ_DEADLINE_MS, viaHttp);
    const core = await throughput(CLIENTS, READS, READ_DEADLINE_MS, viaCore);

    // Event latency: 50 WebSocket clients; each StatusStore write flips one task.
    const arrivals = new Map<number, number[]>();
    let expecting = -1;
    for (let i = 0; i < CLIENTS; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${started.port}/api/events`, { headers });
      sockets.push(ws);
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as { type: string; task?: string; note?: string };
        if (m.type === 'task' && m.task === '1.2' && m.note === `bench ${expecting}`) arrivals.get(expecting)!.push(performance.now());
      });
      await new Promise<void>((resolve, reject) => {
        ws.once('message', () => resolve());
        ws.once('error', reject);
      });
    }
    let watchedAt = 0;
    const localWatch = watch(path.dirname(store.path), (_e, name) => {
      if (name === 'status.json' && watchedAt === 0) watchedAt = performance.now();
    });
    const toAll: number[] = [];
    const toFirst: number[] = [];
    const floor: number[] = [];
    const writes: number[] = [];
    try {
      for (let i = 0; i < EVENTS; i++) {
        expecting = i;
        arrivals.set(i, []);
        watchedAt = 0;
        const t0 = performance.now();
        await store.setTaskStatus('1.2', i % 2 === 0 ? 'in_progress' : 'pending', { note: `bench ${i}` });
        writes.push(performance.now() - t0);
        const deadline = performance.now() + 5_000;
        while (arrivals.get(i)!.length < CLIENTS && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        const got = arrivals.get(i)!;
        if (got.length < CLIENTS) throw new Error(`event ${i}: ${got.length} of ${CLIENTS} clients got it within 5 s`);
        toAll.push(Math.max(...got) - t0);
        toFirst.push(Math.min(...got) - t0);
        if (watchedAt > 0) floor.push(watchedAt - t0);
        await new Promise((r) => setTimeout(r, EVENT_GAP_MS));
      }
    } finally {
      localWatch.close();
    }

    return [
      {
        name: `API status reads, ${CLIENTS} concurrent HTTP clients (${PLAN_TASKS}-task plan, planctl serve in its own process)`,
        value: `${http.perSecond.toFixed(0)} reads/s (${http.done} reads)`,
        baseline: `same reads through core, no HTTP: ${core.perSecond.toFixed(0)} reads/s`,
        ratio: `×${(http.perSecond / core.perSecond).toFixed(2)} throughput`,
        goal: '—',
      },
      {
        name: `API event latency: StatusStore write → task message at all ${CLIENTS} WebSocket clients (${EVENTS} writes)`,
        value: `median ${ms(percentile(toAll, 50))}, p95 ${ms(percentile(toAll, 95))} (first client: median ${ms(percentile(toFirst, 50))})`,
        baseline: `fs.watch in the writing process: median ${ms(percentile(floor, 50))}; the write itself ${ms(percentile(writes, 50))}`,
        ratio: `×${(percentile(toAll, 50) / Math.max(percentile(floor, 50), 0.1)).toFixed(1)} of fs.watch`,
        goal: '≤ 100 ms',
      },
    ];
  } finally {
    for (const ws of sockets) ws.terminate();
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(root, { recursive: true, force: true });
  }
}

// `node out/bench/api.js` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const r of await benchApi()) console.log(`| ${r.name} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.goal} |`);
}
