/**
 * The Orchestrators view, the aggregate dashboard and the status bar total, through the real API:
 * two plan worktrees with status written as an orchestrator would, read back across worktrees.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { api, root, until } from './helpers.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Plan Orchestrator Tests', '-c', 'user.email=tests@plan-orchestrator.invalid', ...args], { cwd, encoding: 'utf8' });
}

const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();

function record(status: string, history: Array<[string, string]>, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { status, updatedAt: history.at(-1)![1], attempts: 1, history: history.map(([s, at]) => ({ status: s, at })), ...extra };
}

suite('Dashboard', () => {
  const made: string[] = [];

  suiteTeardown(async () => {
    // Later suites count plans and worktrees: leave the workspace as we found it.
    for (const dir of made) {
      try {
        git(root(), 'worktree', 'remove', '--force', dir);
      } catch {
        // already gone
      }
    }
    for (const name of ['zeta', 'eta']) await fs.rm(path.join(root(), 'docs', 'plans', `${name}.md`), { force: true });
  });

  test('the Orchestrators view and the dashboard show plan worktrees with progress and activity', async function () {
    this.timeout(45_000);
    const a = await api();
    const plans = { zeta: 'Zeta', eta: 'Eta' } as const;
    for (const [name, title] of Object.entries(plans)) {
      await fs.writeFile(
        path.join(root(), 'docs', 'plans', `${name}.md`),
        `# Implementation Plan: ${title}\n\n## Phase 1: Build\n\n- [ ] 1.1 First part (est: 5m)\n- [ ] 1.2 Second part (est: 5m)\n- [ ] 1.3 Third part, described at such length that it would wrap over several lines of a narrow card and push the rest of the page down (est: 5m)\n- [ ] 1.4 Join them (depends: 1.1, 1.2, 1.3) (est: 5m)\n`,
      );
    }
    git(root(), 'add', '-A');
    if (git(root(), 'status', '--porcelain').trim()) git(root(), 'commit', '-q', '-m', 'dashboard plans');
    await until('the new plans in the workspace', () => ['zeta', 'eta'].every((n) => a.workspace.plans().some((p) => p.uri.fsPath.endsWith(`${n}.md`))), 10_000);

    const worktreeOf: Record<string, string> = {};
    for (const name of Object.keys(plans)) {
      const created = (await vscode.commands.executeCommand('planOrchestrator.worktree.create', vscode.Uri.file(path.join(root(), 'docs', 'plans', `${name}.md`)))) as
        | { path: string }
        | undefined;
      assert.ok(created, `worktree for ${name}`);
      made.push(created.path);
      worktreeOf[name] = created.path;
    }

    // Zeta: 1.1 done, 1.2 running for about 90 s, 1.3 failed. Eta: 1.1 done.
    const write = async (name: string, tasks: Record<string, unknown>): Promise<void> => {
      const dir = path.join(worktreeOf[name]!, 'docs', 'plan-outputs', name);
      await fs.mkdir(dir, { recursive: true });
      const status = { schemaVersion: 1, plan: `docs/plans/${name}.md`, version: 3, updatedAt: new Date().toISOString(), tasks };
      await fs.writeFile(path.join(dir, 'status.json'), JSON.stringify(status, null, 2));
    };
    await write('zeta', {
      '1.1': record('completed', [['in_progress', ago(300_000)], ['completed', ago(200_000)]], { startedAt: ago(300_000), completedAt: ago(200_000) }),
      '1.2': record('in_progress', [['in_progress', ago(90_000)]], { startedAt: ago(90_000) }),
      '1.3': record('failed', [['in_progress', ago(60_000)], ['failed', ago(1_000)]], { startedAt: ago(60_000), lastError: 'exit code 1' }),
    });
    await write('eta', { '1.1': record('completed', [['in_progress', ago(100_000)], ['completed', ago(50_000)]], { startedAt: ago(100_000) }) });

    await a.worktrees.refresh();
    await a.orchestrators.model.refresh();
    const zetaRow = await until(
      () => `zeta in the Orchestrators view: ${JSON.stringify(a.orchestrators.getChildren().map((n) => a.orchestrators.getTreeItem(n).label))}`,
      async () => {
        await a.orchestrators.model.refresh();
        return a.orchestrators.getChildren().find((n) => (n.kind === 'worktree' || n.kind === 'plan') && n.plan.name === 'zeta' && n.plan.done === 1);
      },
      10_000,
    );
    // The row is what Start/Stop Orchestrator take: a worktree row.
    assert.equal(zetaRow.kind, 'worktree');
    const item = a.orchestrators.getTreeItem(zetaRow);
    assert.equal(item.label, 'Zeta');
    assert.match(String(item.description), /^1\/4 \(25%\) · 1 running · 1 failed · plan\/zeta/);
    const kids = a.orchestrators.getChildren(zetaRow).map((n) => a.orchestrators.getTreeItem(n));
    assert.deepEqual(
      kids.map((k) => String(k.label).split(',')[0]),
      ['1.2 Second part', '1.3 Third part'],
    );
    assert.match(String(kids[0]!.description), /^running \d+m \d\ds$/);
    assert.equal(kids[1]!.description, 'failed: exit code 1');

    // The status bar totals every active plan once there is more than one.
    await until(() => `the status bar total, got "${a.statusBar.text}"`, () => /\$\(checklist\) \d+\/\d+ · \d+ plans/.test(a.statusBar.text), 5000);
    const n = a.orchestrators.model.plans().length;
    const sumDone = a.orchestrators.model.plans().reduce((s, p) => s + p.done, 0);
    const sumTotal = a.orchestrators.model.plans().reduce((s, p) => s + p.total, 0);
    assert.ok(a.statusBar.text.startsWith(`$(checklist) ${sumDone}/${sumTotal} · ${n} plans`), a.statusBar.text);

    await vscode.commands.executeCommand('planOrchestrator.showDashboard');
    const tab = await until('the dashboard tab', () =>
      vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Plan Dashboard' && t.input instanceof vscode.TabInputWebview),
    );
    assert.ok(tab);
    const data = await until('dashboard data with zeta', () => {
      const d = a.lastDashboardData();
      return d?.plans.some((p) => p.name === 'zeta') ? d : undefined;
    });
    const zeta = data.plans.find((p) => p.name === 'zeta')!;
    assert.equal(zeta.done, 1);
    assert.equal(zeta.total, 4);
    assert.equal(zeta.branch, 'plan/zeta');
    assert.deepEqual(zeta.runningTasks.map((t) => t.id), ['1.2']);
    assert.deepEqual(zeta.failedTasks.map((t) => t.id), ['1.3']);
    assert.equal(zeta.orchestrator, undefined);
    assert.equal(data.total.plans, n);
    // Each plan has its own feed, newest first: zeta's failure heads zeta's, and eta's holds only eta's.
    assert.deepEqual(
      { id: zeta.activity[0]?.id, status: zeta.activity[0]?.status },
      { id: '1.3', status: 'failed' },
    );
    const eta = data.plans.find((p) => p.name === 'eta')!;
    assert.ok(eta.activity.length > 0 && eta.activity.every((e) => e.planTitle === 'Eta'), JSON.stringify(eta.activity));
    assert.ok(eta.activity.some((e) => e.id === '1.1' && e.status === 'completed'));
    // A paragraph-long title is one line in the feed and the task lists.
    const long = zeta.activity.find((e) => e.id === '1.3')!;
    assert.ok(!long.title.includes('\n') && long.title.length <= 80 && long.title.endsWith('…'), JSON.stringify(long.title));
    assert.ok(zeta.failedTasks[0]!.title.length <= 80, zeta.failedTasks[0]!.title);
    // "Start a plan…" lists every plan of the workspace, not only the active ones.
    const choices = data.workspacePlans.map((p) => p.title);
    for (const title of ['Alpha Search', 'Tasks: Beta Export', 'Zeta', 'Eta']) assert.ok(choices.includes(title), JSON.stringify(choices));
    // A plan the workspace does not know is not started, whatever the page says.
    assert.equal(await a.dashboardPanel()!.handleMessage({ type: 'startPlan', file: path.join(root(), 'nowhere.md') }), undefined);

    // A change to a worktree's status file reaches the page without a command.
    await write('eta', {
      '1.1': record('completed', [['in_progress', ago(100_000)], ['completed', ago(50_000)]]),
      '1.2': record('completed', [['in_progress', ago(20_000)], ['completed', ago(500)]]),
    });
    const updated = await until(
      'eta 2/4 on the dashboard',
      () => a.lastDashboardData()?.plans.find((p) => p.name === 'eta' && p.done === 2),
      10_000,
    );
    assert.equal(updated.percent, 50);
    await until("eta's newest activity first", () => a.lastDashboardData()?.plans.find((p) => p.name === 'eta')?.activity[0]?.id === '1.2');

    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
