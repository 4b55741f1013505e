/**
 * A small cluster for the distributed tests (and bench/distributed.ts), all real: a `redis-server` on
 * a free loopback port (with an append-only file, so that a restart keeps the queue), a bare git
 * remote, the coordinator's checkout on its plan branch, and `planctl worker` processes, each with its
 * own cache (its own clone: it stands in for a host) and, in the tests, its own Claude Code CLI talking
 * to the scripted model server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { readStatusFile, type StatusFile } from '../../src/core/status.js';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo.js';
import { claudeEnv, PLANCTL, planctlProcess } from '../agents/realAgents.js';
import { startScriptedAnthropic, taskIdOf, type Reply, type ScriptContext, type ScriptedAnthropic } from '../agents/scriptedAnthropic.js';

export function redisServerPath(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? 'redis-server' : undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export class RedisServer {
  private proc: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<RedisServer> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'plan-redis-'));
    const r = new RedisServer(await freePort(), dir);
    await r.up();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** (Re)starts the server on the same port and data folder: the append-only file brings the queue back. */
  async up(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      const c = new Redis({ port: this.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      const ok = await c
        .connect()
        .then(() => c.ping())
        .then(() => true)
        .catch(() => false);
      c.disconnect();
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not come up on port ${this.port}`);
  }

  /** Kills it without a goodbye (what a crash or a power cut does). */
  async kill(): Promise<void> {
    const p = this.proc;
    // Ended already (a kill leaves signalCode set and exitCode null).
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface Cluster {
  repo: TempRepo;
  remote: string;
  redis: RedisServer;
  workers: WorkerProc[];
}

export interface WorkerProc {
  name: string;
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

/** The coordinator's checkout: the plan committed on `plan/<name>`, pushed to a bare remote the workers clone. */
export async function coordinatorRepo(planName: string, planText: string, files: Record<string, string> = {}): Promise<{ repo: TempRepo; remote: string }> {
  const repo = await makeTempRepo({ 'README.md': '# dist\n', [`docs/plans/${planName}.md`]: planText, ...files });
  const remote = path.join(path.dirname(repo.dir), 'remote.git');
  spawnSync('git', ['init', '-q', '--bare', remote]);
  repo.git(['remote', 'add', 'origin', remote]);
  repo.git(['checkout', '-q', '-b', `plan/${planName}`]);
  repo.git(['push', '-q', 'origin', 'main', `plan/${planName}`]);
  return { repo, remote };
}

export interface WorkerOptions {
  redis: RedisServer;
  remote: string;
  env: NodeJS.ProcessEnv;
  concurrency?: number;
  /** Its clone, job worktrees and logs; a worker started again on the same cache is the same host restarting. */
  cache: string;
  /** More options of `planctl worker` (`--push-commits`). */
  args?: string[];
}

/** A `planctl worker` process, returned once it says it listens to the queue. */
export async function startWorker(name: string, opts: WorkerOptions): Promise<WorkerProc> {
  const child = spawn(process.execPath, [PLANCTL, 'worker', '--queue', opts.redis.url, '--repo', opts.remote, '--concurrency', String(opts.concurrency ?? 2), '--cache', opts.cache, ...(opts.args ?? [])], {
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Ready once it says so (its clone is made and it listens to the queue).
  for (let i = 0; i < 400 && !/^worker /m.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`worker ${name} exited: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!/^worker /m.test(out)) throw new Error(`worker ${name} did not start: ${out}`);
  return { name, child, out: () => out, exited };
}

/** A worker whose agent is the real Claude Code CLI against the scripted model server, in a folder of its own (its host). */
export async function startClaudeWorker(name: string, opts: { redis: RedisServer; remote: string; anthropicUrl: string; binDir: string; concurrency?: number; base?: string; args?: string[] }): Promise<WorkerProc & { base: string }> {
  const base = opts.base ?? (await mkdtemp(path.join(os.tmpdir(), `plan-worker-${name}-`)));
  await mkdir(path.join(base, 'home'), { recursive: true });
  const env = { ...(await claudeEnv(opts.anthropicUrl, path.join(base, 'home'), opts.binDir)), PLAN_WORKER_LOCK_MS: '3000' };
  const w = await startWorker(name, { redis: opts.redis, remote: opts.remote, env, cache: path.join(base, 'cache'), ...(opts.concurrency ? { concurrency: opts.concurrency } : {}), ...(opts.args ? { args: opts.args } : {}) });
  return { ...w, base };
}

export async function stopWorker(w: WorkerProc): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  await w.exited;
}

/** The worktree a task's prompt names (the worker's job worktree). */
export const worktreeOf = (prompt: string): string => /Work only inside (\S+) and only/.exec(prompt)![1]!;

/** Each task writes its own file `out/<id>.txt`, then says it is done. */
export function writeOwnFile(ctx: ScriptContext): Reply {
  const id = taskIdOf(ctx.prompt)!;
  if (ctx.turn === 0) return { content: [{ type: 'tool_use', name: 'Write', input: { file_path: path.join(worktreeOf(ctx.prompt), 'out', `${id}.txt`), content: `task ${id}\n` } }] };
  return { content: [{ type: 'text', text: `${id} done` }] };
}

/** One test's cluster on a shared Redis: the scripted model server, the coordinator's checkout of plan/dist, and its workers. */
export class TestCluster {
  readonly workers: Array<WorkerProc & { base: string }> = [];

  private constructor(
    private readonly redis: RedisServer,
    private readonly binDir: string,
    readonly server: ScriptedAnthropic,
    readonly repo: TempRepo,
    readonly remote: string,
  ) {}

  static async start(opts: { redis: RedisServer; binDir: string; script: (ctx: ScriptContext) => Reply | Promise<Reply>; planText: string; files?: Record<string, string>; workers?: number; concurrency?: number; workerArgs?: string[][] }): Promise<TestCluster> {
    const server = await startScriptedAnthropic(opts.script);
    const { repo, remote } = await coordinatorRepo('dist', opts.planText, opts.files ?? {});
    const c = new TestCluster(opts.redis, opts.binDir, server, repo, remote);
    for (let i = 0; i < (opts.workers ?? 2); i++) {
      const args = opts.workerArgs?.[i];
      await c.addWorker(`w${i + 1}`, { ...(opts.concurrency ? { concurrency: opts.concurrency } : {}), ...(args ? { args } : {}) });
    }
    return c;
  }

  /** Starts a worker; with `base` of a worker that died, the same host starting it again. */
  async addWorker(name: string, opts: { base?: string; concurrency?: number; args?: string[] } = {}): Promise<WorkerProc & { base: string }> {
    const w = await startClaudeWorker(name, { redis: this.redis, remote: this.remote, anthropicUrl: this.server.url, binDir: this.binDir, ...opts });
    this.workers.push(w);
    return w;
  }

  /** `planctl orchestrate --queue` on the plan, 4 tasks at once, no retries. */
  orchestrate(extra: string[] = []): ReturnType<typeof planctlProcess> {
    return planctlProcess(['orchestrate', '--in-place', '--queue', this.redis.url, '--plan', 'docs/plans/dist.md', '--max-parallel', '4', '--retries', '0', ...extra], this.repo.dir, { ...process.env }, 300_000);
  }

  async status(): Promise<StatusFile | undefined> {
    return readStatusFile(path.join(this.repo.dir, 'docs/plan-outputs/dist/status.json')).catch(() => undefined);
  }

  /** How many commits of the plan branch have this subject prefix (`task 1.1:`). */
  commitsOf(taskId: string): number {
    return this.repo.git(['log', '--format=%s', 'plan/dist']).split('\n').filter((x) => x.startsWith(`task ${taskId}:`)).length;
  }

  workersOut(): string {
    return this.workers.map((w) => `--- ${w.name}:\n${w.out()}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const w of this.workers) await stopWorker(w);
    await this.server.close();
  }
}
