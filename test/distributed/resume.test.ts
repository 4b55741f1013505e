/**
 * Resume of a distributed run, all real (redis-server, BullMQ, a bare remote, planctl worker processes
 * running the real Claude Code CLI against the scripted model server): a worker killed mid-job and
 * started again on the same cache, and a coordinator killed mid-run and started again.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { QUEUE_NAME } from '../../src/run/queue/protocol.js';
import { taskIdOf, type Reply } from '../agents/scriptedAnthropic.js';
import { writeOwnFile, type TestCluster } from './cluster.js';
import { skipReason, useClusters } from './suite.js';

const skip = skipReason;
if (skip) console.log(`# skipping the distributed resume tests: ${skip}`);

const clusters = useClusters();

/** Resolves once `check` is true (polled); fails the test with `what` after about a minute. */
async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting until ${what}`);
}

/** A latch the scripted model holds a task's session on. */
function latch(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

const sessionsOf = (c: TestCluster, id: string) => c.server.requests.filter((r) => r.kind === 'main' && r.turn === 0 && taskIdOf(r.prompt ?? '') === id).length;

describe('resuming distributed runs', { skip }, () => {
  test('a worker killed mid-job and started again on its cache removes what it left and carries on', async () => {
    const held = latch();
    let firstSeen = false;
    const c = await clusters.cluster({
      workers: 1,
      script: async (ctx) => {
        // The first session of 1.1 stops after its Write: that is where its worker dies.
        if (taskIdOf(ctx.prompt) === '1.1' && ctx.turn === 1 && !firstSeen) {
          firstSeen = true;
          await held.wait;
          return { content: [{ type: 'text', text: 'too late' }] };
        }
        return writeOwnFile(ctx);
      },
      // 2.1 starts from the commit that holds 1.1: the restarted worker must fetch it.
      planText: '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 Part in `out/1.1.txt`\n\n## Phase 2: Two\n- [ ] 2.1 Next in `out/2.1.txt`\n',
    });
    const run = c.orchestrate();
    const victim = c.workers[0]!;
    await until('1.1 runs on the worker', () => firstSeen);
    const jobs = path.join(victim.base, 'cache', 'jobs');
    const left = (await readdir(jobs)).filter((e) => /^\d+-\d+$/.test(e));
    assert.equal(left.length, 1, `one job worktree in use: ${left.join(', ')}`);
    victim.child.kill('SIGKILL');
    await victim.exited;
    // The agent the worker started outlives it (its own process group); let it end.
    held.open();
    // A fetch killed halfway would have left this lock; every later fetch fails while it is there.
    const refLock = path.join(victim.base, 'cache', 'clone.git', 'refs', 'heads', 'plan', 'dist.lock');
    await mkdir(path.dirname(refLock), { recursive: true });
    await writeFile(refLock, '0000000000000000000000000000000000000000\n');

    const restarted = await c.addWorker('w1-again', { base: victim.base, concurrency: 1 });
    assert.match(restarted.out(), new RegExp(`removed 1 job worktree\\(s\\) a stopped worker left: ${left[0]}`));
    assert.match(restarted.out(), /removed lock files a stopped git left in the clone: refs\/heads\/plan\/dist\.lock/);
    assert.equal(existsSync(path.join(jobs, left[0]!)), false);
    assert.equal(existsSync(refLock), false);

    const res = await run.done;
    assert.equal(res.code, 0, `${res.out}\n${res.err}\n${c.workersOut()}`);
    const s = (await c.status())!;
    for (const id of ['1.1', '2.1']) {
      assert.equal(s.tasks[id]!.status, 'completed');
      assert.equal(c.commitsOf(id), 1, `one commit for ${id}`);
    }
    assert.match(restarted.out(), /:2\.1:1: done, [0-9a-f]{12} sent back/);
  });

  test('a coordinator killed mid-run and started again follows the jobs still queued or running and integrates the one that finished meanwhile', async () => {
    const hold = { '1.1': latch(), '1.2': latch() };
    const atTurn1 = new Set<string>();
    const c = await clusters.cluster({
      workers: 1,
      concurrency: 2,
      script: async (ctx): Promise<Reply> => {
        const id = taskIdOf(ctx.prompt)!;
        if (ctx.turn === 1 && (id === '1.1' || id === '1.2')) {
          atTurn1.add(id);
          await hold[id].wait;
        }
        return writeOwnFile(ctx);
      },
      planText: '# Implementation Plan: Dist\n\n## Phase 1: One\n- [ ] 1.1 Part in `out/1.1.txt`\n- [ ] 1.2 Part in `out/1.2.txt`\n- [ ] 1.3 Part in `out/1.3.txt`\n',
    });
    const worker = c.workers[0]!;
    const queue = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: clusters.redis().port } });
    try {
      // The worker runs two jobs at once: 1.1 and 1.2 run, 1.3 waits on the queue.
      const first = c.orchestrate(['--max-parallel', '3']);
      await until('1.1 and 1.2 run and 1.3 waits', async () => atTurn1.size === 2 && (await queue.getWaitingCount()) === 1);
      first.child.kill('SIGKILL');
      await first.done;
      // 1.1 finishes while no coordinator runs: its commit is in its job's result, not on the plan branch.
      hold['1.1'].open();
      await until('the worker finished 1.1', () => /:1\.1:1: done, [0-9a-f]{12} sent back/.test(worker.out()));
      assert.equal(c.commitsOf('1.1'), 0);

      const second = c.orchestrate(['--max-parallel', '3']);
      let out = '';
      second.child.stdout!.on('data', (d) => (out += d));
      second.child.stderr!.on('data', (d) => (out += d));
      await until('the new coordinator follows 1.2', () => /1\.2: following \S+:1\.2:1, queued by an earlier run/.test(out));
      hold['1.2'].open();
      const res = await second.done;
      assert.equal(res.code, 0, `${res.out}\n${res.err}\n${c.workersOut()}`);
      for (const id of ['1.1', '1.3']) assert.match(res.out + res.err, new RegExp(`${id.replace('.', '\\.')}: following \\S+:${id.replace('.', '\\.')}:1, queued by an earlier run`));
      const s = (await c.status())!;
      for (const id of ['1.1', '1.2', '1.3']) {
        assert.equal(s.tasks[id]!.status, 'completed', id);
        assert.equal(c.commitsOf(id), 1, `one commit for ${id}`);
        assert.equal(sessionsOf(c, id), 1, `${id}'s agent ran once: its job was not queued again`);
      }
      // 1.1's commit on the plan branch is the one its worker made while no coordinator ran.
      const made = /:1\.1:1: done, ([0-9a-f]{12}) sent back/.exec(worker.out())![1]!;
      assert.match(c.repo.git(['log', '-1', '--format=%B', s.tasks['1.1']!.run!.commit!]), new RegExp(`cherry picked from commit ${made}[0-9a-f]{28}`));
    } finally {
      // A failed assertion must not leave the agents held (stopping their worker waits for them).
      for (const h of Object.values(hold)) h.open();
      await queue.close();
    }
  });
});
