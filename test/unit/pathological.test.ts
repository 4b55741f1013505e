/**
 * Pathological markdown (helpers/pathological.ts: 24 shapes of the kind CommonMark implementations
 * are tested against) inside the body of task 1.2 of an otherwise normal plan. Behaviour only — no
 * test here measures time (that is `npm run bench`): the tasks before and after are read with their
 * annotations, and the `plan-too-complex` warning appears exactly where a shape had to be simplified.
 * Also: the per-analysis budget and its line scanner, determinism with a warm chunk cache, and the
 * worker thread (offThread.ts) with its deadline backstop, exercised with injected tiny limits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzePlan, PlanAnalyzer, type Analysis } from '../../src/core/analyzer.js';
import { AnalysisWorker } from '../../src/core/offThread.js';
import { SHAPES, planWithShape } from './helpers/pathological.js';
import { generatePlan } from '../../bench/generate.js';

/**
 * Shapes that markdown reads in linear time: they must parse as they are, with no warning. (Entities,
 * HTML and autolinks are linear per token, but micromark merges a paragraph's tokens quadratically.)
 */
const PARSE_AS_IS = new Set(['quotes in a link title', 'nested parentheses in a destination', 'one long plain line']);

function tooComplex(a: Analysis): Analysis['diagnostics'] {
  return a.diagnostics.filter((d) => d.code === 'plan-too-complex');
}

/** The normal tasks around the shape are all read, with their annotations. */
function assertNormalTasks(a: Analysis, what: string): void {
  const ids = a.plan.tasks.map((t) => t.id);
  assert.deepEqual(ids, ['1.1', '1.2', '1.3', '2.1', '2.2'], what);
  const task = (id: string) => a.plan.tasks.find((t) => t.id === id)!;
  assert.equal(task('1.1').title, 'Prepare the schema src/schema.ts', what);
  assert.equal(task('1.1').estimateMinutes, 30, what);
  assert.deepEqual(task('1.1').files.map((f) => f.path), ['src/schema.ts'], what);
  assert.deepEqual(task('1.2').dependsOn.map((d) => d.target), ['1.1'], what);
  assert.deepEqual(task('1.3').dependsOn.map((d) => d.target), ['1.2'], what);
  assert.deepEqual(task('1.3').files.map((f) => f.path), ['docs/parser.md'], what);
  assert.deepEqual(task('2.1').dependsOn.map((d) => d.target), ['1.3'], what);
  assert.equal(a.plan.phases.length, 2, what);
  assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error'), [], what);
}

for (const shape of SHAPES) {
  test(`40 KB of ${shape.name} in a task body: the plan around it is read`, () => {
    const { text, shapeLine } = planWithShape(shape.make(40_000));
    const a = analyzePlan(text);
    assertNormalTasks(a, shape.name);
    const warnings = tooComplex(a);
    if (PARSE_AS_IS.has(shape.name)) {
      assert.deepEqual(warnings, [], `${shape.name} should parse as it is`);
      return;
    }
    assert.ok(warnings.length >= 1, `${shape.name}: no plan-too-complex warning`);
    const w = warnings[0]!;
    assert.equal(w.line, shapeLine, `${shape.name}: warning on line ${w.line}, the shape starts on ${shapeLine}`);
    assert.equal(w.severity, 'warning');
    // The task it belongs to is named, unless the neutralised paragraph became blank (`[[[[` → spaces).
    assert.ok(w.tasks.length === 0 || (w.tasks.length === 1 && w.tasks[0] === '1.2'), `${shape.name}: tasks ${w.tasks.join(', ')}`);
    assert.match(w.message, /too complex to analyse: it has [\d,]+ markup characters|nests [\d,]+ lists or block quotes/);
    assert.match(w.message, new RegExp(`lines? ${shapeLine}\\b`));
    // Every warning lies inside the shape, never on the normal text around it.
    const lastShapeLine = shapeLine + shape.make(40_000).split('\n').length - 1;
    for (const x of warnings) assert.ok(x.line >= shapeLine && x.endLine <= lastShapeLine, `${shape.name}: warning at ${x.line}–${x.endLine}`);
  });
}

test('the same shapes at 1.5 MB: still read, the rest of the plan past the budget line by line', () => {
  for (const shape of SHAPES.filter((s) => /\*a_\[|deep lists|table/.test(s.name))) {
    const { text } = planWithShape(shape.make(1_500_000));
    const a = analyzePlan(text);
    assertNormalTasks(a, shape.name);
    const warnings = tooComplex(a);
    assert.equal(warnings.length, 1, shape.name);
    assert.match(warnings[0]!.message, /too large to analyse in full, so lines 3–\d+ are read line by line/);
  }
});

test('screened text keeps every offset: ranges of tasks after a neutralised paragraph point at their IDs', () => {
  const { text } = planWithShape(SHAPES[0]!.make(40_000));
  const a = analyzePlan(text);
  for (const t of a.plan.tasks) assert.equal(text.slice(t.idRange.start.offset, t.idRange.end.offset), t.id);
  const t13 = a.plan.tasks.find((t) => t.id === '1.3')!;
  const f = t13.files[0]!;
  assert.equal(text.slice(f.range.start.offset, f.range.end.offset), '`docs/parser.md`');
});

test('a warm chunk cache gives the same analysis as a cold one (edits before, inside and after the shape)', () => {
  const { text } = planWithShape(SHAPES[0]!.make(40_000));
  const edits = [
    text.replace('Prepare the schema', 'Prepare the schemas'),
    text.replace('*a_[*a_[', '*a_[ *a_['),
    text.replace('- [ ] 2.2 Announce', '- [x] 2.2 Announce it'),
  ];
  const warm = new PlanAnalyzer();
  warm.analyze(text);
  for (const edited of edits) {
    assert.deepEqual(warm.analyze(edited), analyzePlan(edited));
  }
});

test('past the total budget, chunks are line-scanned: tasks, checkboxes, titles, dependencies and files as remark reads them', () => {
  const text = generatePlan({ tasks: 300, seed: 3 });
  const full = analyzePlan(text);
  const scanned = analyzePlan(text, { limits: { maxTotalCost: 20_000 } });
  const warnings = tooComplex(scanned);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.message, /^The plan is too large to analyse in full, so lines \d+–\d+ are read line by line/);
  assert.equal(tooComplex(full).length, 0);
  const shape = (a: Analysis) =>
    a.plan.tasks.map((t) => ({
      id: t.id,
      kind: t.kind,
      title: t.title,
      checkbox: t.checkbox,
      phase: t.phaseIndex,
      deps: t.dependsOn.map((d) => d.target),
      files: t.files.map((f) => f.path),
      estimate: t.estimateMinutes,
      idLine: t.idRange.start.line,
    }));
  assert.deepEqual(shape(scanned), shape(full));
  const codes = (a: Analysis) => a.diagnostics.filter((d) => d.code !== 'plan-too-complex').map((d) => `${d.line} ${d.code} ${d.message}`);
  assert.deepEqual(codes(scanned), codes(full));
});

test('the budget is per analysis, in document order: what is line-scanned does not depend on the cache', () => {
  const text = generatePlan({ tasks: 300, seed: 4 });
  const limits = { maxTotalCost: 30_000 };
  const warm = new PlanAnalyzer({ limits });
  warm.analyze(text.slice(0, text.length / 2));
  assert.deepEqual(warm.analyze(text), analyzePlan(text, { limits }));
});

test('the worker thread gives the same analysis as the main thread, incrementally per key', async () => {
  const worker = new AnalysisWorker({ alwaysInWorker: true });
  try {
    const { text } = planWithShape(SHAPES[1]!.make(20_000));
    assert.deepEqual(await worker.analyze(text, 'plan'), analyzePlan(text));
    const edited = text.replace('- [ ] 2.2 Announce', '- [x] 2.2 Announce');
    assert.deepEqual(await worker.analyze(edited, 'plan'), analyzePlan(edited));
    assert.equal(worker.lastParsedChunks, 1, 'only the edited chunk is parsed again');
  } finally {
    worker.dispose();
  }
});

test('the deadline backstop: past it the worker is stopped and the plan is read by the line scanner', async () => {
  // A deadline of 0 ms passes before any worker can answer: the backstop, not the worker, answers.
  const worker = new AnalysisWorker({ alwaysInWorker: true, deadlineMs: 0 });
  try {
    const { text } = planWithShape(SHAPES[0]!.make(20_000));
    const a = await worker.analyze(text, 'plan');
    assert.deepEqual(a.plan.tasks.map((t) => t.id), ['1.1', '1.2', '1.3', '2.1', '2.2']);
    const warnings = tooComplex(a);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.line, 1);
    assert.match(warnings[0]!.message, /read line by line/);
  } finally {
    worker.dispose();
  }
});

test('without its worker file, analysis falls back to the calling thread', async () => {
  const worker = new AnalysisWorker({ alwaysInWorker: true, workerFile: '/nonexistent/analysisWorker.mjs' });
  const { text } = planWithShape('plain');
  assert.deepEqual(await worker.analyze(text), analyzePlan(text));
  worker.dispose();
});
