import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitError } from '../../src/git/gitService.js';
import { diskUsage } from '../../src/git/diskUsage.js';
import type { WorktreeMarker } from '../../src/git/worktreeFiles.js';
import { WorktreeManager } from '../../src/git/worktreeManager.js';
import { lookupName, slugName } from '../../src/git/worktreeNames.js';
import { WorktreeError } from '../../src/git/worktreeResults.js';
import { DEFAULT_DISPOSABLE, loadWorkflowConfig, WorkflowConfigError } from '../../src/core/workflowConfig.js';
import { resolvePlanPath } from '../../src/core/planFile.js';
import { readStatusFile } from '../../src/core/status.js';
import { runPlanctl } from '../../src/cli/planctl.js';
import { makeTempRepo, removeTempRepos, type TempRepo } from './helpers/tempRepo.js';

const PLAN = `# Implementation Plan: Auth

## Phase 1: One

- [ ] 1.1 First in \`src/a.ts\`
- [ ] 1.2 Second (depends: 1.1)
`;

const PLAN_FILE = 'docs/plans/auth.md';
const DAY = 86_400_000;

after(removeTempRepos);

async function repoWithPlan(config?: unknown, extra: Record<string, string> = {}): Promise<TempRepo> {
  const files: Record<string, string> = { 'README.md': '# test\n', [PLAN_FILE]: PLAN, 'src/a.ts': 'export const a = 1;\n', ...extra };
  if (config !== undefined) files['git-workflow.json'] = JSON.stringify(config, null, 2);
  return makeTempRepo(files);
}

const planPath = (repo: TempRepo, rel = PLAN_FILE) => path.join(repo.dir, rel);

function branches(repo: TempRepo): string[] {
  return repo
    .git(['branch', '--format=%(refname:short)'])
    .split('\n')
    .filter(Boolean)
    .sort();
}

function registered(repo: TempRepo): string[] {
  return repo
    .git(['worktree', 'list', '--porcelain'])
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => l.slice('worktree '.length));
}

/** Everything a create could leave behind, for "nothing half-made" assertions. */
async function snapshot(repo: TempRepo) {
  const stateDir = path.join(repo.dir, '.git', 'plan-orchestrator');
  const journals = existsSync(stateDir) ? (await fs.readdir(stateDir)).filter((f) => f.startsWith('create-')) : [];
  const dirs = existsSync(path.join(repo.dir, 'worktrees')) ? (await fs.readdir(path.join(repo.dir, 'worktrees'))).sort() : [];
  return { branches: branches(repo), worktrees: registered(repo), journals, dirs };
}

async function rejectsWith(p: Promise<unknown>, check: (e: Error & { code?: string }) => boolean, label: string): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as Error & { code?: string };
    assert.ok(check(err), `${label}: unexpected error ${err.name} ${err.code}: ${err.message}`);
    assert.ok(!err.message.includes('\n'), `${label}: message should be one line: ${err.message}`);
    return err;
  }
  assert.fail(`${label}: expected a rejection`);
}

describe('create', () => {
  test('new branch plan/<name> from main, with pointer, status.json, marker and included files', async () => {
    const repo = await repoWithPlan(
      { worktrees: { copy_files: ['config/local.json'] } },
      { '.gitignore': '.env\nconfig/local.json\nnode_modules/\n', '.worktreeinclude': '.env\n# comment\nnotes.txt\n' },
    );
    await repo.write('.env', 'SECRET=1\n');
    await repo.write('config/local.json', '{}\n');
    await repo.write('node_modules/x/index.js', 'big\n');
    await repo.write('notes.txt', 'untracked, not ignored\n');
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));

    assert.equal(wt.name, 'auth');
    assert.equal(wt.branch, 'plan/auth');
    assert.equal(wt.path, path.join(repo.dir, 'worktrees', 'plan-auth'));
    assert.equal(wt.base, 'main');
    assert.equal(wt.attached, false);
    assert.equal(wt.dirty, false, `fresh worktree must be clean, changes: ${wt.changes.join(', ')}`);
    assert.deepEqual(wt.copiedFiles.sort(), ['.env', 'config/local.json']);
    assert.ok(wt.warnings.some((w) => w.includes('notes.txt') && w.includes('does not ignore')), wt.warnings.join('\n'));
    assert.equal(await fs.readFile(path.join(wt.path, '.env'), 'utf8'), 'SECRET=1\n');
    assert.ok(!existsSync(path.join(wt.path, 'node_modules')));
    assert.ok(!existsSync(path.join(wt.path, 'notes.txt')));

    assert.equal((await fs.readFile(path.join(wt.path, '.claude-context/current-plan.txt'), 'utf8')).trim(), PLAN_FILE);
    const status = await readStatusFile(path.join(wt.path, 'docs/plan-outputs/auth/status.json'));
    assert.ok(status, 'status.json is initialised');
    assert.equal(status.plan, PLAN_FILE);
    assert.deepEqual(status.tasks, {});
    const marker = JSON.parse(await fs.readFile(path.join(wt.path, '.claude-context/worktree.json'), 'utf8')) as WorktreeMarker;
    assert.equal(marker.target, 'main');
    assert.equal(marker.startSha, repo.git(['rev-parse', 'main']));
    assert.equal(marker.createdBranch, true);

    assert.deepEqual(branches(repo), ['main', 'plan/auth']);
    assert.equal(repo.git(['rev-parse', 'plan/auth']), repo.git(['rev-parse', 'main']));
    // The worktrees directory is kept out of the main checkout's status by a local exclude.
    assert.equal(repo.git(['status', '--porcelain', '--', 'worktrees']), '');
    assert.equal((await snapshot(repo)).journals.length, 0);
  });

  test('--base starts the branch from another ref; the plan gets copied (with a warning) when the base lacks it', async () => {
    const repo = await makeTempRepo();
    const root = repo.git(['rev-parse', 'HEAD']);
    await repo.write(PLAN_FILE, PLAN);
    repo.commitAll('add plan');
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo), { base: root });
    assert.equal(repo.git(['rev-parse', 'plan/auth']), root);
    assert.ok(existsSync(path.join(wt.path, PLAN_FILE)));
    assert.ok(wt.warnings.some((w) => w.includes('not committed on')), wt.warnings.join('\n'));
    await rejectsWith(m.create(planPath(repo), { name: 'other', base: 'no-such-branch' }), (e) => e instanceof GitError && e.code === 'unknown-ref', 'unknown base');
  });

  test('an existing branch: refused without --attach, attached with it', async () => {
    const repo = await repoWithPlan();
    repo.git(['branch', 'plan/auth']);
    await repo.write('x.txt', 'on main\n');
    repo.commitAll('main moves');
    const m = await WorktreeManager.open(repo.dir);
    const before = await snapshot(repo);
    const err = await rejectsWith(m.create(planPath(repo)), (e) => e instanceof GitError && e.code === 'branch-exists', 'existing branch');
    assert.match(err.message, /--attach/);
    assert.deepEqual(await snapshot(repo), before, 'nothing half-made');

    const wt = await m.create(planPath(repo), { attach: true });
    assert.equal(wt.attached, true);
    assert.equal(wt.branch, 'plan/auth');
    assert.equal(wt.behind, 1);
    await rejectsWith(m.create(planPath(repo), { attach: true, base: 'main' }), (e) => e instanceof WorktreeError && e.code === 'invalid-option', '--attach with --base');
  });

  test('--attach of a branch checked out elsewhere is refused, nothing half-made', async () => {
    const repo = await repoWithPlan();
    const elsewhere = path.join(path.dirname(repo.dir), 'elsewhere');
    repo.git(['worktree', 'add', '-q', '-b', 'plan/auth', elsewhere]);
    const m = await WorktreeManager.open(repo.dir);
    const before = await snapshot(repo);
    const err = await rejectsWith(m.create(planPath(repo), { attach: true }), (e) => e instanceof GitError && e.code === 'branch-checked-out', 'checked out elsewhere');
    assert.ok(err.message.includes(elsewhere));
    assert.deepEqual(await snapshot(repo), before);
  });

  test('an existing directory is refused and left untouched', async () => {
    const repo = await repoWithPlan();
    await repo.write('worktrees/plan-auth/mine.txt', 'do not touch\n');
    const m = await WorktreeManager.open(repo.dir);
    const before = await snapshot(repo);
    const err = await rejectsWith(m.create(planPath(repo)), (e) => e instanceof GitError && e.code === 'path-exists', 'existing dir');
    assert.match(err.message, /worktrees\/plan-auth already exists/);
    assert.deepEqual(await snapshot(repo), before);
    assert.equal(await fs.readFile(path.join(repo.dir, 'worktrees/plan-auth/mine.txt'), 'utf8'), 'do not touch\n');
  });

  test('post_create runs as an argv array in the worktree (no shell), with CLAUDE_WORKTREE and PLAN_FILE', async () => {
    const script = "require('fs').writeFileSync('.claude-context/post.json', JSON.stringify({ cwd: process.cwd(), argv: process.argv.slice(1), wt: process.env.CLAUDE_WORKTREE, plan: process.env.PLAN_FILE }))";
    const repo = await repoWithPlan({ worktrees: { post_create: [process.execPath, '-e', script, 'a b; touch pwned', '$(id)'] } });
    const wt = await (await WorktreeManager.open(repo.dir)).create(planPath(repo));
    const seen = JSON.parse(await fs.readFile(path.join(wt.path, '.claude-context/post.json'), 'utf8'));
    assert.equal(seen.cwd, wt.path);
    assert.deepEqual(seen.argv, ['a b; touch pwned', '$(id)']);
    assert.equal(seen.wt, wt.path);
    assert.equal(seen.plan, path.join(wt.path, PLAN_FILE));
    assert.ok(!existsSync(path.join(wt.path, 'pwned')));
  });

  test('a failing post_create rolls the create back', async () => {
    const repo = await repoWithPlan({ worktrees: { post_create: [process.execPath, '-e', 'console.error("boom"); process.exit(3)'] } });
    const before = await snapshot(repo);
    const err = await rejectsWith(
      (await WorktreeManager.open(repo.dir)).create(planPath(repo)),
      (e) => e instanceof WorktreeError && e.code === 'post-create-failed',
      'post_create fails',
    );
    assert.match(err.message, /exited with code 3: boom/);
    const afterState = await snapshot(repo);
    assert.deepEqual({ ...afterState, dirs: [] }, { ...before, dirs: [] });
    assert.deepEqual(afterState.dirs, []);
  });

  test('a plan with errors still creates, with a warning', async () => {
    const repo = await repoWithPlan(undefined, { 'docs/plans/bad.md': '# Bad\n\n## Phase 1: A\n\n- [ ] 1.1 A (depends: 9.9)\n' });
    const wt = await (await WorktreeManager.open(repo.dir)).create(planPath(repo, 'docs/plans/bad.md'));
    assert.ok(wt.warnings.some((w) => /the plan has 1 error/.test(w)), wt.warnings.join('\n'));
  });

  test('max_concurrent: the next create is refused with a clear message and nothing made', async () => {
    const repo = await repoWithPlan({ worktrees: { max_concurrent: 2 } });
    const m = await WorktreeManager.open(repo.dir);
    await m.create(planPath(repo), { name: 'one' });
    await m.create(planPath(repo), { name: 'two' });
    const before = await snapshot(repo);
    const err = await rejectsWith(m.create(planPath(repo), { name: 'three' }), (e) => e instanceof WorktreeError && e.code === 'limit-reached', 'limit');
    assert.match(err.message, /max_concurrent is 2/);
    assert.deepEqual(await snapshot(repo), before);
  });

  test('worktrees.enabled false refuses create', async () => {
    const repo = await repoWithPlan({ worktrees: { enabled: false } });
    await rejectsWith((await WorktreeManager.open(repo.dir)).create(planPath(repo)), (e) => e instanceof WorktreeError && e.code === 'disabled', 'disabled');
  });

  test('two creates of the same plan at once: exactly one wins, the other gets a clear error', async () => {
    const repo = await repoWithPlan();
    const [a, b] = [await WorktreeManager.open(repo.dir), await WorktreeManager.open(repo.dir)];
    const results = await Promise.allSettled([a.create(planPath(repo)), b.create(planPath(repo))]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(ok.length, 1);
    assert.equal(failed.length, 1);
    assert.match((failed[0]!.reason as Error).message, /is running|already exists/);
    assert.deepEqual((await snapshot(repo)).branches, ['main', 'plan/auth']);
    assert.equal(registered(repo).length, 2);
  });

  test('two creates of the same plan from two processes: exactly one wins', async () => {
    const repo = await repoWithPlan({ worktrees: { post_create: [process.execPath, '-e', 'setTimeout(() => {}, 300)'] } });
    const runs = await Promise.all([runCli(repo.dir, ['worktree', 'create', PLAN_FILE]), runCli(repo.dir, ['worktree', 'create', PLAN_FILE])]);
    const codes = runs.map((r) => r.code).sort();
    assert.deepEqual(codes, [0, 2], runs.map((r) => r.stderr).join('\n'));
    const loser = runs.find((r) => r.code === 2)!;
    assert.match(loser.stderr, /^planctl: .*(is running|already exists)/m);
    assert.equal(registered(repo).length, 2);
  });

  test('a create killed half-way (during post_create) is repaired by cleanup', async () => {
    const repo = await repoWithPlan({ worktrees: { post_create: [process.execPath, '-e', 'setTimeout(() => {}, 20000)'] } });
    const journal = path.join(repo.dir, '.git', 'plan-orchestrator', 'create-auth.json');
    const child = spawn(process.execPath, [...CLI_ARGV, 'worktree', 'create', PLAN_FILE], { cwd: repo.dir, detached: true, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    try {
      await waitFor(async () => {
        const j = await fs.readFile(journal, 'utf8').catch(() => '');
        return j.includes('"post-create"');
      }, 20_000);
    } finally {
      // The whole group: the CLI and the post_create process it started.
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
    assert.ok(existsSync(path.join(repo.dir, 'worktrees/plan-auth')), 'the kill left a half-made worktree');
    assert.ok(branches(repo).includes('plan/auth'));

    const report = await (await WorktreeManager.open(repo.dir)).cleanup();
    const actions = report.repaired.map((a) => a.action).sort();
    assert.deepEqual(actions, ['deleted-branch', 'removed-worktree']);
    const state = await snapshot(repo);
    assert.deepEqual(state.branches, ['main']);
    assert.deepEqual(state.worktrees, [repo.dir]);
    assert.deepEqual(state.journals, []);
    assert.deepEqual(state.dirs, []);
  });

  test('a create killed half-way is repaired by the next create of the same name', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    // What a kill right after "git worktree add" leaves: the worktree, the branch and a journal of a dead process.
    const wtPath = path.join(repo.dir, 'worktrees', 'plan-auth');
    repo.git(['worktree', 'add', '-q', '-b', 'plan/auth', wtPath, 'main']);
    await fs.mkdir(path.join(repo.dir, '.git', 'plan-orchestrator'), { recursive: true });
    const deadPid = await deadProcessId();
    await fs.writeFile(
      path.join(repo.dir, '.git', 'plan-orchestrator', 'create-auth.json'),
      JSON.stringify({ version: 1, name: 'auth', branch: 'plan/auth', path: wtPath, baseSha: repo.git(['rev-parse', 'main']), createdBranch: true, step: 'context', pid: deadPid, host: (await import('node:os')).hostname(), startedAt: new Date().toISOString() }),
    );
    const wt = await m.create(planPath(repo));
    assert.equal(wt.dirty, false);
    assert.ok(existsSync(path.join(wt.path, '.claude-context/worktree.json')));
  });

  test('a directory with our marker that git no longer knows is removed by cleanup', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    // Simulates the registration being lost (e.g. .git/worktrees/<id> deleted by hand).
    await fs.rm(path.join(repo.dir, '.git', 'worktrees'), { recursive: true, force: true });
    const report = await m.cleanup();
    assert.ok(report.repaired.some((a) => a.action === 'removed-directory'), JSON.stringify(report));
    assert.ok(!existsSync(wt.path));
  });
});

describe('names', () => {
  test('create slugs free text: "..", leading "-", spaces, slashes', async () => {
    assert.equal(slugName('../x'), 'x');
    assert.equal(slugName('-rf'), 'rf');
    assert.equal(slugName('My Plan: Auth!'), 'my-plan-auth');
    assert.equal(slugName('feat/sub'), 'feat-sub');
    assert.throws(() => slugName('!!!'), (e: unknown) => e instanceof GitError && e.code === 'invalid-name');
    const repo = await repoWithPlan();
    const wt = await (await WorktreeManager.open(repo.dir)).create(planPath(repo), { name: '../../etc passwd' });
    assert.equal(wt.name, 'etc-passwd');
    assert.equal(path.dirname(wt.path), path.join(repo.dir, 'worktrees'));
  });

  test('lookups refuse unsafe names instead of slugging them', async () => {
    for (const bad of ['../x', '-rf', 'a b', 'a..b', '--force', 'plan/a/b']) {
      assert.throws(() => lookupName(bad), (e: unknown) => e instanceof GitError && e.code === 'invalid-name', bad);
    }
    assert.equal(lookupName('plan/auth'), 'auth');
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    await rejectsWith(m.remove('-rf', { force: true }), (e) => e instanceof GitError && e.code === 'invalid-name', 'remove -rf');
    await rejectsWith(m.remove('nothing'), (e) => e instanceof WorktreeError && e.code === 'not-found', 'unknown name');
  });
});

describe('config', () => {
  const cases: Array<[unknown, string, RegExp]> = [
    [{ worktrees: { max_concurrent: '3' } }, 'worktrees.max_concurrent', /expected number/],
    [{ worktrees: { max_concurrent: 0 } }, 'worktrees.max_concurrent', /at least 1/],
    [{ worktrees: { stale_days: -1 } }, 'worktrees.stale_days', /more than 0/],
    [{ worktrees: { merge_strategy: 'octopus' } }, 'worktrees.merge_strategy', /merge|squash|rebase/],
    [{ worktrees: { post_create: 'npm ci && rm -rf /' } }, 'worktrees.post_create', /argv array/],
    [{ worktrees: { post_create: [] } }, 'worktrees.post_create', /name a program/],
    [{ worktrees: { copy_files: ['../secrets'] } }, 'worktrees.copy_files.0', /\.\./],
    [{ worktrees: { copy_files: ['/etc/passwd'] } }, 'worktrees.copy_files.0', /relative/],
    [{ worktrees: { enabled: 'yes' } }, 'worktrees.enabled', /expected boolean/],
    [{ worktrees: 3 }, 'worktrees', /expected object/],
    [{ queue: { on_conflict: 'merge' } }, 'queue.on_conflict', /rerun|agent/],
  ];
  for (const [json, key, message] of cases) {
    test(`${JSON.stringify(json)} -> error naming ${key}`, async () => {
      const repo = await makeTempRepo({ 'git-workflow.json': JSON.stringify(json) });
      await rejectsWith(loadWorkflowConfig(repo.dir), (e) => e instanceof WorkflowConfigError && e.key === key && e.message.includes(`${key}: `) && message.test(e.message), key);
    });
  }

  test('defaults, other sections ignored, unknown worktrees keys warned about, bad JSON reported', async () => {
    const repo = await makeTempRepo({ 'git-workflow.json': JSON.stringify({ api: { port: 3100 }, worktrees: { directory: 'wt', max_concurent: 5 } }) });
    const config = await loadWorkflowConfig(repo.dir);
    assert.deepEqual(
      { ...config.worktrees },
      { enabled: true, directory: 'wt', max_concurrent: 3, auto_cleanup: true, stale_days: 14, merge_strategy: 'merge', copy_files: [], disposable: DEFAULT_DISPOSABLE, disk_warn_mb: 2048 },
    );
    assert.deepEqual(config.warnings, ['git-workflow.json: unknown key worktrees.max_concurent (ignored)']);
    const none = await loadWorkflowConfig(path.join(repo.dir, 'src-none'));
    assert.equal(none.file, undefined);
    await fs.writeFile(path.join(repo.dir, 'git-workflow.json'), '{ "worktrees": ');
    await rejectsWith(loadWorkflowConfig(repo.dir), (e) => e instanceof WorkflowConfigError && /not valid JSON/.test(e.message), 'bad json');
  });

  test('worktrees.directory is honoured and may not be the repository itself', async () => {
    const repo = await repoWithPlan({ worktrees: { directory: '../wts' } });
    const wt = await (await WorktreeManager.open(repo.dir)).create(planPath(repo));
    assert.equal(wt.path, path.join(path.dirname(repo.dir), 'wts', 'plan-auth'));
    const bad = await repoWithPlan({ worktrees: { directory: '.' } });
    await rejectsWith(WorktreeManager.open(bad.dir), (e) => e instanceof WorktreeError && /worktrees\.directory/.test(e.message), 'directory .');
  });
});

describe('context inside a worktree', () => {
  test('planctl finds the worktree plan from its pointer, via CLAUDE_WORKTREE, and falls back to the repository root', async () => {
    const repo = await repoWithPlan();
    const wt = await (await WorktreeManager.open(repo.dir)).create(planPath(repo));
    const inside = await resolvePlanPath({ cwd: path.join(wt.path, 'src'), env: {} });
    assert.equal(inside.path, path.join(wt.path, PLAN_FILE));
    const viaEnv = await resolvePlanPath({ cwd: repo.dir, env: { CLAUDE_WORKTREE: wt.path } });
    assert.equal(viaEnv.path, path.join(wt.path, PLAN_FILE));
    // Outside any plan worktree: the repository root's own pointer (none yet -> a clear error).
    await assert.rejects(resolvePlanPath({ cwd: path.join(repo.dir, 'src'), env: {} }), /no plan given/);
    await repo.write('.claude-context/current-plan.txt', `${PLAN_FILE}\n`);
    assert.equal((await resolvePlanPath({ cwd: path.join(repo.dir, 'src'), env: {} })).path, planPath(repo));

    // Status written from inside the worktree lands in the worktree's status file.
    let err = '';
    const code = await runPlanctl(['start', '1.1'], { out: () => undefined, err: (s) => (err += s), cwd: wt.path, env: {} });
    assert.equal(code, 0, err);
    const status = await readStatusFile(path.join(wt.path, 'docs/plan-outputs/auth/status.json'));
    assert.equal(status?.tasks['1.1']?.status, 'in_progress');
    assert.equal(existsSync(path.join(repo.dir, 'docs/plan-outputs/auth/status.json')), false);
  });
});

describe('list', () => {
  test('ahead/behind, dirty, activity, disk size, stale', async () => {
    const repo = await repoWithPlan({ worktrees: { stale_days: 7 } });
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('feature.txt', 'x'.repeat(1000), wt.path);
    repo.commitAll('feature', wt.path);
    await repo.write('main.txt', 'main\n');
    repo.commitAll('main moves');
    await repo.write('wip.txt', 'wip\n', wt.path);

    const [w] = await m.list();
    assert.ok(w);
    assert.equal(w.ahead, 1);
    assert.equal(w.behind, 1);
    assert.equal(w.comparedWith, 'main');
    assert.equal(w.dirty, true);
    assert.deepEqual(w.changes, ['wip.txt']);
    assert.equal(w.stale, false);
    // The latest activity is at least the worktree's last commit (it may be a later status write).
    assert.ok(w.lastActivityAt && Date.parse(w.lastActivityAt) >= Date.parse(repo.git(['log', '-1', '--format=%cI'], wt.path)));
    assert.equal(w.diskBytes, await diskUsage(wt.path));
    assert.ok(w.diskBytes > 1000);
    assert.equal(w.managed, true);

    const later = await WorktreeManager.open(repo.dir, { now: () => new Date(Date.now() + 8 * DAY) });
    const [old] = await later.list();
    assert.equal(old?.stale, true);
    const report = await later.listReport();
    assert.ok(report.warnings.some((x) => /auth is stale/.test(x)));
  });

  test('ahead/behind counted in one batch agree with git rev-list for every pair', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    const a = await m.create(planPath(repo), { name: 'a' });
    await repo.write('a1.txt', '1\n', a.path);
    repo.commitAll('a1', a.path);
    await repo.write('main1.txt', '1\n');
    repo.commitAll('main1');
    const b = await m.create(planPath(repo), { name: 'b', base: 'plan/a' });
    await repo.write('b1.txt', '1\n', b.path);
    repo.commitAll('b1', b.path);
    repo.git(['merge', '-q', '--no-edit', 'main'], b.path);
    await m.create(planPath(repo), { name: 'c' });
    await repo.write('main2.txt', '2\n');
    repo.commitAll('main2');
    const listed = await m.list();
    for (const w of listed) {
      const [behind, ahead] = repo.git(['rev-list', '--left-right', '--count', `${w.comparedWith}...${w.branch}`]).split(/\s+/).map(Number);
      assert.deepEqual([w.name, w.ahead, w.behind], [w.name, ahead, behind]);
    }
    assert.deepEqual(listed.map((w) => [w.name, w.comparedWith, w.ahead, w.behind]), [['a', 'main', 1, 2], ['b', 'plan/a', 3, 0], ['c', 'main', 0, 1]]);
  });

  test('disk usage above worktrees.disk_warn_mb gives a warning', async () => {
    const repo = await repoWithPlan({ worktrees: { disk_warn_mb: 0.001 } });
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('big.bin', 'x'.repeat(5000), wt.path);
    const report = await m.listReport();
    assert.ok(report.totalDiskBytes > 5000);
    assert.match(report.diskWarning ?? '', /disk_warn_mb/);
    assert.ok(report.warnings.includes(report.diskWarning!));
  });

  test('diskUsage skips .git and counts hard links once', async () => {
    const repo = await makeTempRepo();
    const dir = path.join(path.dirname(repo.dir), 'du');
    await fs.mkdir(path.join(dir, 'sub'), { recursive: true });
    await fs.writeFile(path.join(dir, '.git'), 'gitdir: x\n'.repeat(100));
    await fs.writeFile(path.join(dir, 'sub', 'a'), 'a'.repeat(100));
    await fs.link(path.join(dir, 'sub', 'a'), path.join(dir, 'b'));
    assert.equal(await diskUsage(dir), 100);
  });
});

describe('remove', () => {
  test('refused while dirty; --force works; the branch is kept unless asked', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('src/a.ts', 'changed\n', wt.path);
    const err = await rejectsWith(m.remove('auth'), (e) => e instanceof WorktreeError && e.code === 'dirty', 'dirty');
    assert.match(err.message, /src\/a\.ts/);
    assert.ok(existsSync(wt.path));
    const removed = await m.remove('auth', { force: true });
    assert.equal(removed.branchDeleted, false);
    assert.ok(!existsSync(wt.path));
    assert.deepEqual(registered(repo), [repo.dir]);
    assert.deepEqual(branches(repo), ['main', 'plan/auth']);
  });

  test('refused while unmerged; a clean, merged-nothing worktree is removed with its branch when asked', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('f.txt', 'f\n', wt.path);
    repo.commitAll('work', wt.path);
    await rejectsWith(m.remove('plan/auth'), (e) => e instanceof WorktreeError && e.code === 'unmerged', 'unmerged');
    await m.create(planPath(repo), { name: 'empty' });
    const r = await m.remove('plan-empty', { deleteBranch: true });
    assert.equal(r.branchDeleted, true);
    assert.deepEqual(branches(repo), ['main', 'plan/auth']);
  });
});

describe('remove: git-ignored files', () => {
  const GITIGNORE = '.env\ndata/\nnode_modules/\ndist/\n*.log\n.claude-context/\ndocs/plan-outputs/\n';

  test('refused while the worktree holds ignored files it did not copy in, naming them; --force deletes them', async () => {
    const repo = await repoWithPlan(undefined, { '.gitignore': GITIGNORE });
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('data/app.db', 'the only copy\n', wt.path);
    for (let i = 1; i <= 4; i++) await repo.write(`data/backup-${i}.db`, `b${i}\n`, wt.path);
    // Disposable: build output, dependencies, logs; and our own status file (written by create).
    await repo.write('node_modules/x/index.js', 'x\n', wt.path);
    await repo.write('dist/app.js', 'x\n', wt.path);
    await repo.write('run.log', 'x\n', wt.path);
    assert.equal(wt.dirty, false);

    const err = await rejectsWith(m.remove('auth'), (e) => e instanceof WorktreeError && e.code === 'ignored-files', 'ignored');
    assert.match(err.message, /^auth holds 5 git-ignored files that are not in the main checkout and would be deleted \(data\/app\.db, data\/backup-1\.db, data\/backup-2\.db and 2 more\); move them out, or pass --force/);
    assert.doesNotMatch(err.message, /node_modules|dist|run\.log|status\.json|\.claude-context/);
    assert.equal(await fs.readFile(path.join(wt.path, 'data/app.db'), 'utf8'), 'the only copy\n');

    // The same refusal through planctl, exit 2; --force removes everything.
    let out = '';
    let errText = '';
    const io = { out: (t: string) => (out += `${t}\n`), err: (t: string) => (errText += `${t}\n`), cwd: repo.dir, env: {} };
    assert.equal(await runPlanctl(['worktree', 'remove', 'auth'], io), 2);
    assert.match(errText, /^planctl: auth holds 5 git-ignored files .*data\/app\.db/);
    assert.ok(existsSync(path.join(wt.path, 'data/app.db')));
    assert.equal(await runPlanctl(['worktree', 'remove', 'auth', '--force'], io), 0, errText);
    assert.ok(!existsSync(wt.path));
    assert.match(out, /removed worktrees\/plan-auth/);
  });

  test('files copied in at create may go while unchanged; an edited copy, unlike one identical to the main checkout, may not', async () => {
    const repo = await repoWithPlan({ worktrees: { copy_files: ['data/seed.db'] } }, { '.gitignore': GITIGNORE, '.worktreeinclude': '.env\n' });
    await repo.write('.env', 'SECRET=1\n');
    await repo.write('data/seed.db', 'seed\n');
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    assert.deepEqual(wt.copiedFiles.sort(), ['.env', 'data/seed.db']);
    const marker = JSON.parse(await fs.readFile(path.join(wt.path, '.claude-context/worktree.json'), 'utf8')) as WorktreeMarker;
    assert.deepEqual(marker.copiedFiles!.map((c) => c.path).sort(), ['.env', 'data/seed.db']);
    // An ignored file made in the worktree with the main checkout's exact bytes loses nothing either.
    await repo.write('data/same.db', 'same\n');
    await repo.write('data/same.db', 'same\n', wt.path);
    await m.create(planPath(repo), { name: 'untouched' }).then((u) => m.remove(u.name));

    await repo.write('data/seed.db', 'seed, then the worktree wrote rows\n', wt.path);
    const err = await rejectsWith(m.remove('auth'), (e) => e instanceof WorktreeError && e.code === 'ignored-files', 'edited copy');
    assert.match(err.message, /holds 1 git-ignored file that is not in the main checkout and would be deleted \(data\/seed\.db\); move it out/);
    await fs.rm(path.join(wt.path, 'data/seed.db'));
    await m.remove('auth');
    assert.ok(!existsSync(wt.path));
  });

  test('worktrees.disposable replaces the default list; cleanup keeps a worktree with ignored files at risk', async () => {
    const repo = await repoWithPlan({ worktrees: { disposable: ['data/'] } }, { '.gitignore': GITIGNORE });
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('data/app.db', 'x\n', wt.path);
    await repo.write('node_modules/x/index.js', 'x\n', wt.path);
    const err = await rejectsWith(m.remove('auth'), (e) => e instanceof WorktreeError && e.code === 'ignored-files', 'not disposable here');
    assert.match(err.message, /\(node_modules\/x\/index\.js\)/);

    const later = await WorktreeManager.open(repo.dir, { now: () => new Date(Date.now() + 30 * DAY) });
    const report = await later.cleanup();
    assert.deepEqual(report.removed, []);
    assert.match(report.kept.find((k) => k.name === 'auth')!.reason, /git-ignored files that are not in the main checkout \(node_modules\/x\/index\.js\)/);
    assert.ok(existsSync(path.join(wt.path, 'node_modules/x/index.js')));
    await fs.rm(path.join(wt.path, 'node_modules'), { recursive: true });
    assert.deepEqual((await later.cleanup()).removed.map((r) => r.name), ['auth']);
  });
});

describe('complete', () => {
  async function planWithWork(config?: unknown) {
    const repo = await repoWithPlan(config);
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('src/feature.ts', 'export const f = 1;\n', wt.path);
    repo.commitAll('feature 1', wt.path);
    await repo.write('src/feature2.ts', 'export const g = 2;\n', wt.path);
    repo.commitAll('feature 2', wt.path);
    return { repo, m, wt };
  }

  test('merge: a merge commit on main, worktree removed, branch deleted (auto_cleanup default)', async () => {
    const { repo, m, wt } = await planWithWork();
    const r = await m.complete('auth');
    assert.equal(r.outcome, 'completed');
    assert.equal(r.strategy, 'merge');
    assert.equal(r.removed, true);
    assert.equal(r.branchDeleted, true);
    assert.equal(repo.git(['rev-list', '--parents', '-n', '1', 'main']).split(' ').length, 3, 'a merge commit');
    assert.match(repo.git(['log', '-1', '--format=%s', 'main']), /^Merge plan\/auth: Auth$/);
    assert.ok(existsSync(path.join(repo.dir, 'src/feature2.ts')));
    assert.ok(!existsSync(wt.path));
    assert.deepEqual(branches(repo), ['main']);
    assert.deepEqual(registered(repo), [repo.dir]);
  });

  test('squash: one commit on main with the changes, branch kept when asked', async () => {
    const { repo, m } = await planWithWork({ worktrees: { merge_strategy: 'squash' } });
    const before = repo.git(['rev-parse', 'main']);
    const r = await m.complete('auth', { deleteBranch: false });
    assert.equal(r.strategy, 'squash');
    assert.equal(r.branchDeleted, false);
    assert.equal(repo.git(['rev-parse', 'main~1']), before);
    assert.equal(repo.git(['rev-list', '--parents', '-n', '1', 'main']).split(' ').length, 2, 'not a merge commit');
    // An agent's "git add -A" commits the plan's status file, never our .claude-context/ (excluded locally).
    assert.deepEqual(repo.git(['diff', '--name-only', 'main~1', 'main']).split('\n').sort(), ['docs/plan-outputs/auth/status.json', 'src/feature.ts', 'src/feature2.ts']);
    assert.deepEqual(branches(repo), ['main', 'plan/auth']);
    // The squashed branch now counts as merged: it can be removed without --force.
    const again = await m.create(planPath(repo), { name: 'auth', attach: true });
    assert.equal(again.dirty, false);
    await m.remove('auth');
  });

  test('rebase strategy: the plan commits end up linear on main', async () => {
    const { repo, m } = await planWithWork();
    await repo.write('main.txt', 'main moved\n');
    repo.commitAll('main moves');
    const r = await m.complete('auth', { strategy: 'rebase', deleteBranch: false });
    assert.equal(r.outcome, 'completed');
    assert.deepEqual(repo.git(['log', '--format=%s', 'main']).split('\n'), ['feature 2', 'feature 1', 'main moves', 'initial']);
    assert.equal(repo.git(['rev-parse', 'main']), repo.git(['rev-parse', 'plan/auth']));
  });

  test("the plan's own status file never blocks complete: committed on the plan branch when tracked, so main gets the final status", async () => {
    const { repo, m, wt } = await planWithWork();
    const statusRel = 'docs/plan-outputs/auth/status.json';
    // An agent's "git add -A" committed the status file once; the orchestrator has rewritten it since.
    assert.equal(repo.git(['ls-files', statusRel], wt.path), statusRel);
    const status = JSON.parse(await fs.readFile(path.join(wt.path, statusRel), 'utf8'));
    status.version += 1;
    await fs.writeFile(path.join(wt.path, statusRel), JSON.stringify(status));
    assert.match(repo.git(['status', '--porcelain'], wt.path), /status\.json/);
    assert.equal((await m.listReport()).worktrees.find((w) => w.name === 'auth')?.dirty, false, 'not shown as dirty');
    const r = await m.complete('auth');
    assert.equal(r.outcome, 'completed');
    assert.equal(JSON.parse(repo.git(['show', `main:${statusRel}`])).version, status.version);
  });

  test('refused when the main checkout is dirty or on another branch, or the plan worktree is dirty', async () => {
    const { repo, m, wt } = await planWithWork();
    await repo.write('README.md', 'edited\n');
    await rejectsWith(m.complete('auth'), (e) => e instanceof WorktreeError && e.code === 'main-checkout' && /uncommitted/.test(e.message), 'main dirty');
    repo.git(['checkout', '-q', '--', 'README.md']);
    repo.git(['switch', '-q', '-c', 'other']);
    await rejectsWith(m.complete('auth'), (e) => e instanceof WorktreeError && e.code === 'main-checkout' && /is on other, not on main/.test(e.message), 'main elsewhere');
    repo.git(['switch', '-q', 'main']);
    await repo.write('wip.txt', 'wip\n', wt.path);
    await rejectsWith(m.complete('auth'), (e) => e instanceof WorktreeError && e.code === 'dirty', 'plan dirty');
    assert.ok(existsSync(wt.path));
  });

  test('a conflicting merge is left in the main checkout, reported, and the plan marked blocked; finishing it completes', async () => {
    const { repo, m, wt } = await planWithWork();
    await repo.write('src/a.ts', 'export const a = "plan";\n', wt.path);
    repo.commitAll('plan edits a', wt.path);
    await repo.write('src/a.ts', 'export const a = "main";\n');
    repo.commitAll('main edits a');

    const r = await m.complete('auth');
    assert.equal(r.outcome, 'conflict');
    assert.deepEqual(r.conflicts, { where: repo.dir, files: ['src/a.ts'] });
    assert.match(r.hint ?? '', /planctl worktree complete auth/);
    assert.equal(r.removed, false);
    assert.ok(existsSync(path.join(repo.dir, '.git', 'MERGE_HEAD')), 'the merge is not aborted');
    assert.match(await fs.readFile(path.join(repo.dir, 'src/a.ts'), 'utf8'), /<<<<<<</);
    assert.ok(existsSync(wt.path));
    const blocked = JSON.parse(await fs.readFile(path.join(wt.path, '.claude-context/blocked.json'), 'utf8'));
    assert.equal(blocked.reason, 'merge-conflict');
    assert.deepEqual(blocked.conflictedFiles, ['src/a.ts']);
    const [listed] = await m.list();
    assert.equal(listed?.blocked?.operation, 'complete');
    assert.equal(listed?.dirty, false, 'blocked.json is ours, not a user change');
    await rejectsWith(m.complete('auth'), (e) => e instanceof WorktreeError && /merge in progress/.test(e.message), 'while mid-merge');
    const cleanup = await m.cleanup();
    assert.match(cleanup.kept[0]?.reason ?? '', /^blocked/);

    await repo.write('src/a.ts', 'export const a = "both";\n');
    repo.commitAll('resolve');
    const done = await m.complete('auth');
    assert.equal(done.outcome, 'completed');
    assert.equal(done.alreadyMerged, true);
    assert.ok(!existsSync(wt.path));
  });

  test('a conflicting squash is left staged for the user too', async () => {
    const { repo, m, wt } = await planWithWork();
    await repo.write('src/a.ts', 'plan\n', wt.path);
    repo.commitAll('plan edits a', wt.path);
    await repo.write('src/a.ts', 'main\n');
    repo.commitAll('main edits a');
    const r = await m.complete('auth', { strategy: 'squash' });
    assert.equal(r.outcome, 'conflict');
    assert.deepEqual(r.conflicts?.files, ['src/a.ts']);
    assert.match(repo.git(['status', '--porcelain']), /^UU src\/a\.ts/m);
  });

  test('completing a plan based on an unmerged plan branch warns that it comes along', async () => {
    const { repo, m } = await planWithWork();
    const dep = await m.create(planPath(repo), { name: 'dep', base: 'plan/auth' });
    await repo.write('dep.txt', 'dep\n', dep.path);
    repo.commitAll('dep', dep.path);
    const r = await m.complete('dep');
    assert.equal(r.outcome, 'completed');
    assert.deepEqual(r.warnings, ['plan/dep is based on plan/auth, which is not merged into main: its commits are merged along with this plan\'s']);
  });

  test('dependents are reported, and rebased with rebaseDependents', async () => {
    const { repo, m, wt } = await planWithWork({ worktrees: { merge_strategy: 'squash' } });
    const dep = await m.create(planPath(repo), { name: 'dep', base: 'plan/auth' });
    assert.equal(dep.base, 'plan/auth');
    await repo.write('src/dep.ts', 'dep\n', dep.path);
    repo.commitAll('dep work', dep.path);
    await repo.write('main.txt', 'main\n');
    repo.commitAll('main moves');
    const r = await m.complete('auth', { rebaseDependents: true });
    assert.equal(r.outcome, 'completed');
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.dependents.map((d) => [d.name, d.rebase]), [['dep', 'rebased']]);
    // Only the dependent's own commit moved on top of main (the squashed commits were not replayed).
    assert.deepEqual(repo.git(['log', '--format=%s', 'main..plan/dep']).split('\n'), ['dep work']);
    assert.ok(!existsSync(wt.path));
    const [listed] = await m.list();
    assert.equal(listed?.base, 'main');
    assert.equal(listed?.ahead, 1);
    assert.equal(listed?.behind, 0);
  });
});

describe('rebase', () => {
  test('onto the updated main branch; conflicts leave the rebase stopped and the plan blocked', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('plan.txt', 'plan\n', wt.path);
    repo.commitAll('plan work', wt.path);
    await repo.write('main.txt', 'main\n');
    repo.commitAll('main moves');
    const r = await m.rebase('auth');
    assert.equal(r.outcome, 'rebased');
    assert.equal(repo.git(['merge-base', 'main', 'plan/auth']), repo.git(['rev-parse', 'main']));
    assert.ok(existsSync(path.join(wt.path, 'main.txt')));

    await repo.write('src/a.ts', 'plan\n', wt.path);
    repo.commitAll('plan edits a', wt.path);
    await repo.write('src/a.ts', 'main\n');
    repo.commitAll('main edits a');
    const c = await m.rebase('auth');
    assert.equal(c.outcome, 'conflict');
    assert.deepEqual(c.conflicts, ['src/a.ts']);
    assert.ok(existsSync(path.join(repo.dir, '.git', 'worktrees', 'plan-auth', 'rebase-merge')), 'the rebase waits for the user');
    assert.equal((await m.list())[0]?.blocked?.reason, 'rebase-conflict');
  });

  test('a rebased worktree without commits of its own is not taken for merged by cleanup', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('main.txt', 'main\n');
    repo.commitAll('main moves');
    assert.equal((await m.rebase('auth')).outcome, 'rebased');
    const report = await m.cleanup();
    assert.deepEqual(report.removed, []);
    assert.match(report.kept[0]?.reason ?? '', /^active/);
    assert.ok(existsSync(wt.path));
  });
});

describe('cleanup', () => {
  test('removes merged and stale clean worktrees; keeps dirty, unmerged and active ones, saying why', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    const merged = await m.create(planPath(repo), { name: 'merged' });
    await repo.write('m.txt', 'm\n', merged.path);
    repo.commitAll('merged work', merged.path);
    repo.git(['merge', '-q', '--no-ff', '--no-edit', 'plan/merged']);
    const unmerged = await m.create(planPath(repo), { name: 'unmerged' });
    await repo.write('u.txt', 'u\n', unmerged.path);
    repo.commitAll('unmerged work', unmerged.path);
    const dirty = await m.create(planPath(repo), { name: 'dirty' });
    await repo.write('d.txt', 'd\n', dirty.path);

    const now = await m.cleanup();
    assert.deepEqual(now.removed.map((r) => [r.name, r.reason, r.branchDeleted]), [['merged', 'merged', true]]);
    const kept = Object.fromEntries(now.kept.map((k) => [k.name, k.reason]));
    assert.match(kept.dirty!, /uncommitted changes \(d\.txt\)/);
    assert.match(kept.unmerged!, /1 commit not merged into main/);
    assert.equal(Object.keys(kept).length, 2);

    const fresh = await m.create(planPath(repo), { name: 'fresh' });
    const later = await WorktreeManager.open(repo.dir, { now: () => new Date(Date.now() + 30 * DAY) });
    const dry = await later.cleanup({ dryRun: true });
    assert.deepEqual(dry.removed.map((r) => r.name), ['fresh']);
    assert.ok(existsSync(fresh.path), 'dry run changes nothing');
    const stale = await later.cleanup();
    assert.deepEqual(stale.removed.map((r) => [r.name, r.reason, r.branchDeleted]), [['fresh', 'stale', true]]);
    assert.match(Object.fromEntries(stale.kept.map((k) => [k.name, k.reason])).unmerged!, /\(stale\)/);
    assert.deepEqual(branches(repo), ['main', 'plan/dirty', 'plan/unmerged']);
  });
});

describe('planctl worktree', () => {
  async function planctl(cwd: string, args: string[]) {
    let out = '';
    let err = '';
    const code = await runPlanctl(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), cwd, env: {} });
    return { code, out, err };
  }

  test('create --json, list --json, path, remove', async () => {
    const repo = await repoWithPlan();
    const created = await planctl(repo.dir, ['worktree', 'create', PLAN_FILE, '--name', 'Auth Work', '--json']);
    assert.equal(created.code, 0, created.err);
    const wt = JSON.parse(created.out);
    assert.equal(wt.name, 'auth-work');
    assert.equal(wt.branch, 'plan/auth-work');

    const again = await planctl(repo.dir, ['worktree', 'create', PLAN_FILE, '--name', 'Auth Work']);
    assert.equal(again.code, 2);
    assert.match(again.err, /^planctl: plan auth-work already has a worktree at worktrees\/plan-auth-work \(branch plan\/auth-work\)/);
    assert.equal(again.err.trim().split('\n').length, 1);

    const listed = await planctl(repo.dir, ['worktree', 'list', '--json']);
    assert.equal(listed.code, 0, listed.err);
    const report = JSON.parse(listed.out);
    assert.deepEqual(report.worktrees.map((w: { name: string }) => w.name), ['auth-work']);
    assert.equal(report.maxConcurrent, 3);
    const table = await planctl(repo.dir, ['worktree', 'list']);
    assert.match(table.out, /^NAME\s+BRANCH/);
    assert.match(table.out, /auth-work\s+plan\/auth-work\s+docs\/plans\/auth\.md\s+main\s+\+0\/-0\s+no/);

    const p = await planctl(path.join(repo.dir, 'src'), ['worktree', 'path', 'auth-work']);
    assert.equal(p.out.trim(), wt.path);

    await repo.write('wip.txt', 'x\n', wt.path);
    const refused = await planctl(repo.dir, ['worktree', 'remove', 'auth-work']);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /^planctl: auth-work has uncommitted changes \(wip\.txt\)/);
    const removed = await planctl(repo.dir, ['worktree', 'remove', 'auth-work', '--force', '--delete-branch']);
    assert.equal(removed.code, 0, removed.err);
    assert.match(removed.out, /removed worktrees\/plan-auth-work; branch plan\/auth-work deleted/);
    assert.deepEqual(branches(repo), ['main']);

    const bad = await planctl(repo.dir, ['worktree', 'complete', 'x', '--strategy', 'octopus']);
    assert.equal(bad.code, 2);
    const cfg = await repoWithPlan({ worktrees: { max_concurrent: 'three' } });
    const cfgErr = await planctl(cfg.dir, ['worktree', 'list']);
    assert.equal(cfgErr.code, 2);
    assert.match(cfgErr.err, /^planctl: git-workflow.json: worktrees.max_concurrent: /);
  });

  test('complete with a conflict prints the files and exits 2', async () => {
    const repo = await repoWithPlan();
    const m = await WorktreeManager.open(repo.dir);
    const wt = await m.create(planPath(repo));
    await repo.write('src/a.ts', 'plan\n', wt.path);
    repo.commitAll('plan', wt.path);
    await repo.write('src/a.ts', 'main\n');
    repo.commitAll('main');
    const r = await planctl(repo.dir, ['worktree', 'complete', 'auth']);
    assert.equal(r.code, 2);
    assert.match(r.out, /stopped on conflicts in \.:\n {2}src\/a\.ts/);
    assert.match(r.err, /^planctl: plan\/auth is blocked: resolve the conflicts/);
  });
});

// ---- process helpers -------------------------------------------------------------------------

// Under tsx the test runs from its .ts source; compiled by tsc it runs from out/…/*.js.
const HERE = fileURLToPath(import.meta.url);
const FROM_SOURCE = HERE.endsWith('.ts');
const CLI_ARGV = [
  ...(FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : []),
  path.join(path.dirname(HERE), '..', '..', 'src', 'cli', FROM_SOURCE ? 'main.ts' : 'main.js'),
];

function runCli(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGV, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out waiting');
}

/** The id of a process that has exited (and been reaped), for journals of "killed" creates. */
async function deadProcessId(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return child.pid!;
}
