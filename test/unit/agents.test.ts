/**
 * The agent layer's pure parts: reading Claude Code's and Codex's output lines (shapes recorded from
 * Claude Code 2.1.197 and Codex 0.171.0 runs), the outcome rules, settings, the prompt, commit scoping.
 * The same adapters run against the real CLIs in test/agents/.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { claudeAdapter, describeToolInput } from '../../src/run/agents/claude.js';
import { codexAdapter } from '../../src/run/agents/codex.js';
import { commandAdapter } from '../../src/run/agents/command.js';
import { resolveAgentSettings, requiresChanges, type AgentEvent, type AgentSettings } from '../../src/run/agents/index.js';
import { attributeChanges, changedSince, DEFAULT_SECRET_PATTERNS } from '../../src/run/taskChanges.js';
import { commitSubject } from '../../src/run/orchestrator.js';
import { DEFAULT_PROMPT_TEMPLATE, promptValues, renderPrompt } from '../../src/run/prompt.js';
import { analyzePlan } from '../../src/core/analyzer.js';
import { emptyStatus } from '../../src/core/status.js';
import { parseWorkflowConfig } from '../../src/core/workflowConfig.js';
import { checkToolRule } from '../../src/run/approvals.js';

const WT = '/work/repo';
const read = (adapter: typeof claudeAdapter, lines: unknown[]): AgentEvent[] => {
  const r = adapter.reader(WT);
  return lines.flatMap((l) => r.line(typeof l === 'string' ? l : JSON.stringify(l)));
};

const INIT = { type: 'system', subtype: 'init', session_id: 'f6b4616e-553b-4b99-b592-a038bf9e9447', model: 'claude-opus-4-8[1m]', permissionMode: 'acceptEdits' };
const BASH = { type: 'assistant', message: { id: 'msg_1', content: [{ type: 'tool_use', id: 'toolu_2', name: 'Bash', input: { command: 'make deploy-prod', description: 'deploy' } }] } };
const DENIED = { type: 'user', message: { role: 'user', content: [{ type: 'tool_result', content: 'This command requires approval', is_error: true, tool_use_id: 'toolu_2' }] } };
const RESULT_DENIED = {
  type: 'result', subtype: 'success', is_error: false, api_error_status: null, duration_ms: 113, num_turns: 2, result: 'I could not deploy.', total_cost_usd: 0.00035,
  usage: { input_tokens: 20, output_tokens: 10 }, permission_denials: [{ tool_name: 'Bash', tool_use_id: 'toolu_2', tool_input: { command: 'make deploy-prod', description: 'deploy' } }],
};

describe('Claude Code stream-json', () => {
  test('init gives the session; tool uses give the activity with paths relative to the worktree', () => {
    const events = read(claudeAdapter, [
      INIT,
      'not json: a hook printed this',
      { type: 'assistant', message: { id: 'msg_a', content: [{ type: 'text', text: 'Writing the cache.' }] } },
      { type: 'assistant', message: { id: 'msg_a', content: [{ type: 'tool_use', id: 't1', name: 'Write', input: { file_path: `${WT}/src/cache.ts`, content: 'x' } }] } },
      { type: 'assistant', message: { id: 'msg_b', content: [{ type: 'tool_use', id: 't2', name: 'Edit', input: { file_path: `${WT}/src/a.ts` } }] } },
    ]);
    assert.deepEqual(events[0], { type: 'session', sessionId: INIT.session_id, model: 'claude-opus-4-8[1m]' });
    assert.deepEqual(
      events.filter((e) => e.type === 'activity').map((e) => (e.type === 'activity' ? [e.text, e.turn, e.files] : [])),
      [
        ['Writing the cache.', 1, undefined],
        ['Write src/cache.ts', 1, [`${WT}/src/cache.ts`]],
        ['Edit src/a.ts', 2, [`${WT}/src/a.ts`]],
      ],
    );
  });

  test('a denied call exits 0 with is_error false: the verdict is a denial with the rule that would allow it, once', () => {
    const events = read(claudeAdapter, [INIT, BASH, DENIED, RESULT_DENIED]);
    const verdict = claudeAdapter.verdict({ code: 0, signal: null }, events);
    assert.deepEqual(verdict, { ok: false, reason: 'permission denied: Bash(make deploy-prod)', denials: [{ tool: 'Bash', input: 'make deploy-prod', rule: 'Bash(make deploy-prod)' }] });
    assert.ok(events.some((e) => e.type === 'cost' && e.costUsd === 0.00035));
  });

  test('API errors, the turn limit, a missing result and a bad exit each give their own reason', () => {
    const result = (extra: object) => ({ type: 'result', subtype: 'success', is_error: true, permission_denials: [], ...extra });
    const verdict = (lines: unknown[], code = 1) => claudeAdapter.verdict({ code, signal: null, lastLine: 'boom' }, read(claudeAdapter, lines));
    assert.deepEqual(verdict([result({ api_error_status: 529, result: 'API Error: 529 Overloaded.' })]), { ok: false, reason: 'API error 529 (overloaded)' });
    assert.deepEqual(verdict([result({ api_error_status: null, result: 'API Error: 500 Internal server error.' })]), { ok: false, reason: 'API error 500 (API internal error)' });
    assert.deepEqual(verdict([result({ subtype: 'error_max_turns', num_turns: 40, errors: ['Reached maximum number of turns (40)'] })]), { ok: false, reason: 'stopped at the turn limit (40 turns)' });
    assert.deepEqual(verdict([result({ subtype: 'error_during_execution', errors: ['No conversation found with session ID: x'] })]), { ok: false, reason: 'agent error: No conversation found with session ID: x' });
    assert.deepEqual(verdict([INIT]), { ok: false, reason: 'agent exited 1: boom' });
    assert.deepEqual(verdict([INIT], 0), { ok: false, reason: 'the agent ended without a result' });
    assert.deepEqual(verdict([{ type: 'result', subtype: 'success', is_error: false, permission_denials: [] }], 0), { ok: true });
  });

  test('launch: the prompt on stdin, acceptEdits, one --allowedTools= per rule, resume and model', () => {
    const settings: AgentSettings = { ...resolveAgentSettings({}, {}), model: 'claude-sonnet-4-5', maxTurns: 40, extraArgs: ['--verbose'] };
    const launch = claudeAdapter.launch({
      taskId: '1.1', title: 't', body: '', estimateMinutes: 60, planPath: '/p.md', worktree: WT, prompt: '# Task 1.1: t',
      allowedTools: ['Bash(npm test:*)', 'Bash(make deploy-prod)'], resumeSession: 'abc', settings,
    });
    assert.deepEqual(launch.argv, [
      'claude', '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits', '--model', 'claude-sonnet-4-5', '--max-turns', '40',
      '--resume', 'abc', '--allowedTools=Bash(npm test:*)', '--allowedTools=Bash(make deploy-prod)', '--verbose',
    ]);
    assert.equal(launch.stdin, '# Task 1.1: t');
  });

  test('tool inputs read as a person would', () => {
    assert.equal(describeToolInput('Bash', { command: 'npm test' }), 'npm test');
    assert.equal(describeToolInput('Read', { file_path: `${WT}/a/b.ts` }, WT), 'a/b.ts');
    assert.equal(describeToolInput('Read', { file_path: '/etc/passwd' }, WT), '/etc/passwd');
    assert.equal(describeToolInput('Grep', { pattern: 'TODO' }), 'TODO');
  });
});

describe('Codex JSONL', () => {
  test('thread, commands, file changes and usage; a rejected patch on stderr is a denial', () => {
    const r = codexAdapter.reader(WT);
    const events = [
      { type: 'thread.started', thread_id: '01a24855-7b31-7de3-b4a4-d3ba66f0604e' },
      { type: 'turn.started' },
      { type: 'item.started', item: { id: 'item_1', type: 'command_execution', command: "/bin/bash -lc 'npm test'", status: 'in_progress' } },
      { type: 'item.completed', item: { id: 'item_2', type: 'file_change', changes: [{ path: `${WT}/src/a.ts`, kind: 'add' }], status: 'completed' } },
      { type: 'turn.completed', usage: { input_tokens: 200, cached_input_tokens: 0, output_tokens: 20 } },
    ].flatMap((l) => r.line(JSON.stringify(l)));
    const denied = r.stderrLine!('2026-12-05T22:36:46.259199Z ERROR codex_core::tools::router: error=patch rejected: writing outside of the project; rejected by user approval settings');
    assert.deepEqual(events[0], { type: 'session', sessionId: '01a24855-7b31-7de3-b4a4-d3ba66f0604e' });
    assert.deepEqual(events.filter((e) => e.type === 'activity').map((e) => (e.type === 'activity' ? e.text : '')), ['Run npm test', 'Edit src/a.ts']);
    assert.deepEqual(codexAdapter.verdict({ code: 0, signal: null }, events), { ok: true });
    const v = codexAdapter.verdict({ code: 0, signal: null }, [...events, ...denied]);
    assert.equal(v.ok, false);
    assert.match(!v.ok ? v.reason : '', /^permission denied: apply_patch \(error=patch rejected: writing outside of the project/);
    assert.equal(!v.ok ? v.denials : 'x', undefined, 'Codex denials cannot be approved: no allow-list');
  });

  test('a failed turn carries the API status when Codex names it', () => {
    const r = codexAdapter.reader(WT);
    const events = r.line(JSON.stringify({ type: 'turn.failed', error: { message: 'exceeded retry limit, last status: 429 Too Many Requests' } }));
    assert.deepEqual(codexAdapter.verdict({ code: 1, signal: null }, events), { ok: false, reason: 'API error 429: exceeded retry limit, last status: 429 Too Many Requests' });
  });
});

describe('settings and rules', () => {
  test('defaults, git-workflow.json, then the caller; an argv alone means the command kind', () => {
    assert.deepEqual(resolveAgentSettings(undefined), { kind: 'claude', allowedTools: [], extraArgs: [], timeoutMinutes: 30, idleTimeoutMinutes: 15 });
    const s = resolveAgentSettings({ kind: 'codex', model: 'gpt-5.5', allowedTools: ['A'] }, { model: 'other', allowedTools: ['B'] });
    assert.equal(s.kind, 'codex');
    assert.equal(s.model, 'other');
    assert.deepEqual(s.allowedTools, ['A', 'B']);
    assert.equal(resolveAgentSettings({ kind: 'claude' }, { command: ['x'] }).kind, 'command');
    assert.throws(() => resolveAgentSettings({ kind: 'command' }), /needs an argv template/);
    assert.equal(requiresChanges(resolveAgentSettings(undefined)), true);
    assert.equal(requiresChanges(resolveAgentSettings(undefined, { command: ['x'] })), false);
    assert.equal(requiresChanges(resolveAgentSettings({ allowNoChanges: true })), false);
  });

  test('git-workflow.json agent keys are checked with the key named', () => {
    assert.throws(() => parseWorkflowConfig({ agent: { kind: 'gpt' } }, 'x'), /agent\.kind/);
    assert.throws(() => parseWorkflowConfig({ agent: { promptFile: '../outside.md' } }, 'x'), /agent\.promptFile: must not contain "\.\."/);
    assert.throws(() => parseWorkflowConfig({ agent: { timeout: 5 } }, 'x'), /agent/);
    assert.deepEqual(parseWorkflowConfig({ agent: { kind: 'codex', maxCostUsd: 3 } }, 'x').agent, { kind: 'codex', maxCostUsd: 3 });
  });

  test('approval rules are tool rules, not shell text', () => {
    assert.equal(checkToolRule('Bash(make:*)'), 'Bash(make:*)');
    assert.equal(checkToolRule('WebFetch'), 'WebFetch');
    assert.throws(() => checkToolRule('rm -rf /'), /not a tool rule/);
    assert.throws(() => checkToolRule('Bash(a) Bash(b)'), /not a tool rule/);
  });

  test('the command kind substitutes placeholders inside each argument', () => {
    const launch = commandAdapter.launch({
      taskId: '2.1', title: 'A "quoted" title; rm -rf /', body: '', estimateMinutes: 5, planPath: '/p.md', worktree: WT, prompt: 'p', allowedTools: [],
      settings: resolveAgentSettings(undefined, { command: ['agent', '--title', '{title}', '{id}:{estimate}'] }),
    });
    assert.deepEqual(launch.argv, ['agent', '--title', 'A "quoted" title; rm -rf /', '2.1:5']);
  });
});

describe('what a task commits', () => {
  test("only files changed during the task, not the user's, not another running task's, not secrets, not the orchestrator's", () => {
    const before = new Map([['mine-before.ts', ' M:10:1'], ['user.ts', ' M:5:1']]);
    const after = new Map([
      ['mine-before.ts', ' M:12:2'],
      ['user.ts', ' M:5:1'],
      ['src/new.ts', '??:3:3'],
      ['src/theirs.ts', '??:3:3'],
      ['.env', '??:9:3'],
      ['keys/id_ed25519', '??:9:3'],
      ['docs/plan-outputs/p/status.json', ' M:1:1'],
      ['docs/plan-outputs/p/findings/1.1-notes.md', '??:1:1'],
    ]);
    const changed = changedSince(before, after);
    const r = attributeChanges(changed, {
      preexisting: new Set(['mine-before.ts']),
      claimedByOthers: new Set(['src/theirs.ts']),
      orchestratorDirs: ['docs/plan-outputs/p'],
      taskDirs: ['docs/plan-outputs/p/findings'],
      secretPatterns: DEFAULT_SECRET_PATTERNS,
    });
    assert.deepEqual(r.commit, ['docs/plan-outputs/p/findings/1.1-notes.md', 'src/new.ts']);
    assert.deepEqual(r.leftOut.map((l) => `${l.path}:${l.why}`).sort(), ['.env:secret', 'keys/id_ed25519:secret', 'mine-before.ts:preexisting', 'src/theirs.ts:other-task']);
  });

  test('commit subjects fit 72 columns, cut at a word', () => {
    assert.equal(commitSubject({ id: '1.1', title: 'Short one' }), 'task 1.1: Short one');
    const long = commitSubject({ id: '4.1', title: 'Extend plan_orchestrator.py with worktree support: add --worktree flag, implement auto-detection from current directory, set working directory' });
    assert.ok(long.length <= 72, long);
    assert.match(long, /^task 4\.1: Extend plan_orchestrator\.py with worktree support: add\b.*…$/);
  });
});

describe('the prompt', () => {
  test('task, plan context, dependencies with their commits, VERIFY items, findings and rules', () => {
    const { plan, graph } = analyzePlan(
      '# Implementation Plan: Cache\n\n## Overview\n- **Objective:** Faster reads\n\n## Phase 1: Base\n- [ ] 1.1 Store in `src/store.ts`\n\n## Phase 2: Cache\n- [ ] 2.1 LRU in `src/lru.ts`\n  - evict the oldest\n\n**VERIFY Phase 2:**\n- [ ] `$ npm test` passes\n',
    );
    const status = emptyStatus('docs/plans/cache.md');
    status.tasks['1.1'] = { status: 'completed', updatedAt: '', attempts: 1, history: [], run: { commit: '0123456789abcdef0123' } };
    const task = plan.tasks.find((t) => t.id === '2.1')!;
    const text = renderPrompt(DEFAULT_PROMPT_TEMPLATE, promptValues({ plan, graph, task, planRelPath: 'docs/plans/cache.md', status, worktree: WT, findingsDir: `${WT}/docs/plan-outputs/cache/findings` }));
    assert.match(text, /^# Task 2\.1: LRU in src\/lru\.ts\n\nevict the oldest\n/);
    assert.match(text, /This task belongs to "Cache" \(docs\/plans\/cache\.md\), phase 2 \(Cache\)\.\nObjective: Faster reads/);
    assert.match(text, /## Files this task names\n- `src\/lru\.ts`/);
    assert.match(text, /## Done before this task\n- 1\.1 Store in src\/store\.ts \(completed, commit 0123456789ab\)/);
    assert.match(text, /## How this phase is verified\n- .*npm test.* passes/);
    assert.match(text, /`docs\/plan-outputs\/cache\/findings\/`/);
    assert.match(text, /Do not commit/);
  });
});
