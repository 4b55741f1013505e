/**
 * Show Schedule through the real VS Code API: the command opens one webview panel per plan, the
 * panel holds the simulation it posted, and a click on a bar (its message) reveals the task.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import type { PlanOrchestratorApi } from '../../../src/vscode/extension.js';
import type { ScheduleApi } from '../../../src/vscode/scheduleView.js';
import { until } from './helpers.js';

const VIEW_TYPE = 'planOrchestrator.schedule';

async function api(): Promise<{ a: PlanOrchestratorApi; schedule: ScheduleApi }> {
  const ext = vscode.extensions.getExtension<PlanOrchestratorApi>('plan-orchestrator.plan-orchestrator');
  assert.ok(ext, 'extension installed');
  const a = await ext.activate();
  assert.ok(a, 'activation returned the API');
  await a.ready;
  // The suite is bundled apart from the extension: the panel registry is reached through the API.
  const schedule = (a as PlanOrchestratorApi & { schedule?: ScheduleApi }).schedule;
  assert.ok(schedule, 'PlanOrchestratorApi.schedule (scheduleApi from scheduleView.ts) is not exported by activate()');
  return { a, schedule };
}


// VS Code reports the view type with a prefix (`mainThreadWebview-…`).
const isScheduleTab = (t: vscode.Tab): boolean => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(VIEW_TYPE);

function scheduleTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter(isScheduleTab);
}

const alphaUri = (): vscode.Uri => vscode.Uri.file(path.join(vscode.workspace.workspaceFolders![0]!.uri.fsPath, 'docs', 'plans', 'alpha.md'));

suite('Show Schedule', () => {
  // Later suites expect the workbench as they found it: no chart, no plan editor left open.
  suiteTeardown(async () => {
    const opened = vscode.window.tabGroups.all
      .flatMap((g) => g.tabs)
      .filter((t) => isScheduleTab(t) || (t.input instanceof vscode.TabInputText && t.input.uri.fsPath === alphaUri().fsPath));
    if (opened.length > 0) await vscode.window.tabGroups.close(opened);
  });

  test('opens a Gantt panel titled after the plan, holding the simulation it posted', async () => {
    const { schedule } = await api();
    await vscode.commands.executeCommand('planOrchestrator.showSchedule', alphaUri());
    const tab = await until('a schedule tab', () => scheduleTabs().find((t) => t.label.startsWith('Schedule: ')));
    assert.equal(tab.label, 'Schedule: Alpha Search');
    const data = schedule.lastRendered(alphaUri());
    assert.ok(data, 'nothing rendered');
    assert.equal(data.error, undefined);
    const workers = vscode.workspace.getConfiguration('planOrchestrator').get<number>('simulateWorkers', 3);
    assert.equal(data.workers, workers);
    assert.equal(data.rows.filter((r) => r.worker !== null).length, workers);
    const ids = data.rows.flatMap((r) => r.bars.map((b) => b.id)).sort();
    assert.deepEqual(ids, ['1.1', '1.2', '1.3', '2.1', '2.2', 'V1.1', 'V2.1']);
    // 1.1 has 30m, the others the 60m default; VERIFY items have no estimate and no worker.
    const s = data.summary!;
    assert.equal(s.totalWork, 30 + 60 * 4);
    assert.ok(s.makespan >= s.lowerBound && s.makespan <= s.totalWork);
    assert.equal(s.speedup, s.totalWork / s.makespan);
    assert.ok(s.batchedMakespan !== null && s.batchedMakespan >= s.makespan);
    assert.ok(s.criticalPath.length > 0);
    const checks = data.rows.find((r) => r.worker === null)!;
    assert.ok(checks.bars.every((b) => b.milestone && b.kind === 'verify'));
  });

  test('running it again reveals the same panel instead of opening a second one', async () => {
    const { schedule } = await api();
    const panel = schedule.panelFor(alphaUri());
    assert.ok(panel);
    await vscode.commands.executeCommand('planOrchestrator.showSchedule', alphaUri());
    assert.equal(scheduleTabs().length, 1);
    assert.equal(schedule.panelFor(alphaUri()), panel);
  });

  test('the worker count from the webview re-runs the simulation (clamped to 1..32)', async () => {
    const { schedule } = await api();
    const panel = schedule.panelFor(alphaUri())!;
    await panel.handleMessage({ type: 'setWorkers', workers: 1 });
    const one = schedule.lastRendered(alphaUri())!;
    assert.equal(one.workers, 1);
    assert.equal(one.summary!.makespan, one.summary!.totalWork);
    assert.equal(one.summary!.speedup, 1);
    await panel.handleMessage({ type: 'setWorkers', workers: 500 });
    assert.equal(schedule.lastRendered(alphaUri())!.workers, 32);
    await panel.handleMessage({ type: 'setWorkers', workers: 3 });
  });

  test('a click on a bar reveals the task line in the plan', async () => {
    const { schedule } = await api();
    const panel = schedule.panelFor(alphaUri())!;
    await panel.handleMessage({ type: 'reveal', id: '1.3' });
    const editor = await until('the plan in an editor', () => {
      const e = vscode.window.activeTextEditor;
      return e && e.document.uri.fsPath === alphaUri().fsPath ? e : undefined;
    });
    const line = editor.document.lineAt(editor.selection.active.line).text;
    assert.match(line, /^- \[ \] 1\.3 Test the index/);
    assert.equal(editor.selection.active.character, 0);
    assert.ok(scheduleTabs().length === 1, 'the chart stays open beside the plan');
  });

  test('an edit to the plan redraws the open chart', async () => {
    const { schedule } = await api();
    const before = schedule.lastRendered(alphaUri())!;
    // Edited without showing it, so the chart keeps its column and stays visible.
    const doc = await vscode.workspace.openTextDocument(alphaUri());
    const replace = async (from: string, to: string): Promise<void> => {
      const at = doc.getText().indexOf(from);
      assert.ok(at > 0, `"${from}" not in the plan`);
      const edit = new vscode.WorkspaceEdit();
      edit.replace(doc.uri, new vscode.Range(doc.positionAt(at), doc.positionAt(at + from.length)), to);
      assert.ok(await vscode.workspace.applyEdit(edit));
    };
    await replace('(est: 30m)', '(est: 5h)');
    try {
      const after = await until('a redraw with the new estimate', () => {
        const d = schedule.lastRendered(alphaUri());
        return d && d !== before && d.summary && d.summary.totalWork === 300 + 60 * 4 ? d : undefined;
      });
      assert.ok(after.summary!.criticalPath.includes('1.1'), 'a 5h task at the start of the plan is critical');
    } finally {
      await replace('(est: 5h)', '(est: 30m)');
      await doc.save();
    }
  });
});
