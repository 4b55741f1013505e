/**
 * A small cluster for the distributed tests, all real: a `redis-server` on a free loopback port (with
 * an append-only file, so that a restart keeps the queue), a bare git remote, the coordinator's
 * checkout on its plan branch, and `planctl worker` processes, each with its own cache (its own
 * clone: it stands in for a host) and its own Claude Code CLI talking to the scripted model server.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { makeTempRepo, type TempRepo } from '../unit/helpers/tempRepo.js';
import { claudeEnv, PLANCTL } from '../agents/realAgents.js';

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
    if (!p || p.exitCode !== null) return;
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

export async function startWorker(name: string, opts: { redis: RedisServer; remote: string; anthropicUrl: string; binDir: string; concurrency?: number }): Promise<WorkerProc> {
  const base = await mkdtemp(path.join(os.tmpdir(), `plan-worker-${name}-`));
  await mkdir(path.join(base, 'home'), { recursive: true });
  const env = { ...(await claudeEnv(opts.anthropicUrl, path.join(base, 'home'), opts.binDir)), PLAN_WORKER_LOCK_MS: '3000' };
  const child = spawn(
    process.execPath,
    [PLANCTL, 'worker', '--queue', opts.redis.url, '--repo', opts.remote, '--concurrency', String(opts.concurrency ?? 2), '--cache', path.join(base, 'cache')],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Ready once it says so (its clone is made and it listens to the queue).
  for (let i = 0; i < 400 && !/^worker /m.test(out); i++) {
    if (child.exitCode !== null) throw new Error(`worker ${name} exited: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { name, child, out: () => out, exited };
}

export async function stopWorker(w: WorkerProc): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  await w.exited;
}
