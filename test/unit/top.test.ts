/**
 * `planctl top` as a user sees it: the built planctl on a real pseudo-terminal over a temporary
 * repository with two plan worktrees, plans started and stopped from the dashboard with the
 * simulated agent, the screen read through a terminal emulator. Every wait is on what the screen
 * (or the repository) shows, never on elapsed time.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readStatusFile } from '../../src/core/status.js';
import { WorktreeManager } from '../../src/git/worktreeManager.js';
import { listRegistry } from '../../src/run/registry.js';
import { Screen } from './helpers/screen.js';
import { BUILT_PLANCTL, PtyProgram, terminalEnv } from './helpers/pty.js';
import { SIM_AGENT_ARGV, waitFor } from './helpers/simAgent.js';
import { makeTempRepo, removeTempRepos } from './helpers/tempRepo.js';
import { feedLineOf, panePlans, printable, runningLine, type DashboardPlan } from '../../src/tui/model.js';
import type { TaskRow } from '../../src/run/events/messages.js';

const started: PtyProgram[] = [];
const registries: string[] = [];

after(async () => {
  for (const p of started) p.kill();
  // Orchestrators the dashboard started run detached, with their agents in groups of their own.
  for (const dir of registries) {
    for (const e of await listRegistry(dir)) {
      for (const pid of [e.pid, ...(e.children ?? []).map((c) => c.pid)]) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
  await removeTempRepos();
});

const plan = (title: string, tasks: string[]): string => `# Implementation Plan: ${title}\n\n## Phase 1: Work\n${tasks.map((t) => `- [ ] ${t}`).join('\n')}\n`;

async function repoWithPlans(plans: Record<string, string>) {
  const files: Record<string, string> = { 'README.md': '# t\n', '.gitignore': 'worktrees/\n' };
  for (const [name, text] of Object.entries(plans)) files[`docs/plans/${name}.md`] = text;
  const repo = await makeTempRepo(files);
  const manager = await WorktreeManager.open(repo.dir);
  const statusOf: Record<string, string> = {};
  for (const name of Object.keys(plans)) {
    const wt = await manager.create(path.join(repo.dir, 'docs/plans', `${name}.md`));
    statusOf[name] = path.join(wt.path, 'docs/plan-outputs', name, 'status.json');
  }
  const registry = path.join(repo.dir, '.git', 'plan-orchestrator', 'orchestrators');
  registries.push(registry);
  return { repo, statusOf, registry };
}

/** The screen line of a plan's pane title (`name  Title  ·  branch · state`). */
const paneTitle = (lines: string[], name: string): string | undefined => lines.find((l) => new RegExp(`[│║] ${name}  \\w+  ·  plan/${name} · `).test(l));
/** The plan list's row of a plan. */
const listRow = (lines: string[], name: string): string | undefined => lines.find((l) => new RegExp(`^│.. ${name} +\\d+%`).test(l));

describe('planctl top on a terminal', () => {
  test('two running plans: panes, progress, keys, task detail, stop, resize, quit', { timeout: 180_000 }, async () => {
    const { repo, statusOf, registry } = await repoWithPlans({
      alpha: plan('Alpha', ['1.1 Quick (est: 1m)', '1.2 Slow (est: 6000m)']),
      beta: plan('Beta', ['1.1 Long (est: 3000m)', '1.2 After (depends: 1.1) (est: 1m)']),
    });
    const top = new PtyProgram(['top', '--agent', JSON.stringify(SIM_AGENT_ARGV), '--max-parallel', '2'], {
      cwd: repo.dir,
      env: terminalEnv({ PLAN_SIM_MS_PER_MINUTE: '10' }),
      cols: 120,
      rows: 34,
    });
    started.push(top);

    await top.waitFor('both plans in the list, alpha selected', (_t, lines) => /›/.test(listRow(lines, 'alpha') ?? '') && listRow(lines, 'beta') !== undefined);
    await top.waitFor("alpha's pane", (_t, lines) => /not running/.test(paneTitle(lines, 'alpha') ?? ''));

    // s on the selected plan starts it (planctl orchestrate --daemon, as the API does).
    top.press('s');
    await top.waitFor('alpha running', (_t, lines) => /running \(pid \d+/.test(paneTitle(lines, 'alpha') ?? ''));
    await top.waitFor('the start reported', (text) => /alpha: orchestrator started \(pid \d+\)/.test(text));
    // Tab moves the selection to beta; s starts it too.
    top.press('\t');
    await top.waitFor('beta selected', (_t, lines) => /›/.test(listRow(lines, 'beta') ?? '') && !/›/.test(listRow(lines, 'alpha') ?? ''));
    top.press('s');
    await top.waitFor('the start of beta reported', (text) => /beta: orchestrator started \(pid \d+\)/.test(text));
    const both = await top.waitFor(
      'both panes with progress, alpha 1/2 done, beta running 1.1',
      (text, lines) => /running \(pid/.test(paneTitle(lines, 'alpha') ?? '') && /running \(pid/.test(paneTitle(lines, 'beta') ?? '') && /█+░+ 1\/2 50%/.test(text) && /›▶ 1\.1  Long/.test(text),
    );
    assert.match(both, /░+ 0\/2 0% ▶1/, "beta's bar: nothing done, one running");
    assert.match(both, /1\/4 done 25%/, 'the aggregate over both plans');

    // j and k move the task cursor in the selected pane.
    top.press('j');
    await top.waitFor('cursor on 1.2', (text) => /›· 1\.2  After/.test(text) && !/›▶ 1\.1/.test(text));
    top.press('k');
    await top.waitFor('cursor back on 1.1', (text) => /›▶ 1\.1  Long/.test(text));

    // Enter: the task's detail and the tail of its agent log.
    top.press('\r');
    await top.waitFor('the detail of beta 1.1 with its log tail', (text) => /Task 1\.1 of beta/.test(text) && /sim-agent 1\.1: working for 30000 ms/.test(text) && /agent log docs\/plan-outputs\/beta\/logs\/1\.1\.log/.test(text));
    top.press('\x1b');
    await top.waitFor('back to the panes', (text) => !/Task 1\.1 of beta/.test(text) && /›▶ 1\.1  Long/.test(text));

    // s on a running plan stops it: SIGTERM to the orchestrator in the registry; 1.1 finishes, 1.2 never starts.
    const betaPid = Number(/running \(pid (\d+)/.exec(paneTitle(top.screen.lines(), 'beta') ?? '')?.[1]);
    assert.ok(betaPid > 0);
    top.press('s');
    await top.waitFor('the stop reported', (text) => new RegExp(`asked the orchestrator \\(pid ${betaPid}\\) to stop`).test(text));
    const betaLog = path.join(path.dirname(statusOf.beta!), 'orchestrator-beta.log');
    await waitFor('the orchestrator to hear SIGTERM', async () => /SIGTERM: no new tasks/.test(await readFile(betaLog, 'utf8')));

    // Resizing redraws the whole frame at the new size.
    top.resize(90, 28);
    await top.waitFor('a frame 90 columns wide', (_t, lines) => lines.some((l) => l.length === 90 && l.startsWith('╰') && l.endsWith('╯')) && lines.every((l) => l.length <= 90) && /q quit|asked the|orchestrator/.test(lines[26] ?? ''));

    await waitFor('beta orchestrator gone from the registry', async () => !(await listRegistry(registry)).some((e) => e.name === 'beta' && e.alive), 90_000);
    const beta = await readStatusFile(statusOf.beta!);
    assert.equal(beta?.tasks['1.1']?.status, 'completed', 'the running task finished');
    assert.equal(beta?.tasks['1.2'], undefined, 'nothing new started after the stop');
    await top.waitFor('beta shown as not running', (_t, lines) => /not running/.test(paneTitle(lines, 'beta') ?? ''));
    assert.ok((await listRegistry(registry)).some((e) => e.name === 'alpha' && e.alive), 'alpha still runs');

    // q leaves the dashboard: exit 0, the main screen back.
    top.press('q');
    const exit = await top.exited;
    assert.equal(exit.exitCode, 0);
    assert.ok(top.raw.endsWith('\x1b[?1049l') || top.raw.includes('\x1b[?1049l'), 'the alternate screen is left');
  });
});

describe('planctl top: approve and retry', () => {
  test('a approves the denied tool call (agent.json) and runs the task again; r retries a failed task', { timeout: 120_000 }, async () => {
    const { repo, statusOf } = await repoWithPlans({ alpha: plan('Alpha', ['1.1 Deploys (est: 1m)']), beta: plan('Beta', ['1.1 Flaky (est: 1m)']) });
    const { StatusStore } = await import('../../src/core/status.js');
    const denied = [{ tool: 'Bash', input: 'make deploy', rule: 'Bash(make deploy)' }];
    await new StatusStore(statusOf.alpha!, 'docs/plans/alpha.md').setTaskStatuses([{ taskId: '1.1', status: 'failed', error: 'denied: Bash(make deploy)', run: { kind: 'claude', needsApproval: denied } }]);
    await new StatusStore(statusOf.beta!, 'docs/plans/beta.md').setTaskStatus('1.1', 'failed', { error: 'flaked' });
    const top = new PtyProgram(['top', '--agent', JSON.stringify(SIM_AGENT_ARGV)], { cwd: repo.dir, env: terminalEnv({ PLAN_SIM_MS_PER_MINUTE: '10' }), cols: 110, rows: 30 });
    started.push(top);
    await top.waitFor('the task waiting for approval', (text) => /›\? 1\.1  Deploys  needs approval \(a\)/.test(text));
    top.press('a');
    await top.waitFor('the denied call shown', (text) => /Bash\(make deploy\)   \(Bash: make deploy\)/.test(text) && /\[y\] allow and retry/.test(text));
    top.press('y');
    await top.waitFor('the approval reported', (text) => /1\.1: allowed Bash\(make deploy\)\. alpha: orchestrator started/.test(text));
    const agentFile = JSON.parse(await readFile(path.join(path.dirname(statusOf.alpha!), 'agent.json'), 'utf8')) as { allowedTools: string[] };
    assert.deepEqual(agentFile.allowedTools, ['Bash(make deploy)']);

    top.press('\t');
    await top.waitFor('beta selected with its failed task', (text) => /›✗ 1\.1  Flaky  flaked/.test(text));
    top.press('r');
    await top.waitFor('the retry reported', (text) => /1\.1: pending again\. beta: orchestrator started/.test(text));
    await waitFor('both tasks done', async () => (await readStatusFile(statusOf.alpha!))?.tasks['1.1']?.status === 'completed' && (await readStatusFile(statusOf.beta!))?.tasks['1.1']?.status === 'completed');
    await top.waitFor('everything done on screen', (text) => /2\/2 done 100%/.test(text));
    top.press('q');
    assert.equal((await top.exited).exitCode, 0);
  });
});

describe('orchestrate --all on a terminal', () => {
  test('shows the run in the dashboard; q after the end prints the summary', { timeout: 120_000 }, async () => {
    const { repo } = await repoWithPlans({ alpha: plan('Alpha', ['1.1 A (est: 1m)', '1.2 B (est: 1m)']), beta: plan('Beta', ['1.1 C (est: 1m)']) });
    const run = new PtyProgram(['orchestrate', '--all', '--no-commit', '--agent', JSON.stringify(SIM_AGENT_ARGV)], { cwd: repo.dir, env: terminalEnv({ PLAN_SIM_MS_PER_MINUTE: '10' }), cols: 110, rows: 30 });
    started.push(run);
    // The end of the run can be drawn a moment before the watcher has read the last status write: the
    // screen is waited for until it shows both.
    const end = await run.waitFor('the end of the run, every task done', (text) => /orchestrate --all ended/.test(text) && /plans: 2 succeeded, 0 failed, 0 skipped in [\d.]+ s · q quit/.test(text) && /3\/3 done 100%/.test(text));
    assert.match(end, /3\/3 done 100%/);
    assert.match(end, /succeeded after [\d.]+ s/, "orchestrate --all's own lines are in the plans' feeds");
    run.press('q');
    assert.equal((await run.exited).exitCode, 0);
    assert.match(run.raw.slice(run.raw.lastIndexOf('\x1b[?1049l')), /plans: 2 succeeded, 0 failed, 0 skipped/);
  });
});

describe('planctl top without a terminal', () => {
  test('prints the plans as lines, then one line per event, and ends on SIGTERM', { timeout: 60_000 }, async () => {
    const { repo, statusOf } = await repoWithPlans({ one: plan('One', ['1.1 A (est: 1m)', '1.2 B (est: 1m)']), two: plan('Two', ['1.1 C (est: 1m)']) });
    const run = (args: string[]) => {
      const child = spawn(process.execPath, [BUILT_PLANCTL, 'top', ...args], { cwd: repo.dir, env: terminalEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      return { child, out: () => out, err: () => err, done };
    };
    const once = run(['--once']);
    assert.equal(await once.done, 0, once.err());
    assert.match(once.out(), /^2 plans, 0 running: 0\/3 done \(0%\)$/m);
    assert.match(once.out(), /^one  0%  0\/2 done, 0 running, 0 failed  orchestrator not running  \(plan\/one in plan-one\)$/m);
    assert.match(once.out(), /^two  0%  0\/1 done/m);
    assert.doesNotMatch(once.out(), /\x1b/, 'no escape sequences in plain output');

    const follow = run([]);
    await waitFor('the snapshot lines', async () => /^two /m.test(follow.out()));
    const { StatusStore } = await import('../../src/core/status.js');
    await new StatusStore(statusOf.one!, 'docs/plans/one.md').setTaskStatus('1.1', 'completed');
    await waitFor('the event line', async () => /^\d\d:\d\d:\d\d one  ✓ 1\.1 done  \[1\/2\]$/m.test(follow.out()));
    follow.child.kill('SIGTERM');
    assert.equal(await follow.done, 0, follow.err());
  });

  test('bad input: one clear line, exit 2', async () => {
    const child = spawn(process.execPath, [BUILT_PLANCTL, 'top', '--agent', 'not json'], { env: terminalEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 2);
    assert.match(err, /^planctl: --agent must be a JSON array of strings/);
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
  });
});

describe('the dashboard model and the test screen', () => {
  test('text from files cannot move the cursor or recolour the screen', () => {
    assert.equal(printable('ok\x1b[2J\x1b[31mred\x07\x9b1m\tx'), 'okred1m  x');
  });

  test('the selected plan keeps its pane when there is no room for every active one', () => {
    const p = (name: string, running: number, alive = false) => ({ name, running, orchestrator: alive ? { alive: true } : null }) as unknown as DashboardPlan;
    const plans = [p('a', 1), p('b', 0, true), p('c', 2), p('d', 0)];
    assert.deepEqual(panePlans(plans, 'd', 2).shown.map((x) => x.name), ['a', 'd']);
    assert.equal(panePlans(plans, 'd', 2).hidden, 2);
    assert.deepEqual(panePlans(plans, 'b', 9).shown.map((x) => x.name), ['a', 'b', 'c']);
  });

  test("a running task's line: elapsed time, cost, the worker host of a distributed run, the agent's latest action", () => {
    const t = { id: '1.2', state: 'running', startedAt: '2026-01-01T00:00:00.000Z', agent: { costUsd: 0.125, host: 'worker-2', activity: 'Edit src/a.ts\x1b[2J' } } as unknown as TaskRow;
    assert.equal(runningLine(t, Date.parse('2026-01-01T00:01:30.000Z')), '90s  $0.13  @worker-2  · Edit src/a.ts');
  });

  test('a task event reads as one line in its plan feed', () => {
    const f = feedLineOf({ v: 1, seq: 1, at: '2026-01-01T00:00:00.000Z', type: 'task', plan: 'p', task: '1.2', title: 'T', status: 'failed', previous: 'in_progress', changedAt: '', error: 'boom', progress: { total: 4, done: 1, running: 0, failed: 1, percent: 25 } });
    assert.deepEqual(f, { plan: 'p', line: { at: '2026-01-01T00:00:00.000Z', text: '✗ 1.2 failed: boom  [1/4]', tone: 'bad' } });
  });

  test('the screen applies redraws the way a terminal does', () => {
    const s = new Screen(10, 3);
    s.write('0123456789\r\nabc');
    assert.deepEqual(s.lines(), ['0123456789', 'abc', '']);
    s.write('\x1b[2K\x1b[1A\x1b[2K\x1b[Gxy\x1b[31mz\x1b[0m');
    assert.deepEqual(s.lines(), ['xyz', '', '']);
    s.write('\x1b[3;2Hq\x1b[');
    s.write('1;1Hw');
    assert.deepEqual(s.lines(), ['wyz', '', ' q']);
  });
});
