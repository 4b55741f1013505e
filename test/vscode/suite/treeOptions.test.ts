/**
 * The Plans view as a user narrows and reads it: filter by text and state (shown in the view's
 * description), group by state, Kiro group tasks and optional tasks, the progress line (tasks and
 * checks apart, the same everywhere), problem counts per task and per plan; and the editor side:
 * complete/reset tick the markdown box (undoably), CodeLens only on the title and phase headings,
 * task actions as code actions.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { PlanOrchestratorApi } from '../../../src/vscode/extension.js';
import type { PlanTreeNode } from '../../../src/vscode/planTree.js';
import { api, root, until } from './helpers.js';

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

async function rows(a: PlanOrchestratorApi, node?: PlanTreeNode): Promise<Array<{ node: PlanTreeNode; item: vscode.TreeItem }>> {
  return (await a.tree.getChildren(node)).map((n) => ({ node: n, item: a.tree.getTreeItem(n) }));
}

async function row(a: PlanOrchestratorApi, parent: PlanTreeNode | undefined, prefix: string): Promise<{ node: PlanTreeNode; item: vscode.TreeItem }> {
  const all = await rows(a, parent);
  const hit = all.find((r) => label(r.item).startsWith(prefix));
  assert.ok(hit, `no row starting with "${prefix}" in ${JSON.stringify(all.map((r) => label(r.item)))}`);
  return hit;
}

const alphaUri = (): vscode.Uri => vscode.Uri.file(path.join(root(), 'docs', 'plans', 'alpha.md'));
const kiroFile = (): string => path.join(root(), '.kiro', 'specs', 'store', 'tasks.md');

const KIRO = `# Implementation Plan

- [ ] 1. Set up the store
  - [ ] 1.1 Create the schema in \`src/store/schema.ts\`
  - [ ] 1.2 Write the migration in \`src/store/migrate.ts\`
- [ ]* 2. Write extra property tests for the store
- [ ] 3. Wire the store into the API in \`src/api/store.ts\`
`;

suite('Plans view: filter, groups and counts', () => {
  suiteSetup(async () => {
    await fs.mkdir(path.dirname(kiroFile()), { recursive: true });
    await fs.writeFile(kiroFile(), KIRO);
    // A file in folders made a moment ago can escape the file watcher (it watches what existed);
    // Refresh, as a user would, finds it by the plan globs.
    await (await api()).ready;
    await vscode.commands.executeCommand('planOrchestrator.refresh');
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('planOrchestrator.clearFilter');
    await vscode.commands.executeCommand('planOrchestrator.ungroup');
    await fs.rm(path.join(root(), '.kiro'), { recursive: true, force: true });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('a Kiro group lists its children under it, not as dependencies; an optional task says so and is not counted', async () => {
    const a = await api();
    const plan = await until('the Kiro plan in the tree', async () => (await rows(a)).find((r) => r.node.entry.uri.fsPath === kiroFile()));
    const top = await rows(a, plan.node);
    const group = top.find((r) => label(r.item).startsWith('1 '));
    assert.ok(group, JSON.stringify(top.map((r) => label(r.item))));
    assert.doesNotMatch(String(group.item.description), /⇠/, `the group's description: ${group.item.description}`);
    assert.deepEqual((await rows(a, group.node)).map((r) => label(r.item).split(' ')[0]), ['1.1', '1.2']);
    const optional = top.find((r) => label(r.item).startsWith('2 '))!;
    assert.match(String(optional.item.description), /\(optional\)/);
    assert.match(String(optional.item.contextValue), /\.optional/);
    // Tasks counted: 1.1, 1.2 and 3 (not the group, not the optional one); no VERIFY items.
    assert.match(String(plan.item.description), /^0\/3 tasks · 0%/);
  });

  test('progress counts tasks and shows VERIFY items apart, the same in the tree, the status bar and the phase CodeLens', async () => {
    const a = await api();
    const entry = a.workspace.get(alphaUri())!;
    // A plan is active once it has a status file (earlier suites write one; run alone, this does).
    if (!entry.status) await a.workspace.setTaskStatus(entry, '1.1', 'completed');
    const alpha = await until('the alpha row with a done task', async () => {
      const r = await row(a, undefined, 'Alpha Search');
      return /^[1-9]/.test(String(r.item.description)) ? r : undefined;
    });
    // Earlier suites add tasks and complete some: count what the plan has now.
    const tasks = a.workspace.get(alphaUri())!.analysis!.plan.tasks;
    const [n, checks] = [tasks.filter((t) => t.kind === 'task').length, tasks.filter((t) => t.kind === 'verify').length];
    assert.equal(checks, 2);
    const m = new RegExp(`^(\\d+)/${n} tasks · (\\d+)/2 checks · \\d+%`).exec(String(alpha.item.description));
    assert.ok(m, `plan row: ${alpha.item.description}`);
    const phase1 = await row(a, alpha.node, 'Phase 1');
    assert.match(String(phase1.item.description), /^\d+\/3 tasks · \d+\/1 check$/);
    // The Orchestrators view (and the dashboard, and the status bar's total) count alpha the same way.
    await a.orchestrators.model.refresh();
    const active = a.orchestrators.model.plans().find((p) => p.planFile === alphaUri().fsPath);
    assert.ok(active, 'alpha is active (it has a status file)');
    assert.deepEqual([active.done, active.total, active.checks.done, active.checks.total], [Number(m[1]), n, Number(m[2]), 2]);
    // With one active plan the status bar shows the pointed plan, with more their total.
    await a.workspace.setActivePlan(entry);
    const plans = a.orchestrators.model.plans();
    const [done, total] = [plans.reduce((x, p) => x + p.done, 0), plans.reduce((x, p) => x + p.total, 0)];
    await until(() => `the status bar with ${done}/${total}, got ${a.statusBar.text}`, () => a.statusBar.text.startsWith(`$(checklist) ${done}/${total}`));
    await vscode.workspace.openTextDocument(alphaUri());
    const lenses = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', alphaUri())) as vscode.CodeLens[];
    assert.ok(lenses.some((l) => l.command?.title.startsWith(String(phase1.item.description))), JSON.stringify(lenses.map((l) => l.command?.title)));
  });

  test('CodeLens only on the title and phase headings; Run, not Stop, while no orchestrator runs', async () => {
    await api();
    const doc = await vscode.workspace.openTextDocument(alphaUri());
    const lenses = (await vscode.commands.executeCommand('vscode.executeCodeLensProvider', alphaUri())) as vscode.CodeLens[];
    const lines = new Set(lenses.map((l) => doc.lineAt(l.range.start.line).text));
    for (const text of lines) assert.match(text, /^#/, `a CodeLens on a line that is not a heading: ${text}`);
    const titles = lenses.map((l) => l.command?.title ?? '');
    assert.ok(titles.some((t) => t.includes('Run orchestrator')), JSON.stringify(titles));
    assert.ok(!titles.some((t) => t.includes('Stop')), JSON.stringify(titles));
  });

  test('task actions are code actions on the task line; Complete is not offered on a blocked task', async () => {
    await api();
    const doc = await vscode.workspace.openTextDocument(alphaUri());
    const lineOf = (text: string): number => doc.getText().split('\n').findIndex((l) => l.includes(text));
    const actionsAt = async (line: number): Promise<string[]> =>
      ((await vscode.commands.executeCommand('vscode.executeCodeActionProvider', alphaUri(), new vscode.Range(line, 0, line, 0))) as vscode.CodeAction[]).map((c) => c.title);
    const blocked = await actionsAt(lineOf('2.2 Add the search endpoint'));
    assert.ok(blocked.includes('Run Task 2.2'), JSON.stringify(blocked));
    assert.ok(!blocked.some((t) => t.startsWith('Mark Task 2.2 Complete')), JSON.stringify(blocked));
    const ready = await actionsAt(lineOf('1.2 Add the index migration'));
    assert.ok(ready.includes('Mark Task 1.2 Complete'), JSON.stringify(ready));
  });

  test('filter by text and state: the view says so, only matching tasks (and their phases and plans) stay, Clear Filter brings all back', async () => {
    const a = await api();
    await vscode.commands.executeCommand('planOrchestrator.filterTasks', { text: 'migration', states: [] });
    assert.equal(a.planView.description, 'Filter: "migration"');
    const plans = await rows(a);
    const names = plans.map((r) => label(r.item));
    assert.ok(names.includes('Alpha Search') && names.includes('Implementation Plan') && !names.includes('Tasks: Beta Export'), `only plans with a match: ${JSON.stringify(names)}`);
    const kiro = plans.find((r) => label(r.item) === 'Implementation Plan')!;
    // A matching subtask keeps its group.
    const group = await row(a, kiro.node, '1 ');
    assert.deepEqual((await rows(a, group.node)).map((r) => label(r.item).split(' ')[0]), ['1.2']);
    const alpha = plans.find((r) => label(r.item) === 'Alpha Search')!;
    assert.deepEqual((await rows(a, alpha.node)).map((r) => label(r.item)), ['Phase 1: Index']);
    const phase1 = await row(a, alpha.node, 'Phase 1');
    assert.deepEqual((await rows(a, phase1.node)).map((r) => label(r.item).split(' ')[0]), ['1.2']);

    await vscode.commands.executeCommand('planOrchestrator.filterTasks', { text: '', states: ['blocked'] });
    assert.equal(a.planView.description, 'Filter: blocked');
    const alphaBlocked = await row(a, undefined, 'Alpha Search');
    const phase2 = await row(a, alphaBlocked.node, 'Phase 2');
    for (const r of await rows(a, phase2.node)) assert.equal((r.item.iconPath as vscode.ThemeIcon).id, 'lock-small', label(r.item));

    await vscode.commands.executeCommand('planOrchestrator.filterTasks', { text: 'no task says this', states: [] });
    assert.deepEqual(await rows(a), []);
    assert.match(String(a.planView.message), /No tasks match/);

    await vscode.commands.executeCommand('planOrchestrator.clearFilter');
    assert.equal(a.planView.description, undefined);
    assert.equal(a.planView.message, undefined);
    assert.ok((await rows(a)).length >= 3);
  });

  test('group by state: Running, Failed, Ready, Blocked, Done under each plan, with counts', async () => {
    const a = await api();
    await vscode.commands.executeCommand('planOrchestrator.groupByState');
    try {
      const alpha = await row(a, undefined, 'Alpha Search');
      const groups = await rows(a, alpha.node);
      const names = groups.map((r) => label(r.item));
      const order = ['Running', 'Failed', 'Ready', 'Blocked', 'Done'];
      assert.deepEqual(names, order.filter((n) => names.includes(n)), 'in this order');
      assert.ok(names.includes('Ready') && names.includes('Blocked'), JSON.stringify(names));
      const blocked = groups.find((r) => label(r.item) === 'Blocked')!;
      const members = await rows(a, blocked.node);
      assert.equal(String(blocked.item.description), String(members.length));
      assert.ok(members.every((r) => /^task\.blocked/.test(String(r.item.contextValue))), JSON.stringify(members.map((r) => r.item.contextValue)));
      // A grouped row finds its way back to its group (reveal, focus).
      assert.equal(a.tree.getParent(members[0]!.node)?.key, blocked.node.key);
    } finally {
      await vscode.commands.executeCommand('planOrchestrator.ungroup');
    }
    const alpha = await row(a, undefined, 'Alpha Search');
    assert.deepEqual((await rows(a, alpha.node)).map((r) => label(r.item)), ['Phase 1: Index', 'Phase 2: Query']);
  });

  test('a task with an error on its lines shows the count; the plan tooltip counts what the file badge counts', async () => {
    const a = await api();
    const file = alphaUri().fsPath;
    const before = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, before.replace('(depends: 2.1, 1.2)', '(depends: 2.1, 1.2, 9.9)'));
    try {
      const t22 = await until('2.2 with its error', async () => {
        const alpha = await row(a, undefined, 'Alpha Search');
        const phase2 = await row(a, alpha.node, 'Phase 2');
        const r = await row(a, phase2.node, '2.2');
        return /1 error/.test(String(r.item.description)) ? r : undefined;
      }, 5000);
      assert.equal(t22.item.resourceUri?.scheme, 'plan-task', 'the row carries the problem badge');
      const all = vscode.languages.getDiagnostics(alphaUri()).filter((d) => d.severity <= vscode.DiagnosticSeverity.Warning);
      const alpha = await row(a, undefined, 'Alpha Search');
      const tooltip = (alpha.item.tooltip as vscode.MarkdownString).value;
      const said = /(\d+) (?:problems?|errors?|warnings?)/.exec(tooltip);
      assert.ok(said, tooltip);
      assert.equal(Number(said[1]), all.length, `tooltip "${tooltip}" vs ${all.length} diagnostics`);
    } finally {
      await fs.writeFile(file, before);
    }
  });

  test('completing a task in the tree ticks its box in the markdown (undoable); resetting unticks it', async () => {
    const a = await api();
    const doc = await vscode.workspace.openTextDocument(alphaUri());
    await vscode.window.showTextDocument(doc);
    const alpha = await row(a, undefined, 'Alpha Search');
    const phase1 = await row(a, alpha.node, 'Phase 1');
    const t12 = await row(a, phase1.node, '1.2');
    await vscode.commands.executeCommand('planOrchestrator.completeTask', t12.node);
    await until(() => `1.2 ticked in the document: ${doc.getText().split('\n').find((l) => l.includes('1.2 '))} dirty=${doc.isDirty} closed=${doc.isClosed} status=${a.workspace.get(alphaUri())?.status?.tasks['1.2']?.status}`, () => /- \[x\] 1\.2 Add the index migration/.test(doc.getText()));
    assert.equal(doc.isDirty, false, 'saved, as it was before');
    assert.match(await fs.readFile(alphaUri().fsPath, 'utf8'), /- \[x\] 1\.2 /);
    await vscode.commands.executeCommand('planOrchestrator.resetTask', t12.node);
    await until('1.2 unticked', () => /- \[ \] 1\.2 Add the index migration/.test(doc.getText()));
    const status = JSON.parse(await fs.readFile(path.join(root(), 'docs', 'plan-outputs', 'alpha', 'status.json'), 'utf8'));
    assert.equal(status.tasks['1.2'].status, 'pending');
    // The tick is an ordinary edit: Undo takes the untick back.
    await vscode.commands.executeCommand('undo');
    await until('undo re-ticks 1.2', () => /- \[x\] 1\.2 /.test(doc.getText()));
    await vscode.commands.executeCommand('redo');
    await until('redo unticks it', () => /- \[ \] 1\.2 /.test(doc.getText()));
    await doc.save();
  });
});
