import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { GitError, GitService } from '../../src/git/gitService.js';
import { parseMergeTree, predictConflicts, type ConflictReport } from '../../src/git/conflicts.js';
import { formatConflictReport } from '../../src/cli/conflictReport.js';
import { registerConflictCommands } from '../../src/cli/conflictCommands.js';
import { Command } from 'commander';

let tempRoot: string;

before(async () => {
  tempRoot = await realpath(await mkdtemp(path.join(os.tmpdir(), 'planctl-conflicts-')));
});

after(async () => {
  await rm(tempRoot, { recursive: true, force: true });
});

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function write(dir: string, file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
  await writeFile(path.join(dir, file), text);
}

async function makeRepo(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(tempRoot, name);
  await mkdir(dir);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Test User');
  git(dir, 'config', 'user.email', 'test@example.com');
  git(dir, 'config', 'commit.gpgsign', 'false');
  for (const [file, text] of Object.entries(files)) await write(dir, file, text);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');
  return dir;
}

/** Creates `branch` from `from`, applies the edits, commits, and goes back to main. */
async function branch(dir: string, name: string, edits: Record<string, string>, from = 'main'): Promise<void> {
  git(dir, 'checkout', '-q', '-b', name, from);
  for (const [file, text] of Object.entries(edits)) await write(dir, file, text);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', `work on ${name}`);
  git(dir, 'checkout', '-q', 'main');
}

const lines = (n: number, change: Record<number, string> = {}): string =>
  Array.from({ length: n }, (_, i) => change[i + 1] ?? `line ${i + 1}`).join('\n') + '\n';

function pair(report: ConflictReport, a: string, b: string) {
  const found = report.pairs.find((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a));
  assert.ok(found, `no pair ${a} × ${b}`);
  return found;
}

async function expectGitError(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof GitError, `expected GitError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('predictConflicts: the conflict matrix', () => {
  let repo: string;
  let report: ConflictReport;

  before(async () => {
    repo = await makeRepo('matrix', { 'shared.txt': lines(40), 'config.txt': 'a=1\nb=2\n', 'README.md': '# r\n' });
    // A branch main already contains: not active, left out when discovering.
    git(repo, 'branch', 'plan/merged');
    await branch(repo, 'plan/alpha', { 'shared.txt': lines(40, { 1: 'alpha' }) });
    await branch(repo, 'plan/beta', { 'shared.txt': lines(40, { 1: 'beta' }) });
    await branch(repo, 'plan/gamma', { 'shared.txt': lines(40, { 35: 'gamma' }) });
    await branch(repo, 'plan/delta', { 'delta.txt': 'new\n' });
    await branch(repo, 'plan/epsilon', { 'config.txt': 'a=epsilon\nb=2\n' });
    await branch(repo, 'feature/not-a-plan', { 'shared.txt': lines(40, { 1: 'other' }) });
    // main moves on after the branches were cut.
    await write(repo, 'config.txt', 'a=main\nb=2\n');
    git(repo, 'commit', '-q', '-am', 'main moves');
    report = await predictConflicts(await GitService.open(repo));
  });

  test('discovers the plan/* branches main does not contain yet', () => {
    assert.equal(report.main, 'main');
    assert.equal(report.mainSha, git(repo, 'rev-parse', 'main').trim());
    assert.deepEqual(
      report.branches.map((b) => b.branch),
      ['plan/alpha', 'plan/beta', 'plan/delta', 'plan/epsilon', 'plan/gamma'],
    );
    assert.deepEqual(report.skipped, [{ branch: 'plan/merged', reason: 'main already contains it' }]);
    const alpha = report.branches[0]!;
    assert.equal(alpha.ahead, 1);
    assert.deepEqual(alpha.changedFiles, ['shared.txt']);
    assert.equal(alpha.sha, git(repo, 'rev-parse', 'plan/alpha').trim());
    // 10 branch pairs + 5 against main.
    assert.equal(report.pairs.length, 15);
    assert.equal(report.pairs.filter((p) => p.b === 'main').length, 5);
    assert.ok(report.elapsedMs >= 0);
  });

  test('two branches editing the same lines: a real conflict, in the right file', () => {
    const p = pair(report, 'plan/alpha', 'plan/beta');
    assert.deepEqual(p.conflicts, ['shared.txt']);
    assert.deepEqual(p.conflictTypes, { 'shared.txt': ['contents'] });
    assert.deepEqual(p.overlapping, ['shared.txt']);
    assert.equal(p.clean, false);
  });

  test('two branches editing different parts of one file: overlapping but clean', () => {
    for (const other of ['plan/alpha', 'plan/beta']) {
      const p = pair(report, other, 'plan/gamma');
      assert.deepEqual(p.conflicts, []);
      assert.deepEqual(p.overlapping, ['shared.txt']);
      assert.equal(p.clean, true);
    }
  });

  test('an independent branch is clean with every branch and with main', () => {
    const withDelta = report.pairs.filter((p) => p.a === 'plan/delta' || p.b === 'plan/delta');
    assert.equal(withDelta.length, 5);
    for (const p of withDelta) {
      assert.equal(p.clean, true, `${p.a} × ${p.b}`);
      assert.deepEqual(p.overlapping, []);
    }
  });

  test('a branch conflicts with main once main changed the same lines', () => {
    const p = pair(report, 'plan/epsilon', 'main');
    assert.equal(p.a, 'plan/epsilon');
    assert.deepEqual(p.conflicts, ['config.txt']);
    assert.deepEqual(p.overlapping, ['config.txt']);
    for (const other of report.pairs.filter((x) => x.b === 'main' && x.a !== 'plan/epsilon')) assert.equal(other.clean, true, other.a);
  });

  test('the order puts conflict-free branches first and marks what needs manual resolution', () => {
    assert.deepEqual(
      report.order.map((s) => s.branch),
      ['plan/delta', 'plan/gamma', 'plan/alpha', 'plan/beta', 'plan/epsilon'],
    );
    const by = new Map(report.order.map((s) => [s.branch, s]));
    assert.match(by.get('plan/delta')!.reason, /clean against main and every other branch/);
    assert.deepEqual(by.get('plan/alpha')!.resolveWith, []);
    assert.deepEqual(by.get('plan/beta')!.resolveWith, ['plan/alpha']);
    assert.deepEqual(by.get('plan/epsilon')!.resolveWith, ['main']);
  });

  test('the text report: a matrix of ✓ / ✗ n files, the conflicting files, and the order with reasons', () => {
    const text = formatConflictReport(report);
    const rows = text.split('\n');
    assert.match(rows[0]!, /^5 plan branches against main \([0-9a-f]{8}\): 15 merges simulated in \d+ ms$/);
    assert.ok(rows.includes('skipped plan/merged: main already contains it'));
    const header = rows.findIndex((l) => /^\s+BRANCH\s+AHEAD\s+CHANGED\s+1\s+2\s+3\s+4\s+5\s+main$/.test(l));
    assert.ok(header > 0, text);
    assert.match(rows[header + 1]!, /^1\s+plan\/alpha\s+1\s+1\s+—\s+✗ 1 file\s+✓\s+✓\s+✓\s+✓$/);
    assert.match(rows[header + 4]!, /^4\s+plan\/epsilon\s+1\s+1\s+✓\s+✓\s+✓\s+—\s+✓\s+✗ 1 file$/);
    assert.ok(rows.includes('  plan/alpha × plan/beta: shared.txt (contents)'), text);
    assert.ok(rows.includes('  plan/epsilon × main: config.txt (contents)'), text);
    assert.ok(rows.includes('  plan/alpha × plan/gamma: shared.txt'), text);
    const order = rows.slice(rows.indexOf('Recommended merge order:') + 1);
    assert.deepEqual(
      order.map((l) => /^\s+\d\. (\S+)/.exec(l)?.[1]),
      ['plan/delta', 'plan/gamma', 'plan/alpha', 'plan/beta', 'plan/epsilon'],
    );
    assert.match(order[3]!, /needs manual resolution against plan\/alpha \(1 file\)/);
  });

  test('explicit branches: only those, in any namespace, and even when main contains them', async () => {
    const r = await predictConflicts(await GitService.open(repo), { branches: ['plan/alpha', 'feature/not-a-plan', 'plan/merged'] });
    assert.deepEqual(
      r.branches.map((b) => b.branch),
      ['plan/alpha', 'feature/not-a-plan', 'plan/merged'],
    );
    assert.deepEqual(pair(r, 'plan/alpha', 'feature/not-a-plan').conflicts, ['shared.txt']);
    assert.equal(pair(r, 'plan/merged', 'main').clean, true);
    assert.equal(r.pairs.length, 3 + 3);
    assert.deepEqual(r.skipped, []);
  });

  test('an explicit main: the branches are compared with it instead', async () => {
    const r = await predictConflicts(await GitService.open(repo), { main: 'plan/alpha', branches: ['plan/beta', 'plan/gamma'] });
    assert.equal(r.main, 'plan/alpha');
    assert.deepEqual(pair(r, 'plan/beta', 'plan/alpha').conflicts, ['shared.txt']);
    assert.equal(pair(r, 'plan/gamma', 'plan/alpha').clean, true);
  });

  test('refs that could be read as options or ranges are refused before git sees them', async () => {
    const svc = await GitService.open(repo);
    for (const bad of ['-rf', '--output=/tmp/x', 'plan/a..plan/b', '..', 'plan/../x', 'main^', 'a b']) {
      await expectGitError(predictConflicts(svc, { branches: [bad] }), 'invalid-name');
    }
    await expectGitError(predictConflicts(svc, { main: '--all' }), 'invalid-name');
    await expectGitError(predictConflicts(svc, { main: 'main..plan/alpha' }), 'invalid-name');
  });

  test('unknown branches and main itself as a branch are errors', async () => {
    const svc = await GitService.open(repo);
    await expectGitError(predictConflicts(svc, { branches: ['plan/nope'] }), 'unknown-ref');
    await expectGitError(predictConflicts(svc, { main: 'nope' }), 'unknown-ref');
    await expectGitError(predictConflicts(svc, { branches: ['plan/alpha', 'main'] }), 'invalid-name');
  });
});

describe('predictConflicts: plan dependencies', () => {
  let repo: string;
  const planText = (title: string, upstream: string[]): string =>
    `# Implementation Plan: ${title}\n\n## Dependencies\n\n### Upstream\n${upstream.length ? upstream.map((u) => `- **${u}** (needed first)`).join('\n') : '- None'}\n\n## Phase 1: Work\n\n- [ ] 1.1 Do it\n`;

  before(async () => {
    repo = await makeRepo('deps', {
      'docs/plans/a.md': planText('A', []),
      'docs/plans/b.md': planText('B', ['a.md']),
      'docs/plans/c.md': planText('C', ['elsewhere.md']),
      'base.txt': 'base\n',
    });
    await branch(repo, 'plan/a', Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`src/a${i}.ts`, `export const a${i} = ${i};\n`])));
    await branch(repo, 'plan/b', { 'src/b.ts': 'export const b = 1;\n' });
    await branch(repo, 'plan/c', { 'src/c1.ts': '1\n', 'src/c2.ts': '2\n' });
  });

  test('plan/<name> finds <name>.md in the branch; B waits for A even though A is larger', async () => {
    const r = await predictConflicts(await GitService.open(repo));
    const b = r.branches.find((x) => x.branch === 'plan/b')!;
    assert.equal(b.plan, 'docs/plans/b.md');
    assert.equal(b.planName, 'b');
    assert.deepEqual(b.dependsOn, ['plan/a']);
    const c = r.branches.find((x) => x.branch === 'plan/c')!;
    assert.deepEqual(c.dependsOn, []);
    assert.deepEqual(c.externalDependencies, ['elsewhere']);
    assert.ok(r.pairs.every((p) => p.clean));
    assert.deepEqual(
      r.order.map((s) => s.branch),
      ['plan/c', 'plan/a', 'plan/b'],
    );
    assert.deepEqual(r.order[2]!.after, ['plan/a']);
    assert.match(r.order[2]!.reason, /after plan\/a \(plan dependency\)/);
  });

  test("a worktree's plan pointer names the branch's plan, uncommitted edits included", async () => {
    const wt = path.join(tempRoot, 'deps-wt-c');
    git(repo, 'worktree', 'add', '-q', wt, 'plan/c');
    await write(wt, 'docs/plans/c-custom.md', planText('C custom', ['b.md']));
    await write(wt, '.claude-context/current-plan.txt', 'docs/plans/c-custom.md\n');
    const r = await predictConflicts(await GitService.open(wt));
    const c = r.branches.find((x) => x.branch === 'plan/c')!;
    assert.equal(c.plan, 'docs/plans/c-custom.md');
    assert.equal(c.planName, 'c-custom');
    assert.deepEqual(c.dependsOn, ['plan/b']);
    assert.deepEqual(
      r.order.map((s) => s.branch),
      ['plan/a', 'plan/b', 'plan/c'],
    );
  });
});

describe('predictConflicts: histories', () => {
  test('a branch that merged main in: its changes count from the new merge base, and it is clean with main', async () => {
    const repo = await makeRepo('merged-main', { 'config.txt': 'a=1\nb=2\n', 'work.txt': lines(20) });
    await branch(repo, 'plan/synced', { 'work.txt': lines(20, { 2: 'synced' }) });
    await write(repo, 'config.txt', 'a=main\nb=2\n');
    git(repo, 'commit', '-q', '-am', 'main moves');
    git(repo, 'checkout', '-q', 'plan/synced');
    git(repo, 'merge', '-q', '--no-edit', 'main');
    await write(repo, 'work.txt', lines(20, { 2: 'synced', 19: 'after the merge' }));
    git(repo, 'commit', '-q', '-am', 'more work');
    git(repo, 'checkout', '-q', 'main');

    const r = await predictConflicts(await GitService.open(repo));
    const b = r.branches[0]!;
    assert.equal(b.mergeBase, git(repo, 'rev-parse', 'main').trim());
    assert.equal(b.ahead, 3);
    assert.deepEqual(b.changedFiles, ['work.txt']);
    assert.equal(pair(r, 'plan/synced', 'main').clean, true);
    assert.deepEqual(pair(r, 'plan/synced', 'main').overlapping, []);
  });

  test('a branch stacked on another contains its changes: the pair merges cleanly', async () => {
    const repo = await makeRepo('stacked', { 'f.txt': lines(20) });
    await branch(repo, 'plan/base', { 'f.txt': lines(20, { 1: 'base' }) });
    await branch(repo, 'plan/top', { 'f.txt': lines(20, { 1: 'base', 2: 'top' }) }, 'plan/base');
    const r = await predictConflicts(await GitService.open(repo));
    assert.equal(pair(r, 'plan/base', 'plan/top').clean, true);
    assert.deepEqual(
      r.order.map((s) => s.branch),
      ['plan/base', 'plan/top'],
    );
  });
});

describe('planctl worktree conflicts', () => {
  let repo: string;

  before(async () => {
    repo = await makeRepo('cli', { 'f.txt': lines(20) });
    await branch(repo, 'plan/one', { 'f.txt': lines(20, { 1: 'one' }) });
    await branch(repo, 'plan/two', { 'f.txt': lines(20, { 1: 'two' }) });
    await branch(repo, 'plan/three', { 'g.txt': 'g\n' });
  });

  async function run(args: string[]): Promise<string> {
    let out = '';
    const program = new Command('planctl').exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
    registerConflictCommands(program, { out: (s) => (out += `${s}\n`), cwd: repo });
    await program.parseAsync(args, { from: 'user' });
    return out;
  }

  test('--json prints the whole report', async () => {
    const report = JSON.parse(await run(['worktree', 'conflicts', '--json'])) as ConflictReport;
    assert.deepEqual(
      report.branches.map((b) => b.branch),
      ['plan/one', 'plan/three', 'plan/two'],
    );
    assert.deepEqual(pair(report, 'plan/one', 'plan/two').conflicts, ['f.txt']);
    assert.deepEqual(
      report.order.map((s) => s.branch),
      ['plan/three', 'plan/one', 'plan/two'],
    );
  });

  test('--branch, repeated or with several names, limits the comparison', async () => {
    for (const args of [
      ['--branch', 'plan/one', '--branch', 'plan/three'],
      ['--branch', 'plan/one', 'plan/three'],
    ]) {
      const report = JSON.parse(await run(['worktree', 'conflicts', '--json', ...args])) as ConflictReport;
      assert.deepEqual(
        report.branches.map((b) => b.branch),
        ['plan/one', 'plan/three'],
      );
      assert.ok(report.pairs.every((p) => p.clean));
    }
  });

  test('text output for people', async () => {
    const text = await run(['worktree', 'conflicts']);
    assert.match(text, /plan\/one × plan\/two: f\.txt \(contents\)/);
    assert.match(text, /Recommended merge order:\n {2}1\. plan\/three/);
  });

  test('an unsafe --branch is refused with a GitError (planctl prints it on one line, exit 2)', async () => {
    await expectGitError(run(['worktree', 'conflicts', '--branch', '--upload-pack=x']), 'invalid-name');
  });
});

describe('parseMergeTree', () => {
  const tree = 'a'.repeat(40);

  test('clean: only the tree', () => {
    assert.deepEqual(parseMergeTree(`${tree}\0`), { conflicts: [], types: {} });
  });

  test('conflicted files and their kinds; warnings on stderr before the tree are skipped', () => {
    const out =
      `warning: inexact rename detection was skipped\n${tree}\0b.txt\0a.txt\0\0` +
      `1\0a.txt\0Auto-merging\0Auto-merging a.txt\n\0` +
      `1\0a.txt\0CONFLICT (contents)\0CONFLICT (content): Merge conflict in a.txt\n\0` +
      `2\0b.txt\0c.txt\0CONFLICT (modify/delete)\0CONFLICT (modify/delete): b.txt deleted\n\0`;
    assert.deepEqual(parseMergeTree(out), { conflicts: ['a.txt', 'b.txt'], types: { 'a.txt': ['contents'], 'b.txt': ['modify/delete'] } });
  });

  test('output without a tree id is an error, not "clean"', () => {
    assert.throws(() => parseMergeTree('fatal: refusing to merge unrelated histories\n'), (e: unknown) => e instanceof GitError && e.code === 'git-failed');
  });
});
