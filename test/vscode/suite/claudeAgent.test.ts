/**
 * Start Orchestrator with the default agent settings runs the real Claude Code CLI (installed by
 * scripts/install-agent-clis.sh) against a scripted Anthropic API served from this test; the Plans
 * view shows each task's live activity while its agent works, then its final state.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import os from 'node:os';
import path from 'node:path';
import { existsSync, promises as fs } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { PlanOrchestratorApi } from '../../../src/vscode/extension.js';
import type { PlanTreeNode } from '../../../src/vscode/planTree.js';
import { startScriptedAnthropic, taskIdOf } from '../../agents/scriptedAnthropic.js';
import { api, root, until } from './helpers.js';

const CLAUDE_VERSION = '2.1.197';

function claudeBinary(): string | undefined {
  const cache = process.env.PLAN_ORCHESTRATOR_CACHE ?? path.join(os.homedir(), '.cache', 'plan-orchestrator');
  const base = path.join(cache, `claude-code-${CLAUDE_VERSION}`, 'node_modules', '@anthropic-ai');
  return [path.join(base, 'claude-code', 'bin', 'claude.exe'), path.join(base, `claude-code-${process.platform}-${process.arch}`, 'claude')].find((c) => existsSync(c));
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Plan Orchestrator Tests', '-c', 'user.email=tests@plan-orchestrator.invalid', ...args], { cwd, encoding: 'utf8' });
}

const label = (item: vscode.TreeItem): string => (typeof item.label === 'string' ? item.label : (item.label?.label ?? ''));

async function taskRow(a: PlanOrchestratorApi, planTitle: string, id: string): Promise<vscode.TreeItem | undefined> {
  const node = await taskNode(a, planTitle, id);
  return node ? a.tree.getTreeItem(node) : undefined;
}

async function taskNode(a: PlanOrchestratorApi, planTitle: string, id: string): Promise<PlanTreeNode | undefined> {
  const plan = (await a.tree.getChildren()).find((n) => label(a.tree.getTreeItem(n)) === planTitle);
  if (!plan) return undefined;
  const stack: PlanTreeNode[] = [...(await a.tree.getChildren(plan))];
  while (stack.length > 0) {
    const n = stack.shift()!;
    const item = a.tree.getTreeItem(n);
    if (n.kind === 'task' && label(item).startsWith(`${id} `)) return n;
    stack.push(...(await a.tree.getChildren(n)));
  }
  return undefined;
}

suite('Orchestrator with the real Claude Code CLI', () => {
  test('Start Orchestrator runs Claude Code; the tree shows live activity, then the outcome', async function () {
    const claude = claudeBinary();
    if (!claude) {
      console.log('skipped: Claude Code is not installed (bash scripts/install-agent-clis.sh)');
      this.skip();
    }
    this.timeout(90_000);
    const a = await api();
    // 1.1's agent stays on its second turn until the test has seen its activity in the tree.
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const server = await startScriptedAnthropic(async (ctx) => {
      const id = taskIdOf(ctx.prompt)!;
      const worktree = /Work only inside (\S+) and only/.exec(ctx.prompt)![1]!;
      if (ctx.turn === 0) return { content: [{ type: 'tool_use', name: 'Write', input: { file_path: path.join(worktree, `zeta-${id}.txt`), content: `task ${id}\n` } }] };
      if (id === '1.1') await firstHeld;
      if (id === '1.2') return { error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } };
      return { content: [{ type: 'text', text: `Task ${id} is done.` }] };
    });
    const bin = await fs.mkdtemp(path.join(os.tmpdir(), 'plan-claude-bin-'));
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'plan-claude-home-'));
    await fs.symlink(claude!, path.join(bin, 'claude'));
    const oldPath = process.env.PATH;
    const terminalConfig = vscode.workspace.getConfiguration('terminal.integrated');
    const config = vscode.workspace.getConfiguration('planOrchestrator');
    try {
      // The orchestrator's PATH is built from the extension host's; the rest reaches it through the
      // user-facing setting for terminal environments.
      process.env.PATH = `${bin}${path.delimiter}${oldPath ?? ''}`;
      await terminalConfig.update(
        'env.linux',
        { ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'test', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1', CLAUDE_CODE_MAX_RETRIES: '0', HOME: home },
        vscode.ConfigurationTarget.Workspace,
      );
      // The default agent settings: nothing set (another suite may have set a command agent).
      await config.update('agentCommand', undefined, vscode.ConfigurationTarget.Workspace);
      await config.update('agent.kind', undefined, vscode.ConfigurationTarget.Workspace);

      const plan = path.join(root(), 'docs', 'plans', 'zeta.md');
      await fs.writeFile(plan, '# Implementation Plan: Zeta\n\n## Phase 1: Build\n\n- [ ] 1.1 Write the first file\n- [ ] 1.2 Write the second file\n- [ ] 1.3 Join them (depends: 1.1)\n');
      git(root(), 'add', '-A');
      git(root(), 'commit', '-q', '-m', 'zeta plan');
      await until('the zeta plan in the tree', () => taskRow(a, 'Zeta', '1.1'), 10_000);

      // "Run Here", as picked in the run flow's question (the plan has no worktree).
      const terminal = (await vscode.commands.executeCommand('planOrchestrator.startOrchestrator', vscode.Uri.file(plan), { runHere: true })) as vscode.Terminal | undefined;
      assert.ok(terminal, 'a terminal was started');

      const running = await until(
        () => `1.1 shown running with its agent's latest action`,
        async () => {
          const row = await taskRow(a, 'Zeta', '1.1');
          return row && /^running · Write zeta-1\.1\.txt · turn 1/.test(String(row.description)) ? row : undefined;
        },
        45_000,
      );
      assert.equal((running.iconPath as vscode.ThemeIcon).id, 'sync~spin');
      releaseFirst();

      const failed = await until(
        '1.2 shown failed with the API error',
        async () => {
          const row = await taskRow(a, 'Zeta', '1.2');
          return row && String(row.description).startsWith('failed · API error 529 (overloaded)') ? row : undefined;
        },
        45_000,
      );
      assert.ok(failed.tooltip instanceof vscode.MarkdownString && failed.tooltip.value.includes('Last error: API error 529'), 'the reason is in the tooltip');
      assert.equal(failed.contextValue, 'task.failed.log', 'a failed task offers Retry and Open Agent Log');
      const node = await taskNode(a, 'Zeta', '1.2');
      await vscode.commands.executeCommand('planOrchestrator.openTaskLog', node);
      const logDoc = vscode.window.activeTextEditor?.document;
      assert.ok(logDoc && logDoc.uri.fsPath.endsWith(path.join('docs', 'plan-outputs', 'zeta', 'logs', '1.2.log')), `the log is open: ${logDoc?.uri.fsPath}`);
      assert.match(logDoc.getText(), /"api_error_status":529/);
      // Show Agent Output: the same log, read through the agent's reader, in a document that follows it.
      const output = (await vscode.commands.executeCommand('planOrchestrator.showAgentOutput', node)) as vscode.TextEditor | undefined;
      assert.ok(output, 'the agent output is shown');
      assert.equal(output.document.uri.scheme, 'plan-agent-output');
      assert.match(output.document.getText(), /■ ended with an error/);
      assert.doesNotMatch(output.document.getText(), /^\{"type"/m, 'no raw JSON events');
      const done = await until(
        '1.3 shown done',
        async () => {
          const row = await taskRow(a, 'Zeta', '1.3');
          return row && String(row.description).startsWith('done') ? row : undefined;
        },
        45_000,
      );
      assert.ok(done.tooltip instanceof vscode.MarkdownString && /Agent: claude/.test(done.tooltip.value), 'the tooltip names the agent');
      const log = git(root(), 'log', '--format=%s', '-4');
      assert.match(log, /task 1\.1: Write the first file/);
      assert.match(log, /task 1\.3: Join them/);
      assert.doesNotMatch(log, /task 1\.2/, 'the failed task committed nothing');
    } finally {
      releaseFirst();
      process.env.PATH = oldPath;
      await terminalConfig.update('env.linux', undefined, vscode.ConfigurationTarget.Workspace);
      await server.close();
    }
  });
});
