/**
 * The Worktrees view through the real API: the create command makes a git worktree for a plan
 * (on plan/<name>, with its context) and the view lists it; remove takes it away again.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { existsSync, promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { api, root, until } from './helpers.js';
import { conflictSummary } from '../../../src/vscode/worktreeView.js';

let apiRef: Awaited<ReturnType<typeof api>> | undefined;
const a = (): Awaited<ReturnType<typeof api>> => apiRef!;

function git(...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Plan Orchestrator Tests', '-c', 'user.email=tests@plan-orchestrator.invalid', ...args], {
    cwd: root(),
    encoding: 'utf8',
  });
}

suite('Worktrees view', () => {
  test('Create offers to commit a plan with uncommitted edits first: the worktree then runs the plan as edited', async function () {
    this.timeout(30_000);
    apiRef = await api();
    git('add', '-A');
    if (git('status', '--porcelain').trim()) git('commit', '-q', '-m', 'test edits');
    const theta = path.join(root(), 'docs', 'plans', 'theta.md');
    await fs.writeFile(theta, '# Implementation Plan: Theta\n\n## Phase 1: Notes\n\n- [ ] 1.1 Write `THETA.md`\n');
    git('add', 'docs/plans/theta.md');
    git('commit', '-q', '-m', 'theta plan');
    // Edited after the last commit, and something else edited too, which must not be committed with it.
    await fs.writeFile(theta, '# Implementation Plan: Theta\n\n## Phase 1: Notes\n\n- [ ] 1.1 Write `THETA.md`\n- [ ] 1.2 Link it from the README\n');
    await fs.writeFile(path.join(root(), 'README.md'), 'edited, not committed\n');
    const created = (await vscode.commands.executeCommand('planOrchestrator.worktree.create', vscode.Uri.file(theta), { commitPlan: true })) as { path: string } | undefined;
    assert.ok(created);
    try {
      assert.match(git('log', '-1', '--format=%s'), /theta\.md/);
      assert.deepEqual(git('show', '--name-only', '--format=', 'HEAD').trim().split('\n'), ['docs/plans/theta.md'], 'only the plan is committed');
      assert.match(await fs.readFile(path.join(created.path, 'docs', 'plans', 'theta.md'), 'utf8'), /1\.2 Link it from the README/);
      assert.match(git('status', '--porcelain'), /README\.md/, 'the other edit stays uncommitted');
    } finally {
      git('worktree', 'remove', '--force', created.path);
      git('checkout', '-q', '--', 'README.md');
      await a().worktrees.refresh();
    }
  });

  test('the create command makes a worktree for a plan and the view shows it', async function () {
    this.timeout(30_000);
    const a = await api();
    // Earlier suites may have edited files: commit them so the main checkout is clean.
    git('add', '-A');
    if (git('status', '--porcelain').trim()) git('commit', '-q', '-m', 'test edits');
    const plan = vscode.Uri.file(path.join(root(), 'docs', 'plans', 'alpha.md'));
    const created = (await vscode.commands.executeCommand('planOrchestrator.worktree.create', plan)) as { name: string; path: string; branch: string } | undefined;
    assert.ok(created, 'the command returned the worktree');
    assert.equal(created.branch, 'plan/alpha');
    assert.ok(existsSync(created.path), created.path);
    assert.equal((await fs.readFile(path.join(created.path, '.claude-context', 'current-plan.txt'), 'utf8')).trim(), 'docs/plans/alpha.md');
    assert.match(git('worktree', 'list', '--porcelain'), /branch refs\/heads\/plan\/alpha/);

    const rows = await until('the worktree in the view', () => {
      const kids = a.worktrees.getChildren();
      const hit = kids.find((k) => k.kind === 'worktree' && k.worktree.name === created.name);
      return hit ? kids : undefined;
    });
    const item = a.worktrees.getTreeItem(rows.find((k) => k.kind === 'worktree')!);
    assert.equal(item.label, 'alpha');
    assert.match(String(item.description), /plan\/alpha · ↑0 ↓0/);

    // The plan's copy inside the worktree is not listed as another plan of this workspace.
    await vscode.commands.executeCommand('planOrchestrator.refresh');
    assert.ok(!a.workspace.plans().some((p) => p.uri.fsPath.startsWith(created.path)), 'worktree copies are not workspace plans');
    // Nor when a file appears there later (a rebase rewrites the plan files: the watcher sees them as new).
    await fs.writeFile(path.join(created.path, 'docs', 'plans', 'copy.md'), '# Implementation Plan: Copy\n\n- [ ] 1.1 Nothing\n');
    await fs.writeFile(path.join(root(), 'docs', 'plans', 'iota.md'), '# Implementation Plan: Iota\n\n- [ ] 1.1 Nothing\n');
    await until('iota, written after the copy, in the workspace', () => a.workspace.plans().some((p) => p.uri.fsPath.endsWith('iota.md')), 10_000);
    assert.ok(!a.workspace.plans().some((p) => p.uri.fsPath.startsWith(created.path)), 'a plan file appearing in a worktree is not listed');
    await fs.rm(path.join(created.path, 'docs', 'plans', 'copy.md'));
    await fs.rm(path.join(root(), 'docs', 'plans', 'iota.md'));

    // Work on the plan branch, as an orchestrator does: a commit, then the status file. The row's
    // ahead count follows without a refresh.
    await fs.writeFile(path.join(created.path, 'NOTES.md'), 'alpha notes\n');
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'add', 'NOTES.md'], { cwd: created.path });
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'task 1.1: notes'], { cwd: created.path });
    const now = new Date().toISOString();
    const statusFile = path.join(created.path, 'docs', 'plan-outputs', 'alpha', 'status.json');
    await fs.mkdir(path.dirname(statusFile), { recursive: true });
    await fs.writeFile(
      statusFile,
      JSON.stringify({ schemaVersion: 1, plan: 'docs/plans/alpha.md', version: 7, updatedAt: now, tasks: { '1.2': { status: 'completed', updatedAt: now, completedAt: now, attempts: 1, history: [{ status: 'completed', at: now }] } } }),
    );
    const ahead = await until(
      () => `↑1 on the alpha row, got ${a.worktrees.getChildren().filter((k) => k.kind === 'worktree').map((k) => a.worktrees.getTreeItem(k).description).join(' | ')}`,
      () => a.worktrees.getChildren().find((k) => k.kind === 'worktree' && k.worktree.name === 'alpha' && /↑1 ↓0/.test(String(a.worktrees.getTreeItem(k).description))),
      10_000,
    );
    const tooltip = (a.worktrees.getTreeItem(ahead).tooltip as vscode.MarkdownString).value;
    assert.match(tooltip, /Last activity: (just now|\d+ min ago)/, tooltip);
    assert.doesNotMatch(tooltip, /\d{4}-\d\d-\d\dT\d\d:/, 'no raw ISO time');

    const report = (await vscode.commands.executeCommand('planOrchestrator.worktree.conflicts')) as Parameters<typeof conflictSummary>[0] | undefined;
    assert.ok(report);
    const said = conflictSummary(report);
    assert.doesNotMatch(said, /\(s\)/, said);
    assert.match(said, /^\d+ plan branch(es)?: /, said);
    // Other suites may have made plan branches of their own in this workspace: look for ours.
    const position = report?.order.findIndex((o) => o.branch === 'plan/alpha') ?? -1;
    assert.ok(position >= 0, JSON.stringify(report?.order));
    const alphaRow = a.worktrees.getChildren().find((k) => k.kind === 'worktree' && k.worktree.name === 'alpha')!;
    assert.match(String(a.worktrees.getTreeItem(alphaRow).description), new RegExp(`merge #${position + 1}`));
  });

  test('a plan in another worktree touching the same file gets a cross-plan warning in this plan', async function () {
    this.timeout(30_000);
    await api();
    const delta = path.join(root(), 'docs', 'plans', 'delta.md');
    await fs.writeFile(delta, '# Implementation Plan: Delta\n\n## Phase 1: Query\n\n- [ ] 1.1 Speed up `src/search/query.ts`\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'delta plan');
    await vscode.commands.executeCommand('planOrchestrator.worktree.create', vscode.Uri.file(delta));
    const alpha = vscode.Uri.file(path.join(root(), 'docs', 'plans', 'alpha.md'));
    const warning = await until('the cross-plan warning on alpha.md', () =>
      vscode.languages.getDiagnostics(alpha).find((d) => d.code === 'cross-plan-file-conflict'),
    );
    assert.match(warning.message, /2\.1 and 1\.1 of plan delta \(plan\/delta\) both touch src\/search\/query\.ts/);
    assert.equal(warning.severity, vscode.DiagnosticSeverity.Warning);
  });
});
