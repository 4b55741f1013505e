/**
 * `orchestrate --all`, `--daemon`, `--batched` and `orchestrators stop`, with real planctl processes,
 * the simulated agent and plan worktrees made by WorktreeManager in temporary repositories.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readStatusFile, type StatusFile } from '../../src/core/status.js';
import { WorktreeManager } from '../../src/git/worktreeManager.js';
import { makeTempRepo, removeTempRepos } from './helpers/tempRepo.js';
import { runCli, SIM_AGENT_ARGV, simEnv, waitFor } from './helpers/simAgent.js';

const AGENT = JSON.stringify(SIM_AGENT_ARGV);
const env = simEnv;

after(removeTempRepos);

const plan = (title: string, tasks: string[], upstream: string[] = []): string =>
  `# Implementation Plan: ${title}\n\n## Dependencies\n\n### Upstream\n${upstream.length ? upstream.map((u) => `- \`${u}\``).join('\n') : '- None'}\n\n## Phase 1: Work\n${tasks.map((t) => `- [ ] ${t}`).join('\n')}\n`;

const TWO = ['1.1 First part (est: 20m)', '1.2 Second part (est: 20m)', '1.3 Third part (depends: 1.1) (est: 20m)'];

/** A repository with one plan worktree per plan; returns each worktree's status.json path. */
async function repoWithWorktrees(plans: Record<string, string>, config?: object) {
  const files: Record<string, string> = { 'README.md': '# t\n', '.gitignore': 'worktrees/\n' };
  for (const [name, text] of Object.entries(plans)) files[`docs/plans/${name}.md`] = text;
  if (config) files['git-workflow.json'] = JSON.stringify(config);
  const repo = await makeTempRepo(files);
  const manager = await WorktreeManager.open(repo.dir);
  const wts: Record<string, { dir: string; statusPath: string }> = {};
  for (const name of Object.keys(plans)) {
    const wt = await manager.create(path.join(repo.dir, 'docs/plans', `${name}.md`));
    wts[name] = { dir: wt.path, statusPath: path.join(wt.path, 'docs/plan-outputs', name, 'status.json') };
  }
  return { repo, wts };
}

async function status(statusPath: string): Promise<StatusFile> {
  const s = await readStatusFile(statusPath);
  assert.ok(s, `${statusPath} exists`);
  return s;
}

function span(s: StatusFile): { start: number; end: number } {
  const recs = Object.values(s.tasks).filter((t) => t.startedAt && t.completedAt);
  assert.ok(recs.length > 0);
  return { start: Math.min(...recs.map((t) => Date.parse(t.startedAt!))), end: Math.max(...recs.map((t) => Date.parse(t.completedAt!))) };
}

describe('orchestrate --all', () => {
  test('independent plans run at the same time; a dependent plan starts after its upstream finished', async () => {
    const { repo, wts } = await repoWithWorktrees({ alpha: plan('Alpha', TWO), beta: plan('Beta', TWO), gamma: plan('Gamma', TWO, ['alpha.md']) });
    const res = await runCli(['orchestrate', '--all', '--agent', AGENT, '--no-commit'], repo.dir, env()).done;
    assert.equal(res.code, 0, res.err + res.out);
    assert.match(res.out, /^\[alpha\] ▶ 1\.\d started/m);
    assert.match(res.out, /^\[gamma\] .*\(after alpha\)/m);
    assert.match(res.out, /plans: 3 succeeded, 0 failed, 0 skipped/);
    // Both are started before either ends (the output order, not timestamps: on a loaded machine
    // one plan's few short tasks may be done before the other's process has booted).
    const firstEnd = res.out.search(/^\[(alpha|beta)\] succeeded/m);
    assert.ok(firstEnd > 0);
    for (const n of ['alpha', 'beta']) assert.ok(res.out.indexOf(`[${n}] started (pid`) < firstEnd, `${n} started before the first plan ended`);
    const [a, g] = await Promise.all(['alpha', 'gamma'].map(async (n) => span(await status(wts[n]!.statusPath))));
    assert.ok(g!.start >= a!.end, 'gamma starts after alpha ended');
    for (const n of ['alpha', 'beta', 'gamma']) {
      const s = await status(wts[n]!.statusPath);
      for (const id of ['1.1', '1.2', '1.3']) assert.equal(s.tasks[id]?.status, 'completed', `${n} ${id}`);
    }
  });

  test('a plan whose upstream failed is skipped with a reason; exit 1', async () => {
    const failing = ['1.1 Breaks [FAIL] (est: 5m)', '1.2 Fine (est: 5m)'];
    const { repo, wts } = await repoWithWorktrees({ alpha: plan('Alpha', failing), gamma: plan('Gamma', TWO, ['docs/plans/alpha.md']) });
    const res = await runCli(['orchestrate', '--all', '--max-plans', '1', '--agent', AGENT, '--no-commit', '--retries', '0'], repo.dir, env()).done;
    assert.equal(res.code, 1, res.err + res.out);
    assert.match(res.out, /\[alpha\] failed \(exit 1\)/);
    assert.match(res.out, /\[gamma\] skipped: upstream plan alpha failed/);
    assert.match(res.out, /plans: 0 succeeded, 1 failed, 1 skipped/);
    assert.deepEqual((await readStatusFile(wts.gamma!.statusPath))?.tasks ?? {}, {}, 'gamma never ran');
  });
});

describe('orchestrate --all: waiting for a phase of another plan', () => {
  const twoPhases = (title: string): string =>
    `# Implementation Plan: ${title}\n\n## Phase 1: Schema\n- [ ] 1.1 Schema (est: 10m)\n\n## Phase 2: Long tail\n- [ ] 2.1 Slow part (est: 600m)\n`;
  const upstreamPhase = (title: string, bullet: string): string =>
    `# Implementation Plan: ${title}\n\n## Dependencies\n\n### Upstream\n- ${bullet}\n\n## Phase 1: Work\n- [ ] 1.1 Uses the schema (est: 10m)\n`;

  test("a plan that waits for another plan's phase 1 starts once that phase is done, while the rest of it still runs", async () => {
    const { repo, wts } = await repoWithWorktrees({ alpha: twoPhases('Alpha'), gamma: upstreamPhase('Gamma', '**alpha.md** (phase 1: the schema)') });
    const res = await runCli(['orchestrate', '--all', '--agent', AGENT, '--no-commit'], repo.dir, env()).done;
    assert.equal(res.code, 0, res.err + res.out);
    assert.match(res.out, /^\[gamma\] .*\(after alpha's phase 1\)/m);
    assert.match(res.out, /^\[gamma\] alpha's phase 1 is done/m);
    const a = await status(wts.alpha!.statusPath);
    const g = await status(wts.gamma!.statusPath);
    const gammaStart = Date.parse(g.tasks['1.1']!.startedAt!);
    assert.ok(gammaStart >= Date.parse(a.tasks['1.1']!.completedAt!), "gamma starts after alpha's phase 1 is done");
    assert.ok(gammaStart < Date.parse(a.tasks['2.1']!.completedAt!), "gamma does not wait for alpha's phase 2");
  });

  test('a phase the upstream plan does not have skips the plan with a reason', async () => {
    const { repo } = await repoWithWorktrees({ alpha: twoPhases('Alpha'), gamma: upstreamPhase('Gamma', '`alpha.md` through Phase 7') });
    const res = await runCli(['orchestrate', '--all', '--agent', AGENT, '--no-commit'], repo.dir, { ...env(), PLAN_SIM_MS_PER_MINUTE: '1' }).done;
    assert.equal(res.code, 1, res.err + res.out);
    assert.match(res.out, /\[gamma\] skipped: upstream plan alpha has no phase 7/);
  });
});

describe('stop, daemon, batched', () => {
  test('orchestrators stop ends a running orchestrator: exit 143, running task back to pending', async () => {
    const hang = plan('Stop', ['1.1 Wait forever [HANG] (est: 1m)']);
    const { repo, wts } = await repoWithWorktrees({ stopme: hang });
    const wt = wts.stopme!;
    const run = runCli(['orchestrate', '--agent', AGENT, '--grace', '0.3', '--no-commit'], wt.dir, env());
    await waitFor('1.1 running', async () => (await status(wt.statusPath)).tasks['1.1']?.status === 'in_progress');
    // From the main checkout: the registry is shared by all worktrees of the repository.
    const stop = await runCli(['orchestrators', 'stop', 'stopme', '--wait'], repo.dir, env()).done;
    assert.equal(stop.code, 0, stop.err);
    assert.match(stop.out, new RegExp(`sent SIGTERM to pid ${run.child.pid}`));
    const res = await run.done;
    assert.equal(res.code, 143, res.err + res.out);
    assert.equal((await status(wt.statusPath)).tasks['1.1']!.status, 'pending');
    const again = await runCli(['orchestrators', 'stop', 'stopme'], repo.dir, env()).done;
    assert.equal(again.code, 2);
    assert.match(again.err, /no orchestrator recorded/);
  });

  test('--daemon returns at once and the plan completes in the background', async () => {
    const { wts, repo } = await repoWithWorktrees({ bg: plan('Background', TWO) });
    const wt = wts.bg!;
    const res = await runCli(['orchestrate', '--daemon', '--agent', AGENT, '--no-commit'], wt.dir, env({ PLAN_SIM_MS_PER_MINUTE: '15' })).done;
    assert.equal(res.code, 0, res.err);
    const pid = Number(/pid (\d+)/.exec(res.out)?.[1]);
    const log = /log: (.*)/.exec(res.out)?.[1];
    assert.ok(pid > 0 && log);
    assert.equal(log, path.join(wt.dir, 'docs/plan-outputs/bg/orchestrator-bg.log'));
    const s0 = await readStatusFile(wt.statusPath);
    assert.ok(!s0 || Object.values(s0.tasks).some((t) => t.status !== 'completed') || Object.keys(s0.tasks).length < 3, 'returned before the work was done');
    await waitFor('every task completed', async () => {
      const s = await status(wt.statusPath);
      return ['1.1', '1.2', '1.3'].every((id) => s.tasks[id]?.status === 'completed');
    });
    const registry = path.join(repo.dir, '.git', 'plan-orchestrator', 'orchestrators', 'bg.json');
    // The registry goes when the run ends, a moment before the summary reaches the log.
    const { readFile } = await import('node:fs/promises');
    await waitFor('the daemon to exit and log its summary', async () => !existsSync(registry) && /\d+ done, \d+ failed/.test(await readFile(log!, 'utf8')));
    assert.match(await readFile(log!, 'utf8'), /3 done, 0 failed/);
  });

  test('--batched completes the plan and waits for the whole batch before starting more', async () => {
    const tasks = ['1.1 Long (est: 60m)', '1.2 Short (est: 5m)', '1.3 Short too (est: 5m)', '1.4 Short again (est: 5m)'];
    const { wts } = await repoWithWorktrees({ batch: plan('Batch', tasks) });
    const wt = wts.batch!;
    const res = await runCli(['orchestrate', '--batched', '--max-parallel', '2', '--agent', AGENT], wt.dir, env()).done;
    assert.equal(res.code, 0, res.err + res.out);
    const s = await status(wt.statusPath);
    for (const id of ['1.1', '1.2', '1.3', '1.4']) assert.equal(s.tasks[id]?.status, 'completed', id);
    assert.ok(Date.parse(s.tasks['1.3']!.startedAt!) >= Date.parse(s.tasks['1.1']!.completedAt!), '1.3 waited for the long 1.1 of its batch');
  });
});
