/**
 * The dashboard model (src/run/events/dashboardModel.ts) that both hosts draw from: counts with
 * VERIFY items apart, the running and failed rows, the feed (newest first, one line each, at most
 * ACTIVITY_LIMIT), an unreadable plan, and the totals.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzePlan } from '../../src/core/analyzer.js';
import { emptyStatus, type StatusFile } from '../../src/core/status.js';
import { ACTIVITY_LIMIT, dashboardData, dashboardPlanOf, oneLine } from '../../src/run/events/dashboardModel.js';

const PLAN = `# Implementation Plan: Model

## Phase 1: Build
- [ ] 1.1 First
- [ ] 1.2 Second, a title that runs on across many words well past what one line of a card holds, and on
- [ ] 1.3 Third

### VERIFY 1
- [ ] \`npm test\` passes
`;

function status(tasks: Record<string, { status: string; history: Array<[string, string, string?]>; lastError?: string; run?: object }>): StatusFile {
  const s = emptyStatus('docs/plans/model.md');
  s.version = 3;
  for (const [id, t] of Object.entries(tasks)) {
    s.tasks[id] = {
      status: t.status,
      updatedAt: t.history.at(-1)![1],
      attempts: 1,
      history: t.history.map(([st, at, note]) => ({ status: st, at, ...(note ? { note } : {}) })),
      ...(t.lastError ? { lastError: t.lastError } : {}),
      ...(t.run ? { run: t.run } : {}),
    } as StatusFile['tasks'][string];
  }
  return s;
}

test('a card counts tasks and checks apart, lists running and failed tasks, and feeds the newest changes first', () => {
  const analysis = analyzePlan(PLAN);
  const s = status({
    '1.1': { status: 'completed', history: [['in_progress', '2026-01-01T10:00:00Z'], ['completed', '2026-01-01T10:05:00Z', 'done\nwith a second line']] },
    '1.2': { status: 'in_progress', history: [['in_progress', '2026-01-01T10:06:00Z']], run: { kind: 'claude', activity: 'Edit src/a.ts', costUsd: 0.25 } },
    '1.3': { status: 'failed', history: [['in_progress', '2026-01-01T10:01:00Z'], ['failed', '2026-01-01T10:07:00Z']], lastError: 'exit 1' },
  });
  const card = dashboardPlanOf({ key: 'model', name: 'model', where: 'main checkout', analysis, status: s, orchestrator: { pid: 42 } });
  assert.deepEqual([card.title, card.done, card.total, card.checks, card.running, card.failed, card.percent], ['Model', 1, 3, { done: 0, total: 1 }, 1, 1, 33]);
  assert.deepEqual(card.runningTasks, [{ id: '1.2', title: card.runningTasks[0]!.title, startedAt: undefined, activity: 'Edit src/a.ts', costUsd: 0.25, host: undefined }]);
  assert.ok(card.runningTasks[0]!.title.endsWith('…') && card.runningTasks[0]!.title.length <= 80);
  assert.deepEqual(card.failedTasks, [{ id: '1.3', title: 'Third', error: 'exit 1' }]);
  assert.deepEqual(card.orchestrator, { pid: 42, startedAt: undefined });
  assert.deepEqual(card.activity.map((a) => `${a.id} ${a.status}`), ['1.3 failed', '1.2 in_progress', '1.1 completed', '1.3 in_progress', '1.1 in_progress']);
  assert.equal(card.activity.find((a) => a.status === 'completed')!.note, 'done …');
});

test('the feed keeps the newest ACTIVITY_LIMIT changes; an unreadable plan is a card with its error and no counts', () => {
  const analysis = analyzePlan(PLAN);
  const history: Array<[string, string]> = Array.from({ length: ACTIVITY_LIMIT + 5 }, (_, i) => [i % 2 ? 'pending' : 'in_progress', `2026-01-01T10:${String(i).padStart(2, '0')}:00Z`]);
  const card = dashboardPlanOf({ key: 'model', name: 'model', where: 'x', analysis, status: status({ '1.1': { status: 'in_progress', history } }) });
  assert.equal(card.activity.length, ACTIVITY_LIMIT);
  assert.equal(card.activity[0]!.at, history.at(-1)![1]);
  const broken = dashboardPlanOf({ key: 'gone', name: 'gone', where: 'x', status: emptyStatus('docs/plans/gone.md'), error: 'cannot read it' });
  assert.deepEqual([broken.title, broken.total, broken.error, broken.activity], ['gone', 0, 'cannot read it', []]);
  const data = dashboardData([card, broken], { now: new Date('2026-01-01T11:00:00Z'), trusted: true, canOpen: false, workspacePlans: [] });
  assert.deepEqual(data.total, { done: 0, total: 3, running: 1, failed: 0, percent: 0, plans: 2 });
  assert.equal(data.now, '2026-01-01T11:00:00.000Z');
});

test('oneLine keeps the first line, collapses spaces and cuts at a word', () => {
  assert.equal(oneLine('  a   b  '), 'a b');
  assert.equal(oneLine('first\nsecond'), 'first …');
  assert.equal(oneLine('word '.repeat(30), 20), 'word word word…');
});
