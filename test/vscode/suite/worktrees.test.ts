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

function git(...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Plan Orchestrator Tests', '-c', 'user.email=tests@plan-orchestrator.invalid', ...args], {
    cwd: root(),
    encoding: 'utf8',
  });
}

suite('Worktrees view', () => {
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

    // Work on the plan branch; then conflict prediction covers it and marks the recommended order.
    await fs.writeFile(path.join(created.path, 'NOTES.md'), 'alpha notes\n');
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'add', 'NOTES.md'], { cwd: created.path });
    execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'task 1.1: notes'], { cwd: created.path });
    const report = (await vscode.commands.executeCommand('planOrchestrator.worktree.conflicts')) as { order: Array<{ branch: string }> } | undefined;
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
