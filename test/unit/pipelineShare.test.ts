/**
 * Percentage pipelines: `pipeline-start: N% of Phase M` (heading or `**pipeline-start:**` line) and the
 * plan-wide `plans.phase_overlap` of git-workflow.json, in next, simulate and one orchestrated run.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { analyzePlan } from '../../src/core/analyzer.js';
import { buildGraph } from '../../src/core/graph.js';
import { readyTasks, simulate, type TaskStatus } from '../../src/core/schedule.js';
import { readStatusFile } from '../../src/core/status.js';
import { runPlanctl } from '../../src/cli/planctl.js';
import { makeTempRepo, removeTempRepos } from './helpers/tempRepo.js';
import { runCli, SIM_AGENT_ARGV, simEnv } from './helpers/simAgent.js';

after(removeTempRepos);

const PHASE1 = `## Phase 1: Core
- [ ] 1.1 One
- [ ] 1.2 Two
- [ ] 1.3 Three
- [ ] 1.4 Four
- [ ] 1.5 Five in \`src/shared.ts\` (est: 5h)
`;

const HEADING = `# Plan: Share

${PHASE1}
## Phase 2: Integration (pipeline-start: 60% of Phase 1)
- [ ] 2.1 Integrate
- [ ] 2.2 Touch the shared file \`src/shared.ts\`
- [ ] 2.3 After five (depends: 1.5)

## Phase 3: Release
- [ ] 3.1 Release
`;

const LINE = HEADING.replace(' (pipeline-start: 60% of Phase 1)', '').replace('## Phase 2: Integration\n', '## Phase 2: Integration\n\n**pipeline-start:** 60% of Phase 1\n\n');

const PLAIN = HEADING.replace(' (pipeline-start: 60% of Phase 1)', '');

/** For makespans: a long first task, and a second phase that need not wait for it. */
const SIM = `# Plan: Sim

## Phase 1: Core
- [ ] 1.1 Long (est: 5h)
- [ ] 1.2 A
- [ ] 1.3 B
- [ ] 1.4 C
- [ ] 1.5 D

## Phase 2: Next
- [ ] 2.1 E (est: 3h)
- [ ] 2.2 F (est: 3h)
`;
const SIM_SHARE = SIM.replace('## Phase 2: Next', '## Phase 2: Next (pipeline-start: 60% of Phase 1)');

function ready(text: string, status: Record<string, TaskStatus>, overlap?: number): string[] {
  const { plan, diagnostics } = analyzePlan(text);
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error' || d.code === 'unsupported-annotation'), [], 'the annotation is understood');
  const graph = buildGraph(plan, overlap !== undefined ? { phaseOverlap: overlap } : {});
  return readyTasks(plan, graph, (id) => status[id], 20).map((t) => t.id).sort();
}

const done = (...ids: string[]): Record<string, TaskStatus> => Object.fromEntries(ids.map((id) => [id, 'completed' as TaskStatus]));

describe('pipeline-start: N% of Phase M', () => {
  for (const [form, text] of [['in the phase heading', HEADING], ['as a **pipeline-start:** line', LINE]] as const) {
    test(`${form}: the phase starts once ceil(60% x 5) = 3 tasks of Phase 1 are done`, () => {
      assert.deepEqual(ready(text, done('1.1', '1.2')), ['1.3', '1.4', '1.5']);
      // 3 of 5 done: Phase 2 opens, except what its own dependencies or a running task's file hold back.
      // (2.2 shares src/shared.ts with 1.5, picked first: never two that touch the same file.)
      assert.deepEqual(ready(text, done('1.1', '1.2', '1.3')), ['1.4', '1.5', '2.1']);
      assert.deepEqual(ready(text, { ...done('1.1', '1.2', '1.3'), '1.5': 'in_progress' }), ['1.4', '2.1'], '2.2 shares src/shared.ts with the running 1.5');
      assert.deepEqual(ready(text, done('1.1', '1.2', '1.3', '1.5')), ['1.4', '2.1', '2.2', '2.3'], '2.3 waits for 1.5 as it says');
      // Phase 3 waits for Phase 2 and for the Phase 1 that Phase 2 overlapped.
      assert.deepEqual(ready(text, done('1.1', '1.2', '1.3', '1.5', '2.1', '2.2', '2.3')), ['1.4']);
      assert.deepEqual(ready(text, done('1.1', '1.2', '1.3', '1.4', '1.5', '2.1', '2.2', '2.3')), ['3.1']);
    });
  }

  test('a skipped task counts, a failed one does not', () => {
    assert.deepEqual(ready(HEADING, { ...done('1.1', '1.2'), '1.3': 'failed' }).includes('2.1'), false);
    assert.deepEqual(ready(HEADING, { ...done('1.1', '1.2'), '1.3': 'skipped' }).includes('2.1'), true);
  });

  test('a percentage of a phase that does not exist (or is not earlier) is reported and keeps the barrier', () => {
    const { diagnostics } = analyzePlan(HEADING.replace('60% of Phase 1', '60% of Phase 7'));
    assert.ok(diagnostics.some((d) => d.code === 'unknown-dependency' && /Phase 7/.test(d.message)));
    const { plan } = analyzePlan(HEADING.replace('60% of Phase 1', '60% of Phase 7'));
    assert.deepEqual(readyTasks(plan, buildGraph(plan), (id) => done('1.1', '1.2', '1.3')[id], 20).map((t) => t.id).includes('2.1'), false);
  });

  test('a file conflict across the overlap is a file-conflict warning', () => {
    const { diagnostics } = analyzePlan(HEADING);
    // No warning is expected from the plain plan (the barrier orders 1.5 before 2.2) ...
    assert.equal(analyzePlan(PLAIN).diagnostics.some((d) => d.code === 'file-conflict'), false);
    // ... but with the overlap 2.2 may run beside 1.5.
    assert.ok(diagnostics.some((d) => d.code === 'file-conflict' && d.tasks.includes('1.5') && d.tasks.includes('2.2')));
  });

  test('simulate models it: Phase 2 overlaps the long 1.5, Phase 3 still waits for it; the lower bound holds', () => {
    const strictSim = analyzePlan(SIM);
    const pipedSim = analyzePlan(SIM_SHARE);
    const a = simulate(strictSim.plan, strictSim.graph, { workers: 3 });
    const c = simulate(pipedSim.plan, pipedSim.graph, { workers: 3 });
    assert.equal(a.makespan, 8 * 60);
    assert.equal(c.makespan, 5 * 60, 'Phase 2 runs beside 1.1 once 3 of the 5 tasks are done');
    assert.ok(c.lowerBound <= c.makespan, `lower bound ${c.lowerBound} <= ${c.makespan}`);
    assert.deepEqual(c.criticalPath, ['1.1']);
    const piped = analyzePlan(HEADING);
    const b = simulate(piped.plan, piped.graph, { workers: 3 });
    assert.ok(b.lowerBound <= b.makespan);
    const at = (s: typeof b, id: string) => s.schedule.find((x) => x.id === id)!;
    assert.ok(at(b, '2.1').start < at(b, '1.5').end, '2.1 starts while 1.5 runs');
    assert.ok(at(b, '2.2').start >= at(b, '1.5').end, '2.2 (same file) does not');
    assert.ok(at(b, '3.1').start >= at(b, '1.5').end, 'Phase 3 waits for all of Phase 1');
    assert.deepEqual(b.criticalPath, ['1.5', '2.3', '3.1']);
  });
});

describe('plans.phase_overlap (git-workflow.json)', () => {
  test('0.8: a phase without its own annotation starts at 4 of 5; next and simulate read it from the repository', async () => {
    assert.deepEqual(ready(PLAIN, done('1.1', '1.2', '1.3'), 0.8), ['1.4', '1.5']);
    assert.deepEqual(ready(PLAIN, done('1.1', '1.2', '1.3', '1.4'), 0.8), ['1.5', '2.1']);

    const repo = await makeTempRepo({ 'docs/plans/p.md': PLAIN, 'docs/plans/sim.md': SIM, 'git-workflow.json': JSON.stringify({ plans: { phase_overlap: 0.8 } }) });
    const cli = async (args: string[]) => {
      let out = '';
      let err = '';
      const code = await runPlanctl(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), cwd: repo.dir, env: {} });
      return { code, out, err };
    };
    for (const id of ['1.1', '1.2', '1.3', '1.4']) assert.equal((await cli(['complete', id, '--plan', 'docs/plans/p.md'])).code, 0);
    const next = JSON.parse((await cli(['next', '--plan', 'docs/plans/p.md', '--json'])).out) as { tasks: Array<{ id: string }> };
    assert.deepEqual(next.tasks.map((t) => t.id).sort(), ['1.5', '2.1']);
    const sim = JSON.parse((await cli(['simulate', '--plan', 'docs/plans/sim.md', '--workers', '3', '--json'])).out) as { makespan: number };
    assert.equal(sim.makespan, 5 * 60, 'at 4 of 5 (2 h), Phase 2 runs beside the 5 h task');

    await repo.write('git-workflow.json', JSON.stringify({ plans: { phase_overlap: 80 } }));
    const bad = await cli(['next', '--plan', 'docs/plans/p.md']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /plans\.phase_overlap: must be at most 1/);
  });

  test('orchestrate starts Phase 2 while the long task of Phase 1 still runs', async () => {
    const text = `# Plan: Run

## Phase 1: Core
- [ ] 1.1 One (est: 1m)
- [ ] 1.2 Two (est: 1m)
- [ ] 1.3 Three (est: 1m)
- [ ] 1.4 Long (est: 4h)

## Phase 2: Next (pipeline-start: 50% of Phase 1)
- [ ] 2.1 Early (est: 1m)
`;
    const repo = await makeTempRepo({ 'docs/plans/run.md': text });
    // 1.4 ends only once 2.1 has written its output (or after a minute): with the pipeline 2.1 starts
    // beside it; without, 1.4 gives up waiting and 2.1 starts after it, which the order check catches.
    const env = simEnv({ PLAN_SIM_MS_PER_MINUTE: '2', PLAN_SIM_AFTER: '1.4:2.1' });
    const res = await runCli(['orchestrate', '--in-place', '--plan', 'docs/plans/run.md', '--max-parallel', '4', '--agent', JSON.stringify(SIM_AGENT_ARGV)], repo.dir, env).done;
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    const s = (await readStatusFile(path.join(repo.dir, 'docs/plan-outputs/run/status.json')))!;
    for (const id of ['1.1', '1.2', '1.3', '1.4', '2.1']) assert.equal(s.tasks[id]!.status, 'completed', id);
    // Order, not duration: 2.1 was started before 1.4 was recorded as completed.
    assert.ok(s.tasks['2.1']!.startedAt! < s.tasks['1.4']!.completedAt!, `2.1 started ${s.tasks['2.1']!.startedAt} before 1.4 completed ${s.tasks['1.4']!.completedAt}`);
  });
});
