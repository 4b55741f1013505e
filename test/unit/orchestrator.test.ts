/**
 * The orchestrator with real processes (examples/sim-agent.mjs) in real temporary git repositories.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Orchestrator, splitCommand, expandTemplate, type OrchestratorEvent } from '../../src/run/orchestrator.js';
import { analyzePlan } from '../../src/core/analyzer.js';
import { readStatusFile, type StatusFile } from '../../src/core/status.js';
import { makeTempRepo, removeTempRepos, type TempRepo } from './helpers/tempRepo.js';
import { runCli, runCliInTerminal, SIM_AGENT_ARGV, simEnv, waitFor } from './helpers/simAgent.js';

const AGENT = SIM_AGENT_ARGV;

const PLAN = `# Implementation Plan: Sim

## Phase 1: Setup
- [ ] 1.1 Create config in \`src/config.ts\` (est: 10m)
- [ ] 1.2 Create models in \`src/models.ts\` (est: 20m)
- [ ] 1.3 Shared registry in \`src/shared.ts\` (est: 10m)
- [ ] 1.4 Extend the shared registry in \`src/shared.ts\` (est: 10m)

**VERIFY Phase 1:**
- [ ] \`$ node -e "process.exit(0)"\` passes

## Phase 2: Build
- [ ] 2.1 Service (depends: 1.1, 1.2) (est: 20m)
- [ ] 2.2 API (depends: 2.1) (est: 10m)
- [ ] 2.3 Docs (est: 10m)
- [ ] 2.4 CLI (depends: 1.3) (est: 10m)

**VERIFY Phase 2:**
- [ ] everything works
`;

const TASK_IDS = ['1.1', '1.2', '1.3', '1.4', '2.1', '2.2', '2.3', '2.4'];

after(removeTempRepos);

async function repoWith(plan: string): Promise<{ repo: TempRepo; planPath: string; statusPath: string }> {
  const repo = await makeTempRepo({ 'README.md': '# t\n', 'docs/plans/sim.md': plan });
  return { repo, planPath: path.join(repo.dir, 'docs/plans/sim.md'), statusPath: path.join(repo.dir, 'docs/plan-outputs/sim/status.json') };
}

async function status(statusPath: string): Promise<StatusFile> {
  const s = await readStatusFile(statusPath);
  assert.ok(s, 'status.json exists');
  return s;
}

const ms = (iso: string | undefined): number => {
  assert.ok(iso, 'timestamp present');
  return Date.parse(iso);
};

/** Task IDs a task waits for, through phase barriers. */
function taskPreds(plan: string, id: string): string[] {
  const { plan: p, graph } = analyzePlan(plan);
  const out = new Set<string>();
  const visit = (v: number): void => {
    for (const u of graph.preds[v]!) {
      if (u < graph.taskCount) out.add(p.tasks[u]!.id);
      else visit(u);
    }
  };
  visit(graph.indexById.get(id)!);
  return [...out];
}

describe('command helpers', () => {
  test('splitCommand honours quotes and escapes without a shell', () => {
    assert.deepEqual(splitCommand(`node -e "process.exit(0)" 'a b' c\\ d ""`), ['node', '-e', 'process.exit(0)', 'a b', 'c d', '']);
    assert.deepEqual(splitCommand('npm   test'), ['npm', 'test']);
    assert.throws(() => splitCommand('echo "oops'), /unterminated/);
  });
  test('placeholders are substituted per element, never re-split', () => {
    assert.deepEqual(expandTemplate(['x', '--t={title}', '{id}', '{nope}'], { title: 'a "b"; rm -rf /', id: '2.1' }), ['x', '--t=a "b"; rm -rf /', '2.1', '{nope}']);
  });
});

describe('orchestrator with the simulated agent', () => {
  test('runs the plan in dependency order, never overlaps conflicting tasks, one commit per task', async () => {
    const { repo, planPath, statusPath } = await repoWith(PLAN);
    const events: OrchestratorEvent[] = [];
    const summary = await new Orchestrator({ inPlace: true, approveCommands: true, planPath, agent: AGENT, maxParallel: 3, env: simEnv(), onEvent: (e) => events.push(e) }).run();
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(summary.blocked, []);
    assert.deepEqual([...summary.completed].sort(), [...TASK_IDS, 'V1.1', 'V2.1'].sort());
    assert.ok(events.some((e) => e.type === 'unchecked' && e.id === 'V2.1'), 'VERIFY without command reported as not checked');

    const s = await status(statusPath);
    for (const id of [...TASK_IDS, 'V1.1', 'V2.1']) assert.equal(s.tasks[id]?.status, 'completed', id);
    for (const id of [...TASK_IDS, 'V1.1']) {
      for (const pred of taskPreds(PLAN, id)) {
        assert.ok(ms(s.tasks[id]!.startedAt) >= ms(s.tasks[pred]!.completedAt), `${id} started after ${pred} ended`);
      }
    }
    const [a, b] = [s.tasks['1.3']!, s.tasks['1.4']!];
    assert.ok(ms(a.completedAt) <= ms(b.startedAt) || ms(b.completedAt) <= ms(a.startedAt), '1.3 and 1.4 (same file) never overlap');
    // Parallelism really happened: 1.1 and 1.2 are independent and both start before either ends.
    assert.ok(ms(s.tasks['1.2']!.startedAt) < ms(s.tasks['1.1']!.completedAt) || ms(s.tasks['1.1']!.startedAt) < ms(s.tasks['1.2']!.completedAt));

    const log = repo.git(['log', '--format=%s']).split('\n');
    const { plan } = analyzePlan(PLAN);
    for (const id of TASK_IDS) {
      const title = plan.tasks.find((t) => t.id === id)!.title;
      assert.equal(log.filter((m) => m === `task ${id}: ${title}`).length, 1, `one commit for ${id}`);
    }
    assert.equal(log.length, TASK_IDS.length + 1, 'only task commits after the initial one');
    for (const id of TASK_IDS) {
      const lines = (await readFile(path.join(repo.dir, 'sim-output', `${id}.txt`), 'utf8')).trim().split('\n');
      assert.equal(lines.length, 1, `${id} ran once`);
    }
    assert.equal(repo.git(['ls-files', 'sim-output']).split('\n').length, TASK_IDS.length, 'every output committed');
    const logText = await readFile(path.join(repo.dir, 'docs/plan-outputs/sim/logs/2.1.log'), 'utf8');
    assert.match(logText, /attempt 1/);
    assert.match(logText, /sim-agent 2\.1: done/);
    assert.equal(repo.git(['ls-files', 'docs/plan-outputs/sim/logs']), '', 'logs are not committed');
  });

  test('a failing task is retried once, then fails and blocks only its dependents', async () => {
    const { statusPath, planPath, repo } = await repoWith(PLAN);
    const summary = await new Orchestrator({ inPlace: true, approveCommands: true, planPath, agent: AGENT, maxParallel: 3, env: simEnv({ PLAN_SIM_FAIL: '2.1' }) }).run();
    assert.deepEqual(summary.failed, ['2.1']);
    assert.deepEqual([...summary.blocked].sort(), ['2.2', 'V2.1']);
    const s = await status(statusPath);
    assert.equal(s.tasks['2.1']!.status, 'failed');
    assert.equal(s.tasks['2.1']!.attempts, 2);
    assert.match(s.tasks['2.1']!.lastError ?? '', /^agent exited 1: sim-agent 2.1: failing on purpose$/);
    for (const id of ['1.1', '1.2', '1.3', '1.4', '2.3', '2.4']) assert.equal(s.tasks[id]!.status, 'completed', id);
    assert.equal(s.tasks['2.2'], undefined, '2.2 never started');
    const logText = await readFile(path.join(repo.dir, 'docs/plan-outputs/sim/logs/2.1.log'), 'utf8');
    assert.match(logText, /attempt 2/);
  });

  test('a VERIFY command that fails is a failed gate', async () => {
    const plan = PLAN.replace('process.exit(0)', 'process.exit(3)');
    const { planPath, statusPath } = await repoWith(plan);
    const summary = await new Orchestrator({ inPlace: true, approveCommands: true, planPath, agent: AGENT, maxParallel: 3, retries: 0, env: simEnv(), commit: false }).run();
    assert.deepEqual(summary.failed, ['V1.1']);
    const s = await status(statusPath);
    // Tasks that wait for the phase barrier do not start; 2.1 and 2.4 name their own dependencies.
    assert.equal(s.tasks['2.3'], undefined);
    assert.equal(s.tasks['2.1']!.status, 'completed');
  });

  test('a hanging agent is timed out and the rest continue', async () => {
    const plan = '# Plan: Hang\n\n## Phase 1: Only\n- [ ] 1.1 Wait forever [HANG] (est: 1m)\n- [ ] 1.2 Normal work (est: 5m)\n';
    const { planPath, statusPath } = await repoWith(plan);
    // Long enough for 1.2 to finish on a loaded machine; 1.1 never would.
    const summary = await new Orchestrator({ inPlace: true, approveCommands: true, planPath, agent: AGENT, maxParallel: 2, retries: 0, timeoutMs: 3_000, env: simEnv() }).run();
    assert.deepEqual(summary.failed, ['1.1']);
    assert.deepEqual(summary.completed, ['1.2']);
    const s = await status(statusPath);
    assert.equal(s.tasks['1.1']!.lastError, 'timed out after 3 s');
  });

  test('a second orchestrator for the same plan is refused while the first runs; bad input exits 2', async () => {
    const { planPath, repo } = await repoWith(PLAN);
    // Slow enough that the first run is still going while the second CLI process boots on a loaded machine.
    const env = simEnv({ PLAN_SIM_MS_PER_MINUTE: '100' });
    const first = runCli(['orchestrate', '--in-place', '--approve-commands', '--plan', planPath, '--agent', JSON.stringify(AGENT), '--no-commit'], repo.dir, env);
    const registry = path.join(repo.dir, '.git', 'plan-orchestrator', 'orchestrators', 'sim.json');
    await waitFor('the registry record', async () => existsSync(registry));
    await assert.rejects(new Orchestrator({ inPlace: true, approveCommands: true, planPath, agent: AGENT, env }).run(), /already running/);
    const listed = runCli(['orchestrators', 'list', '--json'], repo.dir, env);
    const listedOut = await listed.done;
    const entries = JSON.parse(listedOut.out).orchestrators as Array<{ name: string; alive: boolean; pid: number }>;
    assert.deepEqual(entries.map((e) => [e.name, e.alive, e.pid]), [['sim', true, first.child.pid]]);
    const second = await runCli(['orchestrate', '--in-place', '--approve-commands', '--plan', planPath, '--agent', JSON.stringify(AGENT)], repo.dir, env).done;
    assert.equal(second.code, 2);
    assert.match(second.err, /already running/);
    const bad = await runCli(['orchestrate', '--in-place', '--approve-commands', '--plan', planPath, '--agent', 'claude -p'], repo.dir, env).done;
    assert.equal(bad.code, 2);
    assert.match(bad.err, /JSON array/);
    const res = await first.done;
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /▶ 1\.\d started/);
    assert.match(res.out, /✓ 2\.2 done in \d+\.\d s/);
    assert.ok(!existsSync(registry), 'record removed at the end');
  });

  test('a status file that turns corrupt mid-run stops the run with the reason; the file is kept and no agent is left running', async () => {
    const { planPath, statusPath, repo } = await repoWith(PLAN);
    const events: OrchestratorEvent[] = [];
    let spoiled = false;
    const run = new Orchestrator({
      inPlace: true,
      approveCommands: true,
      planPath,
      agent: AGENT,
      maxParallel: 2,
      commit: false,
      graceMs: 5_000,
      env: simEnv({ PLAN_SIM_MS_PER_MINUTE: '20' }),
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'started' && !spoiled) {
          spoiled = true;
          void writeFile(statusPath, '{ "not": "a status file"');
        }
      },
    }).run();
    await assert.rejects(run, /not a valid status file/);
    assert.equal(await readFile(statusPath, 'utf8'), '{ "not": "a status file"', 'the corrupt file is not overwritten');
    assert.ok(events.some((e) => e.type === 'warning' && /no more tasks are started/.test(e.message)));
    const started = events.filter((e): e is Extract<OrchestratorEvent, { type: 'started' }> => e.type === 'started').map((e) => e.id);
    assert.ok(started.length <= 2, `only the first round started: ${started.join(', ')}`);
    assert.ok(!existsSync(path.join(repo.dir, '.git', 'plan-orchestrator', 'orchestrators', 'sim.json')), 'registry record removed: nothing of ours runs');
  });

  test('on a terminal the output is one live block redrawn in place, not a line per event', async () => {
    const { planPath, repo } = await repoWith(PLAN);
    const res = await runCliInTerminal(['orchestrate', '--in-place', '--approve-commands', '--plan', planPath, '--agent', JSON.stringify(AGENT), '--no-commit', '--max-parallel', '3'], repo.dir, simEnv()).done;
    assert.equal(res.code, 0, res.err + res.out);
    const text = res.out.replace(/\r/g, '');
    // Cursor up N lines and clear to the end of the screen: the block is redrawn, not appended.
    assert.match(text, /\x1b\[\d+F\x1b\[J/);
    assert.match(text, /\x1b\[J\d+\/10 done, [1-3] running, 0 failed$/m);
    assert.match(text, /^ {2}▶ \d\.\d +\d+ s {2}\S/m);
    assert.match(text, /\x1b\[J10\/10 done, 0 running, 0 failed$/m);
    assert.match(text, /^\d+ done, 0 failed, 0 not run in \d+\.\d s$/m);
    assert.doesNotMatch(text, /▶ 1\.1 started/, 'no plain event lines on a terminal');
  });

  test('SIGTERM stops launching, kills running tasks after the grace period and resets them (exit 143)', async () => {
    const plan = '# Plan: Stop\n\n## Phase 1: Only\n- [ ] 1.1 Wait forever [HANG] (est: 1m)\n\n## Phase 2: Later\n- [ ] 2.1 Never reached (est: 1m)\n';
    const { planPath, statusPath, repo } = await repoWith(plan);
    const run = runCli(['orchestrate', '--in-place', '--approve-commands', '--plan', planPath, '--agent', JSON.stringify(AGENT), '--grace', '0.3'], repo.dir, simEnv());
    await waitFor('1.1 running', async () => (await status(statusPath)).tasks['1.1']?.status === 'in_progress');
    run.child.kill('SIGTERM');
    const res = await run.done;
    assert.equal(res.code, 143, res.err);
    const s = await status(statusPath);
    assert.equal(s.tasks['1.1']!.status, 'pending');
    assert.equal(s.tasks['2.1'], undefined);
  });

  test('after kill -9 of the orchestrator a new run resumes and every task runs exactly once', async () => {
    const { planPath, statusPath, repo } = await repoWith(PLAN);
    const env = simEnv({ PLAN_SIM_MS_PER_MINUTE: '15' });
    // One at a time, killed just after a start: the agent is then surely mid-work. Killed between an
    // agent's exit and the status write, a task would run again on resume (the known window).
    const args = ['orchestrate', '--in-place', '--approve-commands', '--plan', planPath, '--agent', JSON.stringify(AGENT), '--max-parallel', '1'];
    const first = runCli(args, repo.dir, env);
    const states = async () => Object.values((await status(statusPath)).tasks).map((t) => t.status);
    await waitFor('two tasks done and a third started', async () => {
      const st = await states();
      return st.filter((x) => x === 'completed').length >= 2 && st.includes('in_progress');
    });
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    const before = await status(statusPath);
    assert.ok(Object.values(before.tasks).some((t) => t.status === 'in_progress'), 'something was running when it died');

    const second = await runCli(args, repo.dir, env).done;
    assert.equal(second.code, 0, second.err + second.out);
    assert.match(second.out, /↺ .* back to pending: holder pid \d+ is gone/);
    const s = await status(statusPath);
    for (const id of [...TASK_IDS, 'V1.1', 'V2.1']) assert.equal(s.tasks[id]?.status, 'completed', id);
    const outputs = await readdir(path.join(repo.dir, 'sim-output'));
    assert.deepEqual(outputs.sort(), TASK_IDS.map((id) => `${id}.txt`).sort());
    for (const id of TASK_IDS) {
      const lines = (await readFile(path.join(repo.dir, 'sim-output', `${id}.txt`), 'utf8')).trim().split('\n');
      const logText = await readFile(path.join(repo.dir, 'docs/plan-outputs/sim/logs', `${id}.log`), 'utf8');
      assert.equal(lines.length, 1, `${id} ran to completion exactly once:\n${lines.join('\n')}\n${logText}\nkilled at ${new Date(killedAt).toISOString()}`);
    }
    const log = repo.git(['log', '--format=%s']).split('\n');
    for (const id of TASK_IDS) assert.equal(log.filter((m) => m.startsWith(`task ${id}: `)).length, 1, `one commit for ${id}`);
  });
});
