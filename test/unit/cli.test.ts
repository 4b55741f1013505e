import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runPlanctl } from '../../src/cli/planctl.js';

const PLAN = `# Implementation Plan: CLI test

## Phase 1: One

- [ ] 1.1 First in \`src/a.ts\` (est: 30m)
- [ ] 1.2 Second in \`src/b.ts\` (est: 1h)
- [ ] 1.3 Third (depends: 1.1, 1.2)

**VERIFY Phase 1:**
- [ ] It works

## Phase 2: Two

- [ ] 2.1 Fourth
`;

let repo: string;

async function planctl(args: string[], env: NodeJS.ProcessEnv = {}, cwd = repo): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runPlanctl(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), cwd, env });
  return { code, out, err };
}

before(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'planctl-cli-'));
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
  await fs.mkdir(path.join(repo, 'docs', 'plans'), { recursive: true });
  await fs.writeFile(path.join(repo, 'docs', 'plans', 'cli.md'), PLAN);
});

after(async () => {
  await fs.rm(repo, { recursive: true, force: true });
});

test('validate --json lists diagnostics with code, line, column and tasks; exit 1 on errors', async () => {
  const bad = path.join(repo, 'bad.md');
  await fs.writeFile(bad, '# P\n\n## Phase 1: A\n\n- [ ] 1.1 A (depends: 1.9)\n- [ ] 1.1 B\n');
  const r = await planctl(['validate', 'bad.md', '--json']);
  assert.equal(r.code, 1);
  const { diagnostics } = JSON.parse(r.out);
  assert.deepEqual(
    diagnostics.map((d: { code: string; line: number; column: number; tasks: string[] }) => [d.code, d.line, d.column, d.tasks]),
    [
      ['unknown-dependency', 5, 23, ['1.1']],
      ['duplicate-task-id', 6, 7, ['1.1']],
    ],
  );
  const clean = await planctl(['validate', 'docs/plans/cli.md']);
  assert.equal(clean.code, 0);
  assert.match(clean.out, /0 errors, 0 warnings/);
});

test('show --json gives phases, tasks with dependencies, files and lines, and VERIFY items', async () => {
  const r = await planctl(['show', '--plan', 'docs/plans/cli.md', '--json']);
  assert.equal(r.code, 0);
  const shown = JSON.parse(r.out);
  assert.equal(shown.title, 'CLI test');
  assert.equal(shown.phases.length, 2);
  assert.deepEqual(shown.phases[0].tasks[2], { id: '1.3', title: 'Third', checked: false, checkbox: 'unchecked', dependsOn: ['1.1', '1.2'], files: [], line: 7 });
  assert.deepEqual(shown.phases[0].tasks[0].files, ['src/a.ts']);
  assert.deepEqual(shown.phases[0].verify.map((v: { id: string }) => v.id), ['V1.1']);
});

test('use, then next/start/complete/status work from the pointer; status.json is written where plan-format.md says', async () => {
  assert.equal((await planctl(['use', 'docs/plans/cli.md'])).code, 0);
  assert.equal((await fs.readFile(path.join(repo, '.claude-context', 'current-plan.txt'), 'utf8')).trim(), 'docs/plans/cli.md');
  const next = JSON.parse((await planctl(['next', '--json'])).out);
  assert.deepEqual(next.tasks.map((t: { id: string }) => t.id), ['1.2', '1.1']);
  assert.equal((await planctl(['start', '1.2'])).code, 0);
  const early = await planctl(['start', '1.3']);
  assert.match(early.err, /1\.3 is not ready; it waits for 1\.1 \(pending\), 1\.2 \(running\)/);
  assert.equal((await planctl(['reset', '1.3'])).code, 0);
  assert.equal((await planctl(['complete', '1.2'])).code, 0);
  assert.equal((await planctl(['fail', '1.1', '--reason', 'tests red'])).code, 0);
  const status = JSON.parse(await fs.readFile(path.join(repo, 'docs', 'plan-outputs', 'cli', 'status.json'), 'utf8'));
  assert.equal(status.tasks['1.2'].status, 'completed');
  assert.equal(status.tasks['1.1'].lastError, 'tests red');
  assert.equal(status.plan, 'docs/plans/cli.md');
  const summary = JSON.parse((await planctl(['status', '--json'])).out);
  assert.equal(summary.done, 1);
  assert.equal(summary.failed, 1);
  // Work items and VERIFY items apart, as the extension counts them.
  assert.equal(summary.phases[0].total, 3);
  assert.deepEqual(summary.phases[0].checks, { done: 0, total: 1 });
});

test('PLAN_FILE wins over the pointer; --plan wins over PLAN_FILE', async () => {
  await fs.writeFile(path.join(repo, 'other.md'), '# Plan: Other\n\n## Phase 1: X\n\n- [ ] 1.1 Only task\n');
  const viaEnv = JSON.parse((await planctl(['status', '--json'], { PLAN_FILE: 'other.md' })).out);
  assert.equal(viaEnv.title, 'Other');
  const viaFlag = JSON.parse((await planctl(['status', '--json', '--plan', 'docs/plans/cli.md'], { PLAN_FILE: 'other.md' })).out);
  assert.equal(viaFlag.title, 'CLI test');
});

test('simulate --json reports makespan, lower bound, critical path and schedule in minutes', async () => {
  const r = await planctl(['simulate', '--plan', 'docs/plans/cli.md', '--workers', '2', '--json']);
  assert.equal(r.code, 0);
  const sim = JSON.parse(r.out);
  assert.deepEqual(sim.criticalPath, ['1.2', '1.3', '2.1']);
  assert.equal(sim.makespan, 180);
  assert.equal(sim.lowerBound, 180);
  assert.ok(sim.schedule.every((s: { start: number; end: number }) => s.end >= s.start));
});

test('sync ticks completed tasks and changes no other byte (CRLF kept)', async () => {
  const crlf = PLAN.replace(/\n/g, '\r\n').replace('- [ ] 2.1 Fourth', '- [ ] 2.1 Fourth   ');
  const file = path.join(repo, 'crlf.md');
  await fs.writeFile(file, crlf);
  await planctl(['complete', '1.1', '--plan', 'crlf.md']);
  await planctl(['complete', '2.1', '--plan', 'crlf.md']);
  const r = await planctl(['sync', '--plan', 'crlf.md']);
  assert.match(r.out, /ticked 2 checkboxes: 1\.1, 2\.1/);
  const after = await fs.readFile(file, 'utf8');
  assert.equal(after, crlf.replace('- [ ] 1.1', '- [x] 1.1').replace('- [ ] 2.1', '- [x] 2.1'));
  assert.match((await planctl(['sync', '--plan', 'crlf.md'])).out, /nothing to tick/);
});

test('sync keeps a UTF-8 byte order mark and CRLF, and ticks only the task\'s own box, not a sub-bullet repeating its ID', async () => {
  const plan = '\uFEFF# Plan: BOM\r\n\r\n## Phase 1: One\r\n\r\n- [ ] 1.1 First\r\n- [ ] 1.2 Second\r\n  - [ ] 1.2 also check X\r\n  - [ ] a note\r\n';
  const file = path.join(repo, 'bom.md');
  await fs.writeFile(file, plan, 'utf8');
  const shown = JSON.parse((await planctl(['show', '--json', '--plan', 'bom.md'])).out);
  assert.deepEqual(shown.phases[0].tasks.map((t: { id: string }) => t.id), ['1.1', '1.2'], 'the sub-bullet is body, not a second 1.2');
  assert.equal((await planctl(['complete', '1.2', '--plan', 'bom.md'])).code, 0);
  const r = await planctl(['sync', '--plan', 'bom.md']);
  assert.match(r.out, /ticked 1 checkbox: 1\.2$/m);
  const expected = Buffer.from(plan.replace('- [ ] 1.2 Second', '- [x] 1.2 Second'), 'utf8');
  assert.deepEqual(await fs.readFile(file), expected);
  assert.deepEqual([...(await fs.readFile(file)).subarray(0, 3)], [0xef, 0xbb, 0xbf]);
});

test('bad input: one clear line on stderr, exit 2, nothing written', async () => {
  await fs.writeFile(path.join(repo, 'binary.md'), Buffer.from([0x23, 0x20, 0x00, 0x01, 0x02]));
  await fs.writeFile(path.join(repo, 'latin1.md'), Buffer.from('# Caf\xe9\n', 'latin1'));
  const cases: Array<[string[], RegExp]> = [
    [['validate', 'missing.md'], /missing\.md: no such plan file/],
    [['validate', 'binary.md'], /binary\.md is a binary file/],
    [['validate', 'latin1.md'], /latin1\.md is not valid UTF-8/],
    [['validate', 'docs'], /docs is not a file/],
    [['complete', '9.9', '--plan', 'docs/plans/cli.md'], /unknown task ID "9\.9"/],
    [['next', 'abc', '--plan', 'docs/plans/cli.md'], /count must be a whole number/],
    [['simulate', '--plan', 'docs/plans/cli.md', '--workers', '0'], /--workers must be a whole number/],
  ];
  for (const [args, message] of cases) {
    const r = await planctl(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.err}`);
    assert.doesNotMatch(r.err, /\n\s+at /);
  }
  const none = await planctl(['next'], {}, await fs.mkdtemp(path.join(os.tmpdir(), 'planctl-empty-')));
  assert.equal(none.code, 2);
  assert.match(none.err, /no plan given/);
});

test('a corrupt status file is reported with its path and kept byte-for-byte', async () => {
  const statusFile = path.join(repo, 'docs', 'plan-outputs', 'cli', 'status.json');
  await fs.writeFile(statusFile, '{ "version": 3, "tasks": ');
  const r = await planctl(['complete', '1.1', '--plan', 'docs/plans/cli.md']);
  assert.equal(r.code, 2);
  assert.match(r.err, /status\.json is not a valid status file/);
  assert.equal(await fs.readFile(statusFile, 'utf8'), '{ "version": 3, "tasks": ');
  await fs.rm(statusFile);
});

test('status --all-plans covers every plan of every worktree', async () => {
  execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'add', '-A'], { cwd: repo });
  execFileSync('git', ['-c', 'user.email=t@example.invalid', '-c', 'user.name=t', 'commit', '-qm', 'plans'], { cwd: repo });
  const wt = path.join(repo, '..', `${path.basename(repo)}-wt`);
  execFileSync('git', ['worktree', 'add', '-q', '-b', 'plan/other', wt], { cwd: repo });
  try {
    assert.equal((await planctl(['use', 'other.md'], {}, wt)).code, 0);
    await planctl(['complete', '1.1', '--plan', 'other.md'], {}, wt);
    await planctl(['use', 'docs/plans/cli.md']);
    const r = await planctl(['status', '--all-plans', '--json']);
    assert.equal(r.code, 0, r.err);
    const { plans } = JSON.parse(r.out);
    const other = plans.find((p: { plan: string; worktree: string }) => p.plan === 'other.md' && p.worktree === wt);
    assert.ok(other, JSON.stringify(plans));
    assert.equal(other.branch, 'plan/other');
    assert.equal(other.done, 1);
    assert.ok(plans.some((p: { plan: string; active: boolean }) => p.plan === 'docs/plans/cli.md' && p.active));
    const table = await planctl(['status', '--all-plans']);
    assert.match(table.out, /PLAN\s+WORKTREE\s+BRANCH/);
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', wt], { cwd: repo });
  }
});

test('the bundled planctl runs without node_modules and exits 2 with one line on bad input', (t) => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  const bin = path.join(dir, 'dist', 'planctl.mjs');
  if (!existsSync(bin)) return t.skip('dist/planctl.mjs not built (npm run build)');
  const ok = spawnSync(process.execPath, [bin, 'validate', path.join(repo, 'docs', 'plans', 'cli.md')], { encoding: 'utf8', cwd: os.tmpdir() });
  assert.equal(ok.status, 0, ok.stderr);
  const bad = spawnSync(process.execPath, [bin, 'validate', path.join(repo, 'nope.md')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
  const unknown = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
});

test('many planctl processes start/complete different tasks of one plan at once: no update is lost', async (t) => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  const bin = path.join(dir, 'dist', 'planctl.mjs');
  if (!existsSync(bin)) return t.skip('dist/planctl.mjs not built (npm run build)');
  const lanes = 10;
  const perLane = 4;
  const lines = ['# Plan: Concurrency', '', '## Phase 1: All at once', ''];
  for (let i = 1; i <= lanes * perLane; i++) lines.push(`- [ ] 1.${i} Task ${i}`);
  const planFile = path.join(repo, 'concurrency.md');
  await fs.writeFile(planFile, `${lines.join('\n')}\n`);
  const { spawn } = await import('node:child_process');
  const run = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args, '--plan', planFile], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`planctl ${args.join(' ')} exited ${code}: ${err}`))));
    });
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let k = 1; k <= perLane; k++) {
        const id = `1.${lane * perLane + k}`;
        await run(['start', id]);
        await run(['complete', id]);
      }
    }),
  );
  const status = JSON.parse(await fs.readFile(path.join(repo, 'docs', 'plan-outputs', 'concurrency', 'status.json'), 'utf8'));
  assert.equal(status.version, lanes * perLane * 2);
  for (let i = 1; i <= lanes * perLane; i++) {
    assert.equal(status.tasks[`1.${i}`]?.status, 'completed', `1.${i}`);
    assert.equal(status.tasks[`1.${i}`]?.attempts, 1);
  }
});

test('16 planctl processes start one task at once: exactly one claims it, the rest exit 2 naming the holder', async (t) => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  const bin = path.join(dir, 'dist', 'planctl.mjs');
  if (!existsSync(bin)) return t.skip('dist/planctl.mjs not built (npm run build)');
  const planFile = path.join(repo, 'claim.md');
  await fs.writeFile(planFile, '# Plan: Claim\n\n## Phase 1: One\n\n- [ ] 1.1 First\n- [ ] 1.2 Second\n');
  const { spawn } = await import('node:child_process');
  const run = (args: string[]): Promise<{ code: number | null; err: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [bin, ...args, '--plan', planFile], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.on('exit', (code) => resolve({ code, err }));
    });
  // Each process's parent (this test) is the holder it records: alive for the whole test.
  const results = await Promise.all(Array.from({ length: 16 }, (_, i) => run(['start', '1.2', '--agent', `agent-${i}`])));
  assert.equal(results.filter((r) => r.code === 0).length, 1, results.map((r) => r.err).join(''));
  const refused = results.filter((r) => r.code !== 0);
  assert.equal(refused.length, 15);
  const status = JSON.parse(await fs.readFile(path.join(repo, 'docs', 'plan-outputs', 'claim', 'status.json'), 'utf8'));
  const task = status.tasks['1.2'];
  assert.equal(task.attempts, 1);
  assert.equal(task.holder.pid, process.pid);
  for (const r of refused) {
    assert.equal(r.code, 2);
    assert.match(r.err, new RegExp(`task 1\\.2 of claim\\.md is already in progress, held by pid ${process.pid} on .* \\(agent ${task.holder.agent}\\)`));
    assert.equal(r.err.trim().split('\n').length, 1);
  }
  // --force takes it over; a task nobody holds is started as before.
  assert.equal((await run(['start', '1.2', '--force', '--agent', 'me'])).code, 0);
  assert.equal((await run(['start', '1.1'])).code, 0);
  const after = JSON.parse(await fs.readFile(path.join(repo, 'docs', 'plan-outputs', 'claim', 'status.json'), 'utf8'));
  assert.equal(after.tasks['1.2'].holder.agent, 'me');
  assert.equal(after.tasks['1.2'].attempts, 2);
});

test('CLAUDE_WORKTREE that does not exist is a clear error, not a silent fallback', async () => {
  const r = await planctl(['next'], { CLAUDE_WORKTREE: path.join(repo, 'no-such-worktree') });
  assert.equal(r.code, 2);
  assert.match(r.err, /CLAUDE_WORKTREE is .*no-such-worktree, which does not exist/);
});
