/**
 * Live updates through the plan event stream the extension hosts: a status write by another process
 * (planctl, as an orchestrator or a user in a terminal makes it) reaches the Plans view and the
 * Orchestrators view through the stream's events, with no status polling or status file watcher of
 * the views' own; and the polling fallback still follows it when the stream is not running.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { PlanOrchestratorApi } from '../../../src/vscode/extension.js';
import type { PlanTreeNode } from '../../../src/vscode/planTree.js';
import type { EventMessage } from '../../../src/run/events/messages.js';
import { api, root, until } from './helpers.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Plan Orchestrator Tests', '-c', 'user.email=tests@plan-orchestrator.invalid', ...args], { cwd, encoding: 'utf8' });
}

/** planctl in its own process, as a terminal or an agent runs it. */
function planctl(cwd: string, ...args: string[]): void {
  const ext = vscode.extensions.getExtension('plan-orchestrator.plan-orchestrator')!;
  execFileSync(process.execPath, [path.join(ext.extensionPath, 'dist', 'planctl.mjs'), ...args], { cwd, encoding: 'utf8', stdio: 'pipe' });
}

function label(item: vscode.TreeItem): string {
  return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
}

/** The icon of a task row of the Plans view, under its plan and phase. */
async function taskIcon(a: PlanOrchestratorApi, planTitle: string, taskId: string): Promise<string | undefined> {
  const find = async (parent: PlanTreeNode | undefined, prefix: string): Promise<PlanTreeNode | undefined> =>
    (await a.tree.getChildren(parent)).find((n) => label(a.tree.getTreeItem(n)).startsWith(prefix));
  const plan = await find(undefined, planTitle);
  const phase = plan && (await find(plan, 'Phase 1'));
  const task = phase && (await find(phase, `${taskId} `));
  return task ? (a.tree.getTreeItem(task).iconPath as vscode.ThemeIcon | undefined)?.id : undefined;
}

/** The Orchestrators view's row of a plan, with its running tasks. */
function orchestratorsRow(a: PlanOrchestratorApi, name: string): { description: string; running: string[] } | undefined {
  const row = a.orchestrators.getChildren().find((n) => (n.kind === 'worktree' || n.kind === 'plan') && n.plan.name === name);
  if (!row) return undefined;
  const running = a.orchestrators.getChildren(row).flatMap((n) => (n.kind === 'task' && n.state === 'running' ? [n.task.id] : []));
  return { description: String(a.orchestrators.getTreeItem(row).description), running };
}

suite('Live updates', () => {
  const made: string[] = [];
  const planFile = (): string => path.join(root(), 'docs', 'plans', 'kappa.md');

  suiteTeardown(async () => {
    const a = await api();
    // Whatever a failure left behind: the stream runs again for the later suites.
    if (a.liveUpdates.mode !== 'stream') await a.liveUpdates.useStream();
    for (const dir of made) {
      try {
        git(root(), 'worktree', 'remove', '--force', dir);
      } catch {
        // already gone
      }
    }
    await fs.rm(planFile(), { force: true });
    await a.worktrees.refresh();
  });

  test('a status write by another process reaches the Plans view and the Orchestrators view through the stream, with no polling', async function () {
    this.timeout(60_000);
    const a = await api();
    await until(() => `the event stream to run (mode ${a.liveUpdates.mode})`, () => a.liveUpdates.mode === 'stream');
    assert.equal(a.workspace.statusFollowing, 'stream', 'the workspace follows status files through the stream only');
    const stream = a.liveUpdates.stream!;

    await fs.writeFile(planFile(), '# Implementation Plan: Kappa\n\n## Phase 1: Build\n\n- [ ] 1.1 First part (est: 5m)\n- [ ] 1.2 Second part (depends: 1.1) (est: 5m)\n');
    git(root(), 'add', '-A');
    git(root(), 'commit', '-q', '-m', 'kappa plan');
    const created = (await vscode.commands.executeCommand('planOrchestrator.worktree.create', vscode.Uri.file(planFile()))) as { path: string } | undefined;
    assert.ok(created, 'the worktree was created');
    made.push(created.path);
    const inWorktree = path.join(created.path, 'docs', 'plans', 'kappa.md');
    await until('the stream to watch the worktree plan', () => stream.planState(inWorktree));
    await until('the Plans view to show where kappa runs', () => a.workspace.get(vscode.Uri.file(planFile()))?.runsIn?.path === created.path);

    const events: EventMessage[] = [];
    const { snapshot, unsubscribe } = stream.subscribe((e) => events.push(e));
    try {
      planctl(created.path, 'start', '1.1', '--plan', inWorktree);
      let icon: string | undefined;
      await until(
        () => `1.1 running in the Plans view (icon ${icon})`,
        async () => (icon = await taskIcon(a, 'Kappa', '1.1')) === 'sync~spin',
      );
      const row = await until(
        () => `kappa running in the Orchestrators view: ${JSON.stringify(orchestratorsRow(a, 'kappa'))}`,
        () => {
          const r = orchestratorsRow(a, 'kappa');
          return r?.running.includes('1.1') ? r : undefined;
        },
      );
      assert.match(row.description, /^0\/2 \(0%\) · 1 running/);
      // It came as stream events: the task change, then the read's plan.status, numbered from the snapshot on.
      const started = events.find((e) => e.type === 'task' && e.task === '1.1' && e.status === 'in_progress');
      assert.ok(started, events.map((e) => e.type).join(' '));
      assert.ok(events.some((e) => e.type === 'plan.status' && e.seq > started.seq));
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_, i) => snapshot.seq + 1 + i),
      );
      assert.equal(a.workspace.statusFollowing, 'stream');

      planctl(created.path, 'complete', '1.1', '--plan', inWorktree);
      await until('1.1 done in the Plans view', async () => (await taskIcon(a, 'Kappa', '1.1')) === 'pass-filled');
      await until('kappa 1/2 in the Orchestrators view', () => orchestratorsRow(a, 'kappa')?.description.startsWith('1/2 (50%)'));
    } finally {
      unsubscribe();
    }
  });

  test('without the stream the views poll, and follow the same writes', async function () {
    this.timeout(60_000);
    const a = await api();
    const inWorktree = path.join(made[0]!, 'docs', 'plans', 'kappa.md');
    a.liveUpdates.usePolling('the test of the fallback');
    assert.equal(a.liveUpdates.mode, 'polling');
    assert.equal(a.liveUpdates.stream, undefined);
    assert.equal(a.workspace.statusFollowing, 'polling');
    try {
      planctl(made[0]!, 'start', '1.2', '--plan', inWorktree);
      await until('1.2 running in the Plans view', async () => (await taskIcon(a, 'Kappa', '1.2')) === 'sync~spin');
      await a.orchestrators.model.refresh();
      await until('1.2 running in the Orchestrators view', () => orchestratorsRow(a, 'kappa')?.running.includes('1.2'));
    } finally {
      assert.equal(await a.liveUpdates.useStream(), true);
    }
    assert.equal(a.workspace.statusFollowing, 'stream');
    planctl(made[0]!, 'complete', '1.2', '--plan', inWorktree);
    await until('1.2 done in the Plans view, through the stream again', async () => (await taskIcon(a, 'Kappa', '1.2')) === 'pass-filled');
  });
});
