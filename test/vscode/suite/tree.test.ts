/**
 * The Plans view, the task commands and the file watchers, through the real VS Code API.
 * Runs in the extension host against a fresh copy of test/vscode/workspace.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { PlanOrchestratorApi } from '../../../src/vscode/extension.js';
import type { PlanTreeNode } from '../../../src/vscode/planTree.js';
import { api, root, until } from './helpers.js';




function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : item.label?.label ?? '';
}

async function childLabels(a: PlanOrchestratorApi, node?: PlanTreeNode): Promise<string[]> {
  return (await a.tree.getChildren(node)).map((n) => label(a.tree.getTreeItem(n)));
}

async function findChild(a: PlanOrchestratorApi, parent: PlanTreeNode | undefined, prefix: string): Promise<PlanTreeNode> {
  const kids = await a.tree.getChildren(parent);
  const hit = kids.find((n) => label(a.tree.getTreeItem(n)).startsWith(prefix));
  assert.ok(hit, `no child starting with "${prefix}" in ${JSON.stringify(kids.map((n) => label(a.tree.getTreeItem(n))))}`);
  return hit;
}

const alphaUri = (): vscode.Uri => vscode.Uri.file(path.join(root(), 'docs', 'plans', 'alpha.md'));
const alphaStatus = (): string => path.join(root(), 'docs', 'plan-outputs', 'alpha', 'status.json');

suite('Plans view', () => {
  test('shows the workspace plans, their phases, tasks and VERIFY items', async () => {
    const a = await api();
    await until('both plans', () => a.workspace.plans().length >= 2);
    const plans = await childLabels(a);
    assert.ok(plans.includes('Alpha Search'), JSON.stringify(plans));
    assert.ok(plans.includes('Tasks: Beta Export'), JSON.stringify(plans));
    const alpha = await findChild(a, undefined, 'Alpha Search');
    assert.deepEqual(await childLabels(a, alpha), ['Phase 1: Index', 'Phase 2: Query']);
    const phase1 = await findChild(a, alpha, 'Phase 1');
    const rows = await childLabels(a, phase1);
    assert.equal(rows.length, 4);
    assert.ok(rows[0]!.startsWith('1.1 Add the tag index'));
    assert.ok(rows[3]!.startsWith('V1.1'));
    const t13 = a.tree.getTreeItem(await findChild(a, phase1, '1.3'));
    assert.match(String(t13.description), /⇠ 1\.1/);
    assert.equal((t13.iconPath as vscode.ThemeIcon).id, 'lock-small', '1.3 waits for 1.1');
    const t11 = a.tree.getTreeItem(await findChild(a, phase1, '1.1'));
    assert.equal((t11.iconPath as vscode.ThemeIcon).id, 'circle-large-outline', '1.1 is ready');
    assert.ok(t11.tooltip instanceof vscode.MarkdownString && t11.tooltip.value.includes('Needed by: 1.3'));
  });

  test('the complete command writes status.json and only the affected rows refresh', async () => {
    const a = await api();
    const alpha = await findChild(a, undefined, 'Alpha Search');
    const phase1 = await findChild(a, alpha, 'Phase 1');
    const phase2 = await findChild(a, alpha, 'Phase 2');
    await a.tree.getChildren(phase2);
    const fired: PlanTreeNode[] = [];
    const sub = a.tree.onDidChangeTreeData((e) => fired.push(...(Array.isArray(e) ? e : e ? [e] : [])));
    try {
      await vscode.commands.executeCommand('planOrchestrator.completeTask', { uri: alphaUri(), id: '1.1' });
      const status = JSON.parse(await fs.readFile(alphaStatus(), 'utf8'));
      assert.equal(status.tasks['1.1'].status, 'completed');
      await until('tree refresh', () => fired.some((n) => n.kind === 'task' && n.taskId === '1.1'));
      const t11 = a.tree.getTreeItem(await findChild(a, phase1, '1.1'));
      assert.equal((t11.iconPath as vscode.ThemeIcon).id, 'pass-filled');
      assert.equal((t11.checkboxState as { state: vscode.TreeItemCheckboxState }).state, vscode.TreeItemCheckboxState.Checked);
      // 1.3 became ready; 2.1 (waits for the phase 1 VERIFY) did not change and was not re-rendered.
      assert.ok(fired.some((n) => n.kind === 'task' && n.taskId === '1.3'));
      assert.ok(!fired.some((n) => n.kind === 'task' && n.taskId === '2.1'), `fired: ${fired.map((n) => n.key).join(', ')}`);
    } finally {
      sub.dispose();
    }
  });

  test('follows status.json written by another process', async () => {
    const a = await api();
    const alpha = await findChild(a, undefined, 'Alpha Search');
    const phase1 = await findChild(a, alpha, 'Phase 1');
    const status = JSON.parse(await fs.readFile(alphaStatus(), 'utf8'));
    const now = new Date().toISOString();
    status.version += 1;
    status.updatedAt = now;
    status.tasks['1.2'] = { status: 'in_progress', startedAt: now, updatedAt: now, attempts: 1, history: [{ status: 'in_progress', at: now }] };
    await fs.writeFile(`${alphaStatus()}.tmp`, JSON.stringify(status, null, 2));
    await fs.rename(`${alphaStatus()}.tmp`, alphaStatus());
    await until(
      () => `1.2 running in the tree (plan's status version ${a.workspace.get(alphaUri())?.status?.version}, file version ${status.version})`,
      async () => {
        const item = a.tree.getTreeItem(await findChild(a, phase1, '1.2'));
        return (item.iconPath as vscode.ThemeIcon).id === 'sync~spin';
      },
      5000,
    );
  });

  test('follows the plan file when it changes on disk', async () => {
    const a = await api();
    const file = alphaUri().fsPath;
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('- [ ] 2.2 Add the search endpoint', '- [ ] 2.3 Document the query syntax\n- [ ] 2.2 Add the search endpoint'));
    const alpha = await findChild(a, undefined, 'Alpha Search');
    const phase2 = await findChild(a, alpha, 'Phase 2');
    await until('task 2.3 in the tree', async () => (await childLabels(a, phase2)).some((l) => l.startsWith('2.3 Document')));
  });

  test('set active plan writes the worktree pointer; sync ticks completed tasks', async () => {
    await api();
    await vscode.commands.executeCommand('planOrchestrator.setActivePlan', alphaUri());
    const pointer = await fs.readFile(path.join(root(), '.claude-context', 'current-plan.txt'), 'utf8');
    assert.equal(pointer.trim(), 'docs/plans/alpha.md');
    await vscode.commands.executeCommand('planOrchestrator.syncCheckboxes', alphaUri());
    const text = await fs.readFile(alphaUri().fsPath, 'utf8');
    assert.match(text, /- \[x\] 1\.1 Add the tag index/);
    assert.match(text, /- \[ \] 1\.2 Add the index migration/);
  });

  test('a task command on an unknown ID reports an error instead of throwing', async () => {
    await api();
    await vscode.commands.executeCommand('planOrchestrator.completeTask', { uri: alphaUri(), id: '9.9' });
    const status = JSON.parse(await fs.readFile(alphaStatus(), 'utf8'));
    assert.equal(status.tasks['9.9'], undefined);
  });
});
