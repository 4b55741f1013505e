/**
 * Restricted mode (`npm run test:vscode -- --untrusted`, part of npm test): the plan tree and the
 * diagnostics work, and nothing is executed or written: no status file, no orchestrator, no API
 * server. In the ordinary (trusted) run these tests skip themselves.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { api, root, until } from './helpers.js';

const untrustedRun = process.env.PLAN_ORCHESTRATOR_TEST_UNTRUSTED === '1';

suite('Untrusted workspace', () => {
  suiteSetup(function () {
    if (!untrustedRun) this.skip();
  });

  test('the workspace is in restricted mode and the plans are still listed and checked', async () => {
    assert.equal(vscode.workspace.isTrusted, false, 'the run opened the folder without trusting it');
    const a = await api();
    const plans = await a.tree.getChildren(undefined);
    assert.ok(plans.length > 0, 'the Plans view lists the plans');
    const alpha = vscode.Uri.file(path.join(root(), 'docs', 'plans', 'alpha.md'));
    await vscode.window.showTextDocument(alpha);
    await until('diagnostics or a clean analysis of alpha.md', () => a.workspace.get(alpha)?.analysis !== undefined, 10_000);
    // No event stream (it runs git): status files are followed read-only, as before it.
    await until(() => `status files followed (mode ${a.liveUpdates.mode})`, () => a.liveUpdates.mode !== undefined);
    assert.equal(a.liveUpdates.mode, 'polling');
    assert.equal(a.liveUpdates.stream, undefined);
    assert.equal(a.workspace.statusFollowing, 'polling');
  });

  test('nothing runs and nothing is written: task state, orchestrator, API server, worktree', async () => {
    const a = await api();
    const alpha = vscode.Uri.file(path.join(root(), 'docs', 'plans', 'alpha.md'));
    const errors: string[] = [];
    const original = vscode.window.showErrorMessage;
    // Commands report refusals as error messages; collect them instead of showing them.
    (vscode.window as { showErrorMessage: unknown }).showErrorMessage = (message: string) => {
      errors.push(message);
      return Promise.resolve(undefined);
    };
    try {
      const task = a.workspace.get(alpha)!.analysis!.plan.tasks[0]!;
      await vscode.commands.executeCommand('planOrchestrator.completeTask', { uri: alpha, id: task.id });
      assert.equal(await vscode.commands.executeCommand('planOrchestrator.startOrchestrator', alpha), undefined);
      assert.equal(await vscode.commands.executeCommand('planOrchestrator.startApiServer'), undefined);
      assert.equal(await vscode.commands.executeCommand('planOrchestrator.worktree.create', alpha), undefined);
    } finally {
      (vscode.window as { showErrorMessage: unknown }).showErrorMessage = original;
    }
    assert.equal(errors.length, 4, errors.join('\n'));
    for (const m of errors) assert.match(m, /not trusted/);
    assert.ok(!existsSync(path.join(root(), 'docs', 'plan-outputs', 'alpha', 'status.json')), 'no status file written');
    assert.equal(vscode.window.terminals.length, 0, 'no orchestrator terminal');
    assert.equal(a.apiServer.state, undefined);
  });
});
