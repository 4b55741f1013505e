import assert from 'node:assert/strict';
import path from 'node:path';
import * as vscode from 'vscode';
import type { PlanOrchestratorApi } from '../../../src/vscode/extension.js';

const EXTENSION_ID = 'plan-orchestrator.plan-orchestrator';

function workspaceRoot(): string {
  const folders = vscode.workspace.workspaceFolders;
  assert.ok(folders && folders.length === 1, 'the launcher opens exactly one folder (a copy of test/vscode/workspace)');
  return folders[0]!.uri.fsPath;
}

suite('activation', () => {
  let api: PlanOrchestratorApi | undefined;

  suiteSetup(async () => {
    const extension = vscode.extensions.getExtension<PlanOrchestratorApi | undefined>(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not loaded`);
    api = await extension.activate();
    // activate() returns before the first scan of the workspace; `ready` settles after it.
    await api?.ready;
  });

  test('the extension activates and returns its API', () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID)!;
    assert.equal(extension.isActive, true);
    // activate() returns undefined when it failed (it shows an error instead of throwing).
    assert.ok(api, 'activate() returned no API: activation failed, see the Plan Orchestrator log');
    assert.equal(typeof api.activationMs, 'number');
    assert.ok(api.activationMs >= 0, `activation took ${api.activationMs} ms`);
  });

  test('the test workspace is trusted', () => {
    assert.equal(vscode.workspace.isTrusted, true);
  });

  test('workspace.plans() lists the fixture plans, analysed', () => {
    const root = workspaceRoot();
    const plans = api!.workspace.plans();
    const rel = plans.map((p) => path.relative(root, p.uri.fsPath).split(path.sep).join('/'));
    assert.deepEqual(rel, ['docs/plans/alpha.md', 'specs/feature/tasks.md']);

    const [alpha, beta] = plans;
    assert.ok(alpha!.analysis, 'alpha.md was not analysed');
    assert.equal(alpha!.analysis.plan.title, 'Alpha Search');
    assert.deepEqual(
      alpha!.analysis.plan.tasks.filter((t) => t.kind === 'task').map((t) => t.id),
      ['1.1', '1.2', '1.3', '2.1', '2.2'],
    );
    assert.deepEqual(alpha!.analysis.plan.tasks.find((t) => t.id === '2.2')?.dependsOn.map((d) => d.target), ['2.1', '1.2']);
    assert.deepEqual(alpha!.analysis.diagnostics.filter((d) => d.severity === 'error'), []);

    assert.ok(beta!.analysis, 'specs/feature/tasks.md was not analysed');
    assert.equal(beta!.analysis.plan.dialect, 'spec-kit');
    assert.deepEqual(
      beta!.analysis.plan.tasks.map((t) => t.id),
      ['T001', 'T002', 'T003', 'T004'],
    );
  });

  test('status files belong to the workspace repository', () => {
    const root = workspaceRoot();
    assert.equal(api!.workspace.plans().length, 2);
    for (const plan of api!.workspace.plans()) {
      assert.equal(plan.root, root, `${plan.uri.fsPath}: repo root`);
      assert.ok(plan.statusPath.startsWith(root + path.sep), `${plan.statusPath} is outside ${root}`);
    }
  });

  test('planOrchestrator.refresh is a registered command', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes('planOrchestrator.refresh'), 'planOrchestrator.refresh is not registered');
  });

  test('every command in package.json is registered', async () => {
    const declared = (vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.commands as { command: string }[]).map(
      (c) => c.command,
    );
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      declared.filter((c) => !registered.has(c)),
      [],
      'declared in package.json but not registered',
    );
  });
});
