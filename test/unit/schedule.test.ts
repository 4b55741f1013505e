import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzePlan, PlanAnalyzer } from '../../src/core/analyzer.js';
import { readyTasks, simulate, simulateBatched, nodeStates, waitingFor, type TaskStatus } from '../../src/core/schedule.js';
import { planProgress } from '../../src/core/progress.js';
import { generatePlan, generateSchedulingPlan } from '../../bench/generate.js';

const PLAN = `# Plan: Scheduling

## Phase 1: Base

- [ ] 1.1 Types in \`src/types.ts\` (est: 30m)
- [ ] 1.2 Schema in \`src/db.ts\` (est: 2h)
- [ ] 1.3 Service (depends: 1.1, 1.2) (est: 1h)
- [ ] 1.4 Helpers in \`src/types.ts\` (est: 20m)

**VERIFY Phase 1:**
- [ ] \`npm test\` passes

## Phase 2: API

- [ ] 2.1 Routes (est: 1h)
- [ ] 2.2 Docs (est: 10m)
`;

const lookup = (m: Record<string, TaskStatus>) => (id: string): TaskStatus | undefined => m[id];

test('next: longest remaining path first, and file conflicts are never offered together', () => {
  const { plan, graph } = analyzePlan(PLAN);
  const ready = readyTasks(plan, graph, lookup({}), 5);
  // 1.2 (2h + 1h after it) leads; 1.1 and 1.4 share src/types.ts so only the first of them is offered.
  assert.deepEqual(ready.map((t) => t.id), ['1.2', '1.1']);
  assert.equal(ready[0]!.priority, 240); // 1.2 → 1.3 → VERIFY → 2.1
});

test('next: a running task keeps conflicting tasks out; failed tasks come back for a retry', () => {
  const { plan, graph } = analyzePlan(PLAN);
  assert.deepEqual(readyTasks(plan, graph, lookup({ '1.1': 'in_progress' }), 5).map((t) => t.id), ['1.2']);
  const retry = readyTasks(plan, graph, lookup({ '1.1': 'failed' }), 5);
  assert.equal(retry.find((t) => t.id === '1.1')?.status, 'failed');
});

test('next: phase barrier, VERIFY gate and skipped tasks', () => {
  const { plan, graph } = analyzePlan(PLAN);
  const done = { '1.1': 'completed', '1.2': 'completed', '1.3': 'completed', '1.4': 'skipped' } as const;
  // Phase 2 waits for the VERIFY item of phase 1.
  assert.deepEqual(readyTasks(plan, graph, lookup(done), 5).map((t) => t.id), ['V1.1']);
  assert.deepEqual(readyTasks(plan, graph, lookup({ ...done, 'V1.1': 'completed' }), 5).map((t) => t.id), ['2.1', '2.2']);
  const state = nodeStates(plan, graph, lookup({ '1.1': 'completed' }));
  assert.deepEqual(waitingFor(plan, graph, state, graph.indexById.get('1.3')!), [{ id: '1.2', state: 'pending' }]);
});

test('next: a checked markdown box counts as done (rule 6)', () => {
  const { plan, graph } = analyzePlan(PLAN.replace('- [ ] 1.2', '- [x] 1.2'));
  assert.deepEqual(readyTasks(plan, graph, lookup({}), 5).map((t) => t.id), ['1.1']);
  assert.equal(planProgress(plan, graph, lookup({})).done, 1);
});

test('simulate: dependencies respected, conflicting tasks never overlap, makespan and lower bound', () => {
  const { plan, graph } = analyzePlan(PLAN);
  const sim = simulate(plan, graph, { workers: 3 });
  const at = new Map(sim.schedule.map((s) => [s.id, s]));
  for (const t of plan.tasks) {
    for (const p of graph.preds[t.index]!) {
      if (p < graph.taskCount) assert.ok(at.get(plan.tasks[p]!.id)!.end <= at.get(t.id)!.start, `${t.id} after ${plan.tasks[p]!.id}`);
    }
  }
  const a = at.get('1.1')!;
  const b = at.get('1.4')!;
  assert.ok(a.end <= b.start || b.end <= a.start, '1.1 and 1.4 share a file');
  // Critical path 1.2 (120) → 1.3 (60) → V1.1 (0) → 2.1 (60) = 240 minutes.
  assert.equal(sim.criticalPathMinutes, 240);
  assert.deepEqual(sim.criticalPath, ['1.2', '1.3', '2.1']);
  assert.equal(sim.makespan, 240);
  assert.equal(sim.lowerBound, 240);
  assert.equal(sim.totalWork, 30 + 120 + 60 + 20 + 60 + 10);
});

test('simulate: one worker takes the total work; --remaining leaves out done tasks', () => {
  const { plan, graph } = analyzePlan(PLAN);
  assert.equal(simulate(plan, graph, { workers: 1 }).makespan, 300);
  const rest = simulate(plan, graph, { workers: 1, statusOf: lookup({ '1.2': 'completed' }) });
  assert.equal(rest.makespan, 180);
});

test('simulate refuses a plan with a cycle with a clear error', () => {
  const { plan, graph } = analyzePlan('# P\n\n## Phase 1: A\n\n- [ ] 1.1 A (depends: 1.2)\n- [ ] 1.2 B (depends: 1.1)\n');
  assert.throws(() => simulate(plan, graph, { workers: 2 }), /dependency cycle \(1\.1, 1\.2\)/);
});

test('simulate is never worse than the batched pattern and stays near the lower bound on random plans', () => {
  let ratio = 0;
  for (let seed = 1; seed <= 30; seed++) {
    const { plan, graph } = analyzePlan(generateSchedulingPlan(seed));
    const s = simulate(plan, graph, { workers: 4 });
    const b = simulateBatched(plan, graph, { workers: 4 });
    assert.ok(s.makespan <= b.makespan + 1e-9, `seed ${seed}: ${s.makespan} > batched ${b.makespan}`);
    assert.ok(s.makespan >= s.lowerBound - 1e-9);
    ratio += s.makespan / s.lowerBound;
  }
  assert.ok(ratio / 30 < 1.1, `average makespan / lower bound ${ratio / 30}`);
});

test('incremental analysis re-parses only the edited chunk and gives the same plan as a fresh parse', () => {
  const text = generatePlan({ tasks: 300, seed: 3 });
  const analyzer = new PlanAnalyzer();
  analyzer.analyze(text);
  const edited = text.replace('- [ ] 7.3 Implement', '- [x] 7.3 Implement');
  const incremental = analyzer.analyze(edited);
  assert.equal(analyzer.lastParsedChunks, 1);
  assert.deepEqual(incremental.plan, new PlanAnalyzer().analyze(edited).plan);
  assert.equal(incremental.plan.tasks.find((t) => t.id === '7.3')!.checkbox, 'checked');
});

test('next on a 10,000-task plan answers without walking into trouble', () => {
  const { plan, graph } = analyzePlan(generatePlan({ tasks: 10000, seed: 2 }));
  const ready = readyTasks(plan, graph, lookup({}), 5);
  assert.equal(ready.length, 5);
  assert.ok(ready.every((t) => t.phase === '1'));
});

test('estimates: minutes, hours, days (8 h) and combined forms', async () => {
  const { parseEstimate } = await import('../../src/core/annotations.js');
  assert.equal(parseEstimate('(est: 45m)'), 45);
  assert.equal(parseEstimate('(est: 2h)'), 120);
  assert.equal(parseEstimate('(est: 1d)'), 480);
  assert.equal(parseEstimate('(est: 1h30m)'), 90);
  assert.equal(parseEstimate('(est: 1h 30m)'), 90);
  assert.equal(parseEstimate('(est: 90 min)'), 90);
  assert.equal(parseEstimate('(est: soon)'), undefined);
});

test('a task with an unknown dependency is never ready: it waits for the missing ID', async () => {
  const { plan, graph } = analyzePlan('# P\n\n## Phase 1: A\n\n- [ ] 1.1 First\n- [ ] 1.2 Second (depends: 1.9)\n');
  assert.deepEqual(readyTasks(plan, graph, lookup({}), 5).map((t) => t.id), ['1.1']);
  const state = nodeStates(plan, graph, lookup({}));
  assert.deepEqual(waitingFor(plan, graph, state, 1), [{ id: '1.9', state: 'missing' }]);
});
