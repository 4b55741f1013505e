/**
 * Safe runs: only explicitly marked gate commands run, and only once approved; a task's commit holds
 * its own files, never the user's edits or secrets; no commit to the main checkout's branch unless
 * asked; a recorded PID is signalled only while it is still the process we started; a machine
 * without a git identity still gets its commits.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { readStatusFile, statusStoreFor } from '../../src/core/status.js';
import { PlanAnalyzer } from '../../src/core/analyzer.js';
import { isPidAlive, processStartTime, signalRecordedGroup } from '../../src/run/registry.js';
import { makeTempRepo, removeTempRepos, type TempRepo } from './helpers/tempRepo.js';
import { runCli, SIM_AGENT_ARGV, simEnv, waitFor } from './helpers/simAgent.js';

after(removeTempRepos);

const AGENT = JSON.stringify(SIM_AGENT_ARGV);

async function repoWith(plan: string, extra: Record<string, string> = {}): Promise<TempRepo> {
  return makeTempRepo({ 'README.md': '# t\n', 'docs/plans/p.md': plan, ...extra });
}

const orchestrate = (repo: TempRepo, args: string[], env = simEnv()) => runCli(['orchestrate', '--plan', 'docs/plans/p.md', '--agent', AGENT, ...args], repo.dir, env).done;
const status = async (repo: TempRepo) => (await readStatusFile(path.join(repo.dir, 'docs/plan-outputs/p/status.json')))!;

describe('gate commands', () => {
  test('VERIFY prose with a backticked phrase never runs; only a `$ ` code span is a command', async () => {
    const repo = await repoWith(
      '# Plan: P\n\n## Phase 1: One\n- [ ] 1.1 Build (est: 1m)\n\n**VERIFY Phase 1:**\n- [ ] Make sure nobody ever needs `touch PWNED` again\n  - and not `sh -c "touch PWNED2"` either\n',
    );
    const res = await orchestrate(repo, ['--in-place']);
    assert.equal(res.code, 0, res.out + res.err);
    assert.ok(!existsSync(path.join(repo.dir, 'PWNED')) && !existsSync(path.join(repo.dir, 'PWNED2')), 'prose was not executed');
    assert.match(res.out, /V1\.1 not checked/);
    const validate = await runPlanctl(['validate', '--json', 'docs/plans/p.md'], repo.dir);
    assert.deepEqual(JSON.parse(validate.out).commands, []);
  });

  test('gate commands are listed by validate, refused until approved, then run without a shell', async () => {
    const repo = await repoWith('# Plan: P\n\n## Phase 1: One\n- [ ] 1.1 Build (est: 1m)\n\n**VERIFY Phase 1:**\n- [ ] `$ node -e "require(\'fs\').writeFileSync(\'gate-ran\', \'$HOME\')"` passes\n');
    const validate = await runPlanctl(['validate', '--json', 'docs/plans/p.md'], repo.dir);
    const commands = JSON.parse(validate.out).commands;
    assert.deepEqual(commands.map((c: { taskId: string; argv: string[]; approved: boolean }) => [c.taskId, c.argv, c.approved]), [['V1.1', ['node', '-e', "require('fs').writeFileSync('gate-ran', '$HOME')"], false]]);
    const text = await runPlanctl(['validate', 'docs/plans/p.md'], repo.dir);
    assert.match(text.out, /V1\.1 runs: \$ node -e .* \(not approved yet\)/);

    const refused = await orchestrate(repo, ['--in-place']);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /runs a command as VERIFY gates that has not been approved: "node -e .*"; check it and run again with --approve-commands/);
    assert.ok(!existsSync(path.join(repo.dir, 'gate-ran')));

    const ran = await orchestrate(repo, ['--in-place', '--approve-commands']);
    assert.equal(ran.code, 0, ran.out + ran.err);
    // No shell: $HOME stayed a literal.
    assert.equal(await readFile(path.join(repo.dir, 'gate-ran'), 'utf8'), '$HOME');
    const agentFile = JSON.parse(await readFile(path.join(repo.dir, 'docs/plan-outputs/p/agent.json'), 'utf8'));
    assert.deepEqual(agentFile.approvedCommands, [`node -e "require('fs').writeFileSync('gate-ran', '$HOME')"`]);
  });
});

describe('gate commands in line-scanned plans', () => {
  test('past the analysis budget the line scanner applies the same rule: prose is not a command', () => {
    const text = '# Plan: P\n\n## Phase 1: One\n- [ ] 1.1 Build\n\n**VERIFY Phase 1:**\n- [ ] Make sure nobody needs `touch PWNED` again\n- [ ] `$ npm test` passes\n';
    // A budget of nothing: every chunk is read by the line scanner.
    const { plan } = new PlanAnalyzer({ limits: { maxTotalCost: -1 } }).analyze(text);
    assert.deepEqual(plan.tasks.filter((t) => t.kind === 'verify').map((t) => t.command ?? null), [null, 'npm test']);
  });
});

describe('what gets committed', () => {
  const PLAN = '# Plan: P\n\n## Phase 1: One\n- [ ] 1.1 Build (est: 1m)\n- [ ] 1.2 Write the config (est: 1m)\n';

  test("the main checkout's branch needs --in-place", async () => {
    const repo = await repoWith(PLAN);
    const res = await orchestrate(repo, []);
    assert.equal(res.code, 2);
    assert.match(res.err, /is the repository's main checkout: each task would be committed to main; run the plan in its worktree \(planctl worktree create docs\/plans\/p\.md\), or pass --in-place/);
    assert.equal(repo.git(['log', '--format=%s']), 'initial');
  });

  test("a checkout with the user's uncommitted edits is refused; with --allow-dirty they and secrets stay out of the task commits", async () => {
    const repo = await repoWith(PLAN, { 'src/app.ts': 'export const a = 1;\n' });
    await writeFile(path.join(repo.dir, 'src/app.ts'), 'export const a = 2; // my work in progress\n');
    const refused = await orchestrate(repo, ['--in-place']);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /has 1 uncommitted change\(s\) \(src\/app\.ts\); commit or stash them first, or pass --allow-dirty/);

    // The agent of 1.2 also drops a .env next to its output: a secret, never committed.
    const env = simEnv({ PLAN_SIM_SECRET: '1.2' });
    const res = await orchestrate(repo, ['--in-place', '--allow-dirty'], env);
    assert.equal(res.code, 0, res.out + res.err);
    const committed = repo.git(['log', '--name-only', '--format=']).split('\n').filter(Boolean).sort();
    assert.deepEqual(committed, ['README.md', 'docs/plans/p.md', 'sim-output/1.1.txt', 'sim-output/1.2.txt', 'src/app.ts'].sort());
    assert.equal(repo.git(['show', 'HEAD~2:src/app.ts']).trim(), 'export const a = 1;', 'the user edit was not committed');
    assert.match(repo.git(['status', '--porcelain']), /^\s?M src\/app\.ts$/m);
    assert.match(repo.git(['status', '--porcelain', '--untracked-files=all']), /^\?\? \.env$/m);
    assert.match(res.out, /left uncommitted: \.env \(looks like a secret\)/);
    const s = await status(repo);
    assert.equal(s.tasks['1.2']!.status, 'completed');
  });

  test("git-workflow.json's agent.secretPatterns replaces the list of files a task never commits", async () => {
    const repo = await repoWith(PLAN, { 'git-workflow.json': '{ "agent": { "secretPatterns": ["*.private", "sim-output/1.1.txt"] } }\n' });
    const res = await orchestrate(repo, ['--in-place']);
    assert.equal(res.code, 0, res.out + res.err);
    assert.match(res.out, /left uncommitted: sim-output\/1\.1\.txt \(looks like a secret\)/);
    assert.equal(repo.git(['ls-files', 'sim-output']), 'sim-output/1.2.txt');
  });

  test('with no git identity (a fresh HOME), commits are made with the fallback identity and the run says so', async () => {
    const repo = await repoWith(PLAN);
    repo.git(['config', '--unset', 'user.name']);
    repo.git(['config', '--unset', 'user.email']);
    const home = await mkdtemp(path.join(os.tmpdir(), 'planctl-fresh-home-'));
    const env = simEnv({ HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), GIT_CONFIG_NOSYSTEM: '1', EMAIL: '' });
    delete env.GIT_AUTHOR_NAME;
    delete env.GIT_AUTHOR_EMAIL;
    delete env.GIT_COMMITTER_NAME;
    delete env.GIT_COMMITTER_EMAIL;
    delete env.EMAIL;
    const res = await orchestrate(repo, ['--in-place'], env);
    assert.equal(res.code, 0, res.out + res.err);
    assert.match(res.out, /git has no user\.name\/user\.email here; task commits are made as Plan Orchestrator <plan-orchestrator@localhost>/);
    assert.match(repo.git(['log', '-1', '--format=%an <%ae>']), /^Plan Orchestrator <plan-orchestrator@localhost>$/);
  });
});

describe('claims', () => {
  test("the orchestrator's in_progress write is a claim: a task another live holder took stays theirs", async () => {
    const repo = await repoWith('# Plan: P\n\n## Phase 1: One\n- [ ] 1.1 Build (est: 1m)\n');
    const store = statusStoreFor(path.join(repo.dir, 'docs/plans/p.md'), { root: repo.dir });
    const other = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      await waitFor('the other holder', async () => processStartTime(other.pid!) !== undefined);
      await store.update((s) => {
        s.tasks['1.1'] = { status: 'in_progress', updatedAt: '', attempts: 1, history: [], holder: { pid: other.pid!, host: os.hostname(), agent: 'someone', startTime: processStartTime(other.pid!)! } };
      });
      const after = await store.setTaskStatuses([{ taskId: '1.1', status: 'in_progress', agent: 'orchestrator', claim: true }]);
      assert.equal(after.tasks['1.1']!.holder?.pid, other.pid, 'still held by the other process');
      assert.equal(after.tasks['1.1']!.attempts, 1);
      other.kill('SIGKILL');
      await waitFor('the other holder to end', async () => !isPidAlive(other.pid!));
      const taken = await store.setTaskStatuses([{ taskId: '1.1', status: 'in_progress', agent: 'orchestrator', claim: true }]);
      assert.equal(taken.tasks['1.1']!.holder?.pid, process.pid, 'a dead holder is taken over');
    } finally {
      if (other.exitCode === null) other.kill('SIGKILL');
    }
  });
});

describe('signals to recorded processes', () => {
  test('a recorded agent is signalled only while its PID still has the recorded start time', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      await waitFor('the sleep process', async () => processStartTime(child.pid!) !== undefined);
      const startTime = processStartTime(child.pid!)!;
      assert.equal(signalRecordedGroup({ id: '1.1', pid: child.pid!, startTime: `${Number(startTime) + 1}` }, 'SIGKILL'), 'reused');
      assert.equal(signalRecordedGroup({ id: '1.1', pid: child.pid! }, 'SIGKILL'), 'reused', 'no start time recorded: not ours to kill');
      assert.ok(isPidAlive(child.pid!), 'the other process was left alone');
      const exited = new Promise((resolve) => child.on('exit', resolve));
      assert.equal(signalRecordedGroup({ id: '1.1', pid: child.pid!, startTime }, 'SIGKILL'), 'signalled');
      await exited;
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

/** planctl's own commands (validate) in a child: the bundle a user runs. */
function runPlanctl(args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> {
  const bundle = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../../dist/planctl.mjs');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
