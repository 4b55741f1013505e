/**
 * Start Orchestrator through the real API: an integrated terminal named after the plan, running in
 * the plan's worktree, drives the simulated agent through the plan to the end.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { existsSync, promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { api, root, until } from './helpers.js';

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Plan Orchestrator Tests', '-c', 'user.email=tests@plan-orchestrator.invalid', ...args], { cwd, encoding: 'utf8' });
}

suite('Orchestrator terminal', () => {
  test('the start command opens a terminal in the plan worktree and the plan progresses to the end', async function () {
    this.timeout(60_000);
    await api();
    const ext = vscode.extensions.getExtension('plan-orchestrator.plan-orchestrator')!;
    const sim = path.join(ext.extensionPath, 'examples', 'sim-agent.mjs');
    assert.ok(existsSync(sim), sim);
    const plan = path.join(root(), 'docs', 'plans', 'epsilon.md');
    await fs.writeFile(
      plan,
      '# Implementation Plan: Epsilon\n\n## Phase 1: Build\n\n- [ ] 1.1 First part (est: 5m)\n- [ ] 1.2 Second part (est: 5m)\n- [ ] 1.3 Join them (depends: 1.1, 1.2) (est: 5m)\n',
    );
    git(root(), 'add', '-A');
    git(root(), 'commit', '-q', '-m', 'epsilon plan');
    const created = (await vscode.commands.executeCommand('planOrchestrator.worktree.create', vscode.Uri.file(plan))) as { path: string } | undefined;
    assert.ok(created);
    await vscode.workspace
      .getConfiguration('planOrchestrator')
      .update('agentCommand', [process.execPath, sim, '--id', '{id}', '--title', '{title}', '--estimate', '{estimate}'], vscode.ConfigurationTarget.Workspace);

    const terminal = (await vscode.commands.executeCommand('planOrchestrator.startOrchestrator', vscode.Uri.file(plan))) as vscode.Terminal | undefined;
    assert.ok(terminal, 'a terminal was returned');
    assert.equal(terminal.name, 'Plan: Epsilon');
    const a = await api();
    // While it runs, a second start focuses the same terminal instead of starting another orchestrator.
    const during = await vscode.commands.executeCommand('planOrchestrator.startOrchestrator', vscode.Uri.file(plan));
    if (a.orchestratorRun(terminal)?.outcome === undefined) assert.equal(during, terminal);
    const run = a.orchestratorRun(terminal)!;
    assert.ok(run, 'the terminal shows an orchestrator run');
    assert.equal(run.spec.cwd, created.path);
    assert.equal(run.spec.env.CLAUDE_WORKTREE, created.path);
    assert.equal(run.spec.env.PLAN_FILE, path.join(created.path, 'docs', 'plans', 'epsilon.md'));

    const statusFile = path.join(created.path, 'docs', 'plan-outputs', 'epsilon', 'status.json');
    const status = await until(
      'every task of epsilon completed in the worktree',
      async () => {
        try {
          const s = JSON.parse(await fs.readFile(statusFile, 'utf8'));
          return ['1.1', '1.2', '1.3'].every((id) => s.tasks[id]?.status === 'completed') ? s : undefined;
        } catch {
          return undefined;
        }
      },
      45_000,
    );
    assert.ok(status.tasks['1.3'].startedAt >= status.tasks['1.1'].completedAt, '1.3 started after 1.1 completed');
    assert.match(git(created.path, 'log', '--format=%s', '-5'), /task 1\.3: Join them/);
    // The run's terminal stays open with its output, and says how the run ended.
    const outcome = await until('the run to end', () => a.orchestratorRun(terminal)?.outcome, 20_000);
    assert.equal(outcome.kind, 'done');
    assert.match(outcome.summary, /^3 done, 0 failed/);
    assert.equal(terminal.exitStatus, undefined, 'the terminal is still open');
    // One truth: the Plans view shows the worktree's progress, and where the plan runs.
    const row = await until(
      'the Epsilon row with the worktree progress',
      async () => {
        for (const n of await a.tree.getChildren()) {
          const item = a.tree.getTreeItem(n);
          if (item.label === 'Epsilon' && /^3\/3 tasks · 100% · ⎇ plan\/epsilon/.test(String(item.description))) return item;
        }
        return undefined;
      },
      10_000,
    );
    assert.ok(row);
    // After the end, Start opens a new run (its terminal) and leaves the finished one for reading.
    const again = await vscode.commands.executeCommand('planOrchestrator.startOrchestrator', vscode.Uri.file(plan));
    assert.ok(again && again !== terminal);
  });

  test('with planOrchestrator.queue.url the run goes to the queue: a Redis that does not answer is said at once; a password in the setting is refused', async function () {
    this.timeout(60_000);
    const a = await api();
    const plan = path.join(root(), 'docs', 'plans', 'queued.md');
    await fs.writeFile(plan, '# Implementation Plan: Queued\n\n## Phase 1: Build\n\n- [ ] 1.1 Only part (est: 5m)\n');
    git(root(), 'add', '-A');
    git(root(), 'commit', '-q', '-m', 'queued plan');
    const config = vscode.workspace.getConfiguration('planOrchestrator');
    // A port nothing listens on (the free port a moment ago).
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    try {
      await config.update('queue.url', 'redis://:hunter2@127.0.0.1:6379', vscode.ConfigurationTarget.Workspace);
      const refused = await vscode.commands.executeCommand('planOrchestrator.startOrchestrator', vscode.Uri.file(plan), { runHere: true, approveCommands: true, allowDirty: true });
      assert.equal(refused, undefined, 'no terminal for a URL with a password');

      await config.update('queue.url', `redis://127.0.0.1:${port}`, vscode.ConfigurationTarget.Workspace);
      const terminal = (await vscode.commands.executeCommand('planOrchestrator.startOrchestrator', vscode.Uri.file(plan), { runHere: true, approveCommands: true, allowDirty: true })) as vscode.Terminal | undefined;
      assert.ok(terminal, 'a terminal was returned');
      const run = a.orchestratorRun(terminal)!;
      const at = run.spec.args.indexOf('--queue');
      assert.deepEqual(run.spec.args.slice(at, at + 4), ['--queue', `redis://127.0.0.1:${port}`, '--remote', 'origin']);
      assert.ok(!run.spec.args.some((x) => /hunter2/.test(x)));
      const outcome = await until('the run to end', () => run.outcome, 30_000);
      assert.equal(outcome.kind, 'refused');
      assert.match(outcome.summary, new RegExp(`nothing answers at 127\\.0\\.0\\.1:${port}`));
    } finally {
      await config.update('queue.url', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
