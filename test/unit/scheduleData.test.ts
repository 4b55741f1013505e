import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzePlan } from '../../src/core/analyzer.js';
import { simulate, simulateBatched } from '../../src/core/schedule.js';
import { axisTicks, buildScheduleData, clampWorkers, computeScheduleData, formatMinutes, MAX_WORKERS } from '../../src/core/scheduleData.js';

const PLAN = `# Plan: Scheduling

## Phase 1: Base

- [ ] 1.1 Types in \`src/types.ts\` (est: 30m)
- [ ] 1.2 Schema in \`src/db.ts\` (est: 2h)
- [ ] 1.3 Service (depends: 1.1, 1.2) (est: 1h)
- [ ] 1.4 Helpers in \`src/types.ts\` (est: 20m)

**VERIFY Phase 1:**
- [ ] \`npm test\` passes
- [ ] Migrations apply

## Phase 2: API

- [ ] 2.1 Routes (est: 1h)
- [ ] 2.2 Docs (est: 10m)
`;

test('scheduleData: one row per worker plus a row of checks; every scheduled item is drawn once', () => {
  const { plan, graph } = analyzePlan(PLAN);
  const data = computeScheduleData(plan, graph, 2);
  assert.equal(data.error, undefined);
  assert.equal(data.title, 'Scheduling');
  assert.deepEqual(data.rows.map((r) => r.label), ['Worker 1', 'Worker 2', 'Checks']);
  const drawn = data.rows.flatMap((r) => r.bars.map((b) => b.id)).sort();
  assert.deepEqual(drawn, plan.tasks.map((t) => t.id).sort());
  for (const row of data.rows.slice(0, 2)) {
    const bars = [...row.bars].sort((a, b) => a.start - b.start);
    for (let i = 1; i < bars.length; i++) assert.ok(bars[i]!.start >= bars[i - 1]!.end, `${row.label} runs two tasks at once`);
    for (const b of bars) assert.equal(b.milestone, false);
  }
});

test('scheduleData: VERIFY items without estimate are diamonds, stacked in lanes when released together', () => {
  const { plan, graph } = analyzePlan(PLAN);
  const data = computeScheduleData(plan, graph, 2);
  const checks = data.rows.find((r) => r.worker === null)!;
  assert.deepEqual(checks.bars.map((b) => b.id), ['V1.1', 'V1.2']);
  for (const b of checks.bars) {
    assert.equal(b.milestone, true);
    assert.equal(b.kind, 'verify');
    assert.equal(b.start, b.end);
    assert.equal(b.critical, false);
    assert.match(b.tooltip, /VERIFY check/);
  }
  // Both checks become ready when phase 1's tasks are done: 1.2 (2h) then 1.3 (1h).
  assert.deepEqual(checks.bars.map((b) => b.start), [180, 180]);
  assert.deepEqual(checks.bars.map((b) => b.lane).sort(), [0, 1]);
  assert.equal(checks.lanes, 2);
});

test('scheduleData: the critical path is marked, and the summary matches the simulation', () => {
  const { plan, graph } = analyzePlan(PLAN);
  const sim = simulate(plan, graph, { workers: 2 });
  const batched = simulateBatched(plan, graph, { workers: 2 });
  const data = buildScheduleData(plan, sim, batched);
  const critical = data.rows.flatMap((r) => r.bars).filter((b) => b.critical).map((b) => b.id);
  assert.deepEqual(critical.sort(), [...sim.criticalPath].sort());
  assert.deepEqual(sim.criticalPath, ['1.2', '1.3', '2.1']);
  const s = data.summary!;
  assert.equal(s.makespan, sim.makespan);
  assert.equal(s.lowerBound, sim.lowerBound);
  assert.equal(s.totalWork, 30 + 120 + 60 + 20 + 60 + 10);
  assert.equal(s.speedup, s.totalWork / s.makespan);
  assert.equal(s.batchedMakespan, batched.makespan);
  assert.equal(s.text.makespan, formatMinutes(sim.makespan));
  assert.equal(s.text.criticalPath, '1.2 → 1.3 → 2.1 (4h)');
  assert.equal(s.text.speedup, `×${(300 / sim.makespan).toFixed(2)}`);
  assert.ok(s.utilisation > 0 && s.utilisation <= 1);
  assert.equal(data.domain, s.makespan);
  assert.ok(data.ticks.every((t) => t.minutes <= data.domain));
});

test('scheduleData: bars carry the line of their task for reveal', () => {
  const { plan, graph } = analyzePlan(PLAN);
  const data = computeScheduleData(plan, graph, 3);
  const bar = data.rows.flatMap((r) => r.bars).find((b) => b.id === '1.3')!;
  assert.equal(bar.line, PLAN.split('\n').findIndex((l) => l.includes('1.3 Service')) + 1);
  assert.equal(bar.phase, '1');
  assert.equal(bar.title, 'Service');
  assert.match(bar.tooltip, /^1\.3 Service\n/);
});

test('scheduleData: a dependency cycle is an error message, not an exception', () => {
  const { plan, graph } = analyzePlan(`# Plan: Loop

## Phase 1: Core

- [ ] 1.1 Parse (depends: 1.2)
- [ ] 1.2 Validate (depends: 1.1)
- [ ] 1.3 Report
`);
  const data = computeScheduleData(plan, graph, 3);
  assert.match(data.error ?? '', /dependency cycle \(1\.1, 1\.2\)/);
  assert.deepEqual(data.rows, []);
  assert.equal(data.summary, undefined);
});

test('scheduleData: workers are clamped to 1..32; one worker means speedup 1', () => {
  assert.equal(clampWorkers(0), 1);
  assert.equal(clampWorkers(-3), 1);
  assert.equal(clampWorkers(4.7), 4);
  assert.equal(clampWorkers('6'), 6);
  assert.equal(clampWorkers('x'), 1);
  assert.equal(clampWorkers(1000), MAX_WORKERS);
  const { plan, graph } = analyzePlan(PLAN);
  const one = computeScheduleData(plan, graph, 1);
  assert.equal(one.summary!.speedup, 1);
  assert.equal(one.summary!.makespan, one.summary!.totalWork);
  assert.equal(computeScheduleData(plan, graph, 99).rows.filter((r) => r.worker !== null).length, 32);
});

test('scheduleData: a plan without tasks still has an axis and no rows', () => {
  const { plan, graph } = analyzePlan('# Plan: Empty\n\nNothing to do yet.\n');
  const data = computeScheduleData(plan, graph, 3);
  assert.equal(data.error, undefined);
  assert.ok(data.rows.every((r) => r.bars.length === 0));
  assert.equal(data.summary!.speedup, 1);
  assert.equal(data.domain, 1);
  assert.deepEqual(data.ticks.map((t) => t.label), ['0h']);
});

test('axisTicks: nice hour steps, at most about ten, none past the end of the domain', () => {
  assert.deepEqual(axisTicks(120).map((t) => t.label), ['0h', '0.25h', '0.5h', '0.75h', '1h', '1.25h', '1.5h', '1.75h', '2h']);
  assert.deepEqual(axisTicks(600).map((t) => t.label), ['0h', '1h', '2h', '3h', '4h', '5h', '6h', '7h', '8h', '9h', '10h']);
  assert.deepEqual(axisTicks(615).map((t) => t.label), ['0h', '2h', '4h', '6h', '8h', '10h']);
  for (const m of [15, 59, 61, 599, 601, 1439, 10_000, 1_000_000, 50_000_000]) {
    const ticks = axisTicks(m);
    assert.equal(ticks[0]!.minutes, 0);
    assert.ok(ticks.length >= 2 && ticks.length <= 21, `${m}: ${ticks.length} ticks`);
    const step = ticks[1]!.minutes;
    assert.ok(ticks[ticks.length - 1]!.minutes <= m, `${m}: a tick past the end`);
    assert.ok(ticks[ticks.length - 1]!.minutes + step > m, `${m}: a tick missing at the end`);
  }
});

test('formatMinutes: the CLI format', () => {
  assert.equal(formatMinutes(0), '0m');
  assert.equal(formatMinutes(45), '45m');
  assert.equal(formatMinutes(60), '1h');
  assert.equal(formatMinutes(150), '2h 30m');
  assert.equal(formatMinutes(59.6), '1h');
});
