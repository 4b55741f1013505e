/**
 * `planctl orchestrate --queue` with `planctl worker`s, all real: redis-server, BullMQ, a bare git
 * remote, two worker processes with their own clones (two hosts), and the real Claude Code CLI in the
 * workers against the scripted model server.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readStatusFile } from '../../src/core/status.js';
import { GitService } from '../../src/git/gitService.js';
import { resolveAgentSettings } from '../../src/run/agents/index.js';
import { QueueCoordinator } from '../../src/run/queue/coordinator.js';
import { taskIdOf, type ScriptContext, type Reply } from '../agents/scriptedAnthropic.js';
import { RedisServer, worktreeOf, writeOwnFile, type WorkerProc } from './cluster.js';
import { skipReason, useClusters, type ClusterOptions } from './suite.js';

const skip = skipReason;
if (skip) console.log(`# skipping the distributed tests: ${skip}`);

/** 20 tasks: 8 at once, 8 that each wait for one of those, 4 that wait for the whole phase before. */
function graphPlan(): string {
  const lines = ['# Implementation Plan: Dist', '', '## Phase 1: Base'];
  for (let i = 1; i <= 8; i++) lines.push(`- [ ] 1.${i} Part ${i} in \`out/1.${i}.txt\``);
  lines.push('', '## Phase 2: More [PARALLEL]');
  for (let i = 1; i <= 8; i++) lines.push(`- [ ] 2.${i} More ${i} in \`out/2.${i}.txt\` (depends: 1.${i})`);
  lines.push('', '## Phase 3: Top');
  for (let i = 1; i <= 4; i++) lines.push(`- [ ] 3.${i} Top ${i} in \`out/3.${i}.txt\``);
  return `${lines.join('\n')}\n`;
}

const clusters = useClusters();

async function cluster(script: ClusterOptions['script'], planText: string, files: Record<string, string> = {}, workerCount = 2, workerArgs?: string[][]) {
  const c = await clusters.cluster({ script, planText, files, workers: workerCount, ...(workerArgs ? { workerArgs } : {}) });
  const status = async () => (await c.status())!;
  return { repo: c.repo, remote: c.remote, orchestrate: (extra: string[] = []) => c.orchestrate(extra), status, workers: c.workers, server: c.server };
}

describe('distributed runs through BullMQ and Redis', { skip }, () => {
  test('a 20-task graph runs on two workers; every task lands on the plan branch exactly once', async () => {
    // The second worker pushes its commits to their task refs; the first sends them back in the job's result.
    const { repo, remote, orchestrate, status, workers } = await cluster(writeOwnFile, graphPlan(), {}, 2, [[], ['--push-commits']]);
    const res = await orchestrate().done;
    assert.equal(res.code, 0, `${res.out}\n${res.err}\n--- workers:\n${workers.map((w) => w.out()).join('\n')}`);
    const subjects = repo.git(['log', '--format=%s', 'plan/dist']).split('\n');
    const s = await status();
    const ids = Object.keys(s.tasks).filter((id) => !id.startsWith('V'));
    assert.equal(ids.length, 20);
    for (const id of ids) {
      assert.equal(subjects.filter((x) => x.startsWith(`task ${id}:`)).length, 1, `one commit for ${id}`);
      assert.equal(await readFile(path.join(repo.dir, 'out', `${id}.txt`), 'utf8'), `task ${id}\n`);
      assert.equal(s.tasks[id]!.status, 'completed');
    }
    const hosts = new Set(ids.map((id) => s.tasks[id]!.run?.host));
    assert.equal(hosts.size, 2, `both workers ran tasks: ${[...hosts].join(', ')}`);
    // The coordinator pushed the plan branch: the remote has every task too.
    assert.equal(repo.git(['rev-parse', 'plan/dist']), repo.git(['ls-remote', 'origin', 'refs/heads/plan/dist']).split(/\s/)[0]);
    // Both ways back: each task's commit was either sent back by w1 or pushed to its task ref by w2, never both.
    const sent = [...workers[0]!.out().matchAll(/:(\d\.\d):1: done, [0-9a-f]{12} sent back/g)].map((m) => m[1]);
    const pushed = [...workers[1]!.out().matchAll(/:(\d\.\d):1: done, [0-9a-f]{12} pushed to refs\/plan-tasks\//g)].map((m) => m[1]);
    assert.ok(sent.length > 0 && pushed.length > 0, `sent back ${sent.length}, pushed ${pushed.length}`);
    assert.equal(sent.length + pushed.length, 20);
    const refs = repo.git(['ls-remote', remote, 'refs/plan-tasks/*']).split('\n').filter(Boolean);
    assert.deepEqual(refs.map((l) => /\/(\d\.\d)\/1$/.exec(l)![1]).sort(), [...pushed].sort());
  });

  test('kill -9 of a worker mid-task: its job is taken over by the other worker and the plan completes', async () => {
    let firstSeen = false;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { repo, orchestrate, status, workers } = await cluster(
      async (ctx) => {
        const id = taskIdOf(ctx.prompt)!;
        // The first session of 1.1 stalls after its Write: that is where its worker dies.
        if (id === '1.1' && ctx.turn === 1 && !firstSeen) {
          firstSeen = true;
          await held;
          return { content: [{ type: 'text', text: 'too late' }] };
        }
        return writeOwnFile(ctx);
      },
      '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 Slow part in `out/1.1.txt`\n- [ ] 1.2 Other part in `out/1.2.txt`\n',
    );
    const run = orchestrate();
    // Which worker runs 1.1: its host is in status.json as soon as the job reports progress.
    let victim: WorkerProc | undefined;
    for (let i = 0; i < 600 && !victim; i++) {
      const host = (await readStatusFile(path.join(repo.dir, 'docs/plan-outputs/dist/status.json')).catch(() => undefined))?.tasks['1.1']?.run?.host;
      if (host && firstSeen) victim = workers.find((w) => w.out().includes(`worker ${host}:`));
      if (!victim) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(victim, 'found the worker running 1.1');
    victim.child.kill('SIGKILL');
    await victim.exited;
    release();
    const res = await run.done;
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    const s = await status();
    assert.equal(s.tasks['1.1']!.status, 'completed');
    assert.notEqual(s.tasks['1.1']!.run?.host, undefined);
    assert.ok(!victim.out().includes(`1.1: done`), 'the killed worker did not finish it');
    // The stall is reported, naming the host that stopped answering.
    assert.match(res.out, /1\.1: \S+ stopped answering while it ran \S+:1\.1:1; the job goes to the next free worker/);
    assert.equal(repo.git(['log', '--format=%s', 'plan/dist']).split('\n').filter((x) => x.startsWith('task 1.1:')).length, 1);
  });

  test('a conflicting pair: the second commit is rerun on the new tip and both changes land', async () => {
    const edit = (ctx: ScriptContext, line: string): Reply => {
      const file = path.join(worktreeOf(ctx.prompt), 'shared.txt');
      if (ctx.turn === 0) return { content: [{ type: 'tool_use', name: 'Read', input: { file_path: file } }] };
      if (ctx.turn === 1) return { content: [{ type: 'tool_use', name: 'Edit', input: { file_path: file, old_string: 'base\n', new_string: `base\n${line}\n` } }] };
      return { content: [{ type: 'text', text: 'edited' }] };
    };
    const { repo, orchestrate } = await cluster(
      (ctx) => edit(ctx, taskIdOf(ctx.prompt) === '1.1' ? 'from 1.1' : 'from 1.2'),
      '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 First edit\n- [ ] 1.2 Second edit\n',
      { 'shared.txt': 'base\nend\n' },
    );
    const res = await orchestrate().done;
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    assert.match(res.out, /conflicts with the plan branch in shared\.txt; running it again on the new tip/);
    const text = await readFile(path.join(repo.dir, 'shared.txt'), 'utf8');
    assert.match(text, /from 1\.1/);
    assert.match(text, /from 1\.2/);
  });

  test('a conflicting pair with queue.on_conflict "agent": the second commit is applied to the new tip with its conflict markers, and an agent resolves them', async () => {
    const marked: string[] = [];
    const script = async (ctx: ScriptContext): Promise<Reply> => {
      const file = path.join(worktreeOf(ctx.prompt), 'shared.txt');
      if (/hold git conflict markers/.test(ctx.prompt)) {
        if (ctx.turn === 0) {
          // What the agent finds: both sides, between markers.
          marked.push(await readFile(file, 'utf8'));
          return { content: [{ type: 'tool_use', name: 'Read', input: { file_path: file } }] };
        }
        if (ctx.turn === 1) return { content: [{ type: 'tool_use', name: 'Write', input: { file_path: file, content: 'base\nfrom 1.1\nfrom 1.2\nend\n' } }] };
        return { content: [{ type: 'text', text: 'resolved' }] };
      }
      const line = taskIdOf(ctx.prompt) === '1.1' ? 'from 1.1' : 'from 1.2';
      if (ctx.turn === 0) return { content: [{ type: 'tool_use', name: 'Read', input: { file_path: file } }] };
      if (ctx.turn === 1) return { content: [{ type: 'tool_use', name: 'Edit', input: { file_path: file, old_string: 'base\n', new_string: `base\n${line}\n` } }] };
      return { content: [{ type: 'text', text: 'edited' }] };
    };
    const { repo, orchestrate } = await cluster(script, '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 First edit\n- [ ] 1.2 Second edit\n', {
      'shared.txt': 'base\nend\n',
      'git-workflow.json': JSON.stringify({ queue: { on_conflict: 'agent' } }),
    });
    const res = await orchestrate().done;
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    assert.match(res.out, /conflicts with the plan branch in shared\.txt; an agent resolves the conflicts on the new tip/);
    assert.equal(marked.length, 1, 'one resolve job');
    assert.match(marked[0]!, /^<<<<<<< /m);
    assert.match(marked[0]!, /^>>>>>>> /m);
    assert.equal(await readFile(path.join(repo.dir, 'shared.txt'), 'utf8'), 'base\nfrom 1.1\nfrom 1.2\nend\n');
    const subjects = repo.git(['log', '--format=%s', 'plan/dist']).split('\n');
    for (const id of ['1.1', '1.2']) assert.equal(subjects.filter((x) => x.startsWith(`task ${id}:`)).length, 1, `one commit for ${id}`);
  });

  test('an agent that leaves conflict markers behind fails the task: nothing with markers reaches the plan branch', async () => {
    const script = (ctx: ScriptContext): Reply => {
      const file = path.join(worktreeOf(ctx.prompt), 'shared.txt');
      // The resolving agent only says it is done.
      if (/hold git conflict markers/.test(ctx.prompt)) return { content: [{ type: 'text', text: 'looks fine to me' }] };
      const line = taskIdOf(ctx.prompt) === '1.1' ? 'from 1.1' : 'from 1.2';
      if (ctx.turn === 0) return { content: [{ type: 'tool_use', name: 'Read', input: { file_path: file } }] };
      if (ctx.turn === 1) return { content: [{ type: 'tool_use', name: 'Edit', input: { file_path: file, old_string: 'base\n', new_string: `base\n${line}\n` } }] };
      return { content: [{ type: 'text', text: 'edited' }] };
    };
    const { repo, orchestrate, status } = await cluster(script, '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 First edit\n- [ ] 1.2 Second edit\n', {
      'shared.txt': 'base\nend\n',
      'git-workflow.json': JSON.stringify({ queue: { on_conflict: 'agent' } }),
    });
    const res = await orchestrate().done;
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    const s = await status();
    const failed = ['1.1', '1.2'].filter((id) => s.tasks[id]!.status === 'failed');
    assert.equal(failed.length, 1);
    assert.match(s.tasks[failed[0]!]!.lastError ?? '', /the agent left conflict markers in shared\.txt/);
    assert.doesNotMatch(repo.git(['show', 'plan/dist:shared.txt']), /<<<<<<<|>>>>>>>/);
  });

  test('Redis gone for good mid-run: after queue.outage_seconds the coordinator fails the task and exits, and the worker stops without it', async () => {
    const own = await RedisServer.start();
    let running = false;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    try {
      const c = await clusters.cluster({
        redis: own,
        workers: 1,
        script: async (ctx) => {
          if (ctx.turn === 1 && !running) {
            running = true;
            await held;
          }
          return writeOwnFile(ctx);
        },
        planText: '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 Part in `out/1.1.txt`\n',
        files: { 'git-workflow.json': JSON.stringify({ queue: { outage_seconds: 2 } }) },
      });
      const run = c.orchestrate();
      for (let i = 0; i < 600 && !running; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(running, '1.1 runs on the worker');
      await own.stop();
      release();
      const res = await run.done;
      assert.equal(res.code, 1, `${res.out}\n${res.err}`);
      assert.match(res.out + res.err, /Redis at 127\.0\.0\.1:\d+ does not answer; the jobs under way fail if it does not come back within 2 s/);
      assert.match(res.out, /1\.1 failed: on the queue: Redis at 127\.0\.0\.1:\d+ has not answered for \d+ s/);
      assert.equal((await c.status())!.tasks['1.1']!.status, 'failed');
      // Its worker ends on SIGTERM although Redis is gone (the suite's next cluster stops it).
      const w = c.workers[0]!;
      w.child.kill('SIGTERM');
      assert.notEqual(await w.exited, undefined);
    } finally {
      release();
      await own.stop().catch(() => undefined);
    }
  });

  test('stopping the coordinator cancels a running job: its agent is stopped and the task is pending again', async () => {
    let agentGone!: () => void;
    const gone = new Promise<void>((r) => (agentGone = r));
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const { orchestrate, status, workers, server } = await cluster(
      async (ctx) => {
        if (ctx.turn === 1) {
          started();
          // Held until the agent's connection closes: that is its process being stopped.
          return new Promise<Reply>(() => undefined);
        }
        return writeOwnFile(ctx);
      },
      '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 Long part in `out/1.1.txt`\n',
      {},
      1,
    );
    server.onDisconnect = () => agentGone();
    const run = orchestrate(['--grace', '1']);
    await running;
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGTERM');
    const res = await run.done;
    await gone;
    assert.equal(res.code, 143, `${res.out}\n${res.err}`);
    assert.equal((await status()).tasks['1.1']!.status, 'pending');
    assert.match(workers[0]!.out(), /cancelled by the coordinator; stopping its agent/);
  });

  test('a job submitted twice (a duplicate delivery) runs once and is integrated once', async () => {
    const { repo, server } = await cluster(writeOwnFile, '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 Part in `out/1.1.txt`\n', {}, 1);
    const git = await GitService.open(repo.dir);
    const coordinator = await QueueCoordinator.start({ url: clusters.redis().url, remote: 'origin', git, branch: 'plan/dist', plan: `dup-${process.pid}`, onProgress: () => undefined, warn: () => undefined });
    try {
      const job = {
        prompt: '# Task 1.1: Part\n\nWork only inside {{worktree}} and only on task 1.1.',
        title: 'Part',
        body: '',
        estimateMinutes: 5,
        allowedTools: [],
        settings: resolveAgentSettings(undefined),
        outputDir: 'docs/plan-outputs/dist',
        findingsDir: 'docs/plan-outputs/dist/findings',
        message: 'task 1.1: Part',
      };
      const [first, second] = await Promise.all([coordinator.run('1.1', 1, job), coordinator.run('1.1', 1, job)]);
      const third = await coordinator.run('1.1', 1, job);
      for (const r of [first, second, third]) assert.equal(r.ok, true);
      assert.equal(repo.git(['log', '--format=%s']).split('\n').filter((x) => x === 'task 1.1: Part').length, 1, 'integrated once');
      const sessions = server.requests.filter((r) => r.kind === 'main' && r.turn === 0 && taskIdOf(r.prompt ?? '') === '1.1');
      assert.equal(sessions.length, 1, 'the agent ran once');
    } finally {
      await coordinator.close();
    }
  });

  test('a Redis restart mid-run (append-only file) loses nothing: every task lands exactly once', async () => {
    let done = 0;
    let restarted: Promise<void> | undefined;
    const { repo, orchestrate } = await cluster((ctx) => {
      if (ctx.turn === 1 && ++done === 5) restarted = clusters.redis().kill().then(() => new Promise((r) => setTimeout(r, 500))).then(() => clusters.redis().up());
      return writeOwnFile(ctx);
    }, graphPlan());
    const res = await orchestrate().done;
    assert.ok(restarted, 'Redis was restarted during the run');
    await restarted;
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    const subjects = repo.git(['log', '--format=%s', 'plan/dist']).split('\n');
    assert.equal(subjects.filter((x) => x.startsWith('task ')).length, 20);
    for (const id of ['1.1', '1.8', '2.4', '3.4']) assert.equal(subjects.filter((x) => x.startsWith(`task ${id}:`)).length, 1, `one commit for ${id}`);
  });
});

