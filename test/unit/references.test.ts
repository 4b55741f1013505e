import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzePlan, type Analysis } from '../../src/core/analyzer.js';
import type { SourceRange } from '../../src/core/model.js';
import {
  addDependencyEdit,
  applyEdits,
  findTask,
  idAtOffset,
  isValidTaskId,
  markSequentialEdit,
  nextFreeId,
  outline,
  referencesOf,
  removeDependencyEdit,
  removeParallelMarkerEdit,
  removingParallelMarkerResolves,
  renameEdits,
  sequentialMarkerResolves,
  taskFacts,
  TaskReferenceError,
} from '../../src/core/references.js';

const PLAN = `# Plan: References

## Phase 1: Setup

- [ ] 1.1 Create the repository
- [ ] 1.2 Configure CI (depends: 1.1)

## Phase 2: Build
pipeline-start: when 1.2 completes

- [ ] 2.1 Write \`src/api.ts\` (depends: 1.1, 1.2)
- [ ] 2.2 Write \`src/api.ts\` tests
  - Depends on: 2.1

**VERIFY Phase 2:**
- [ ] Tests pass
`;

function at(text: string, needle: string, nth = 0, delta = 0): number {
  let i = -1;
  for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
  assert.ok(i >= 0, `${needle} #${nth} not in text`);
  return i + delta;
}

/** [line, column, endLine, endColumn], 1-based as in the model. */
function lc(r: SourceRange): [number, number, number, number] {
  return [r.start.line, r.start.column, r.end.line, r.end.column];
}

function analyse(text: string): Analysis {
  return analyzePlan(text);
}

test('idAtOffset finds definitions, dependency refs (also at the end of the token) and phase annotations', () => {
  const { plan } = analyse(PLAN);
  const def = idAtOffset(plan, PLAN, at(PLAN, '2.1 Write'));
  assert.equal(def?.kind, 'definition');
  assert.equal(def?.id, '2.1');
  assert.deepEqual(lc(def!.range), [11, 7, 11, 10]);

  const refOffset = at(PLAN, '1.1, 1.2');
  const ref = idAtOffset(plan, PLAN, refOffset + 3);
  assert.equal(ref?.kind, 'dependency');
  assert.equal(ref?.id, '1.1');
  assert.deepEqual(lc(ref!.range), [11, 40, 11, 43]);
  assert.equal(ref?.taskIndex, findTask(plan, '2.1')!.index);

  const ann = idAtOffset(plan, PLAN, at(PLAN, '1.2 completes') + 1);
  assert.equal(ann?.kind, 'annotation');
  assert.equal(ann?.id, '1.2');
  assert.deepEqual(lc(ann!.range), [9, 22, 9, 25]);

  assert.equal(idAtOffset(plan, PLAN, at(PLAN, 'Create')), undefined);
  // A VERIFY item without a written ID has nothing to point at.
  assert.equal(idAtOffset(plan, PLAN, at(PLAN, 'Tests pass')), undefined);
});

test('referencesOf lists every dependency and annotation naming an ID, in document order, once', () => {
  const { plan } = analyse(PLAN);
  assert.deepEqual(
    referencesOf(plan, PLAN, '1.2').map((r) => [r.kind, ...lc(r.range)]),
    [
      ['annotation', 9, 22, 9, 25],
      ['dependency', 11, 45, 11, 48],
    ],
  );
  assert.deepEqual(
    referencesOf(plan, PLAN, '1.1').map((r) => lc(r.range)),
    [
      [6, 34, 6, 37],
      [11, 40, 11, 43],
    ],
  );
  assert.deepEqual(
    referencesOf(plan, PLAN, '2.1').map((r) => lc(r.range)),
    [[13, 17, 13, 20]],
  );
  assert.deepEqual(referencesOf(plan, PLAN, '9.9'), []);

  const shared = `# P

## Phase 1: A

- [ ] 1.1 A

### Group (depends on 1.1)

- [ ] 1.2 B
- [ ] 1.3 C
`;
  const p2 = analyse(shared).plan;
  assert.deepEqual(
    referencesOf(p2, shared, '1.1').map((r) => lc(r.range)),
    [[7, 23, 7, 26]],
    'a heading list shared by two tasks is one reference',
  );
});

test('renameEdits rewrites the definition and every reference', () => {
  const { plan } = analyse(PLAN);
  const occ = idAtOffset(plan, PLAN, at(PLAN, '1.2 Configure'))!;
  const edits = renameEdits(plan, PLAN, occ, '1.5');
  assert.deepEqual(
    edits.map((e) => [e.start, e.end, e.newText]),
    [
      [at(PLAN, '1.2 Configure'), at(PLAN, '1.2 Configure') + 3, '1.5'],
      [at(PLAN, '1.2 completes'), at(PLAN, '1.2 completes') + 3, '1.5'],
      [at(PLAN, '1.2)'), at(PLAN, '1.2)') + 3, '1.5'],
    ],
  );
  const renamed = applyEdits(PLAN, edits);
  assert.match(renamed, /- \[ \] 1\.5 Configure CI/);
  assert.match(renamed, /pipeline-start: when 1\.5 completes/);
  assert.match(renamed, /\(depends: 1\.1, 1\.5\)/);
  // The renamed plan resolves exactly as before.
  const after = analyse(renamed);
  assert.deepEqual(after.diagnostics.filter((d) => d.severity === 'error'), []);

  // From a reference, too.
  const fromRef = renameEdits(plan, PLAN, idAtOffset(plan, PLAN, at(PLAN, '2.1', 1))!, 'T001');
  assert.equal(fromRef.length, 2);
});

test('renameEdits refuses invalid IDs, IDs in use, and unknown targets with a clear message', () => {
  const { plan } = analyse(PLAN);
  const occ = idAtOffset(plan, PLAN, at(PLAN, '1.2 Configure'))!;
  assert.throws(() => renameEdits(plan, PLAN, occ, 'abc'), (e: unknown) => e instanceof TaskReferenceError && /not a task ID/.test(e.message));
  assert.throws(() => renameEdits(plan, PLAN, occ, '2.1'), /2\.1 already exists \(line 11\)/);
  assert.throws(() => renameEdits(plan, PLAN, occ, '7'), /would not be read as a task ID/);
  assert.deepEqual(renameEdits(plan, PLAN, occ, '1.2'), []);
  const bad = '# P\n\n## Phase 1: A\n\n- [ ] 1.1 A (depends: 1.9)\n';
  const p2 = analyse(bad).plan;
  assert.throws(() => renameEdits(p2, bad, idAtOffset(p2, bad, at(bad, '1.9'))!, '1.8'), /1\.9 is not a task in this plan/);
  assert.ok(isValidTaskId('T012a') && isValidTaskId('2.3.1') && !isValidTaskId('2.') && !isValidTaskId('V2.1'));
});

test('renaming a duplicate ID changes only that occurrence', () => {
  const text = '# P\n\n## Phase 1: A\n\n- [ ] 1.1 A\n- [ ] 1.2 B\n- [ ] 1.2 C (depends: 1.1)\n- [ ] 1.3 D (depends: 1.2)\n';
  const { plan } = analyse(text);
  const dup = idAtOffset(plan, text, at(text, '1.2 C'))!;
  assert.equal(dup.taskIndex, 2);
  const edits = renameEdits(plan, text, dup, nextFreeId(plan, '1.2'));
  assert.deepEqual(edits, [{ start: at(text, '1.2 C'), end: at(text, '1.2 C') + 3, newText: '1.4' }]);
});

test('nextFreeId: one past the highest sibling; spec-kit IDs keep their padding', () => {
  const text = `# P

## Phase 2: B

- [ ] 2.1 A
- [ ] 2.3 B
- [ ] 2.5 C
  - [ ] 2.5.1 D
- [ ] 2.3 E
`;
  const { plan } = analyse(text);
  assert.equal(nextFreeId(plan, '2.3'), '2.6');
  assert.equal(nextFreeId(plan, '2.5.1'), '2.5.2');
  const spec = '# P\n\n## Phase 1: A\n\n- [ ] T001 A\n- [ ] T009 B\n- [ ] T009 C\n';
  assert.equal(nextFreeId(analyse(spec).plan, 'T009'), 'T010');
  const kiro = '# P\n\n- [ ] 1. A\n- [ ] 2. B\n- [ ] 2. C\n';
  assert.equal(nextFreeId(analyse(kiro).plan, '2'), '3');
});

test('addDependencyEdit appends a list, extends an existing one, or replaces (Depends: None)', () => {
  const text = `# P

## Phase 1: A

- [ ] 1.1 A in \`src/a.ts\`
- [ ] 1.2 B in \`src/a.ts\`${'  '}
- [ ] 1.3 C (depends: 1.1)
- [ ] 1.4 D (Depends: None)
- [ ] 1.5 E
  - Depends on: 1.1
`;
  const { plan } = analyse(text.replace(/\n/g, '\n'));
  const b = findTask(plan, '1.2')!;
  const add = addDependencyEdit(plan, text, b.index, '1.1')!;
  assert.deepEqual(add, { start: at(text, '`src/a.ts`', 1, 10), end: at(text, '`src/a.ts`', 1, 10), newText: ' (depends: 1.1)' });
  assert.match(applyEdits(text, [add]), /- \[ \] 1\.2 B in `src\/a\.ts` \(depends: 1\.1\) {2}\n/);

  const c = addDependencyEdit(plan, text, findTask(plan, '1.3')!.index, '1.2')!;
  assert.match(applyEdits(text, [c]), /1\.3 C \(depends: 1\.1, 1\.2\)\n/);
  assert.equal(addDependencyEdit(plan, text, findTask(plan, '1.3')!.index, '1.1'), undefined, 'already there');

  const d = addDependencyEdit(plan, text, findTask(plan, '1.4')!.index, '1.2')!;
  assert.match(applyEdits(text, [d]), /1\.4 D \(Depends: 1\.2\)\n/);

  const e = addDependencyEdit(plan, text, findTask(plan, '1.5')!.index, '1.3')!;
  assert.match(applyEdits(text, [e]), /\n {2}- Depends on: 1\.1, 1\.3\n/);

  // The fix removes the conflict.
  const fixed = analyse(applyEdits(text, [add]));
  assert.equal(fixed.diagnostics.filter((x) => x.code === 'file-conflict').length, 0);
});

test('addDependencyEdit and markSequentialEdit keep CRLF line endings', () => {
  const text = '# P\r\n\r\n## Phase 1: A\r\n\r\n- [ ] 1.1 A `src/a.ts`\r\n- [ ] 1.2 B `src/a.ts`\r\n';
  const { plan, graph } = analyse(text);
  const a = findTask(plan, '1.1')!;
  const b = findTask(plan, '1.2')!;
  assert.equal(applyEdits(text, [addDependencyEdit(plan, text, b.index, '1.1')!]), text.replace('B `src/a.ts`\r', 'B `src/a.ts` (depends: 1.1)\r'));
  assert.ok(sequentialMarkerResolves(plan, graph, a, b));
  const seq = applyEdits(text, [markSequentialEdit(text, b)]);
  assert.equal(seq, text.replace('B `src/a.ts`\r', 'B `src/a.ts` [SEQUENTIAL]\r'));
  assert.equal(analyse(seq).diagnostics.filter((x) => x.code === 'file-conflict').length, 0);
});

test('[SEQUENTIAL] is offered only where it orders the two tasks', () => {
  const text = `# P

## Phase 1: A

- [ ] 1.1 A \`src/a.ts\`
- [ ] 1.2 B
- [ ] 1.3 C \`src/a.ts\`
- [ ] 1.4 D (depends: 1.1)
- [ ] 1.5 E \`src/a.ts\`
`;
  const { plan, graph } = analyse(text);
  const t = (id: string) => findTask(plan, id)!;
  // 1.3 after 1.2, which is not after 1.1: the marker would not order 1.1 before 1.3.
  assert.equal(sequentialMarkerResolves(plan, graph, t('1.1'), t('1.3')), false);
  // 1.5 after 1.4, which depends on 1.1.
  assert.equal(sequentialMarkerResolves(plan, graph, t('1.1'), t('1.5')), true);
  assert.equal(sequentialMarkerResolves(plan, graph, t('1.3'), t('1.1')), false, 'the first task of a phase has nothing before it');

  const spec = '# P\n\n## Phase 1: A\n\n- [ ] T001 [P] A `src/a.ts`\n- [ ] T002 [P] B `src/a.ts`\n';
  const s = analyse(spec);
  const t1 = findTask(s.plan, 'T001')!;
  const t2 = findTask(s.plan, 'T002')!;
  assert.equal(sequentialMarkerResolves(s.plan, s.graph, t1, t2), false, 'no effect in spec-kit plans');
  assert.ok(removingParallelMarkerResolves(s.plan, t1, t2));
  const edit = removeParallelMarkerEdit(spec, t2)!;
  assert.equal(applyEdits(spec, [edit]), spec.replace('T002 [P] B', 'T002 B'));
});

test('removeDependencyEdit removes the token with its separator, or the whole empty list', () => {
  const cases: Array<[string, string, string]> = [
    ['- [ ] 2.1 X (depends: 1.1, 1.9)\n', '1.9', '- [ ] 2.1 X (depends: 1.1)\n'],
    ['- [ ] 2.1 X (depends: 1.9, 1.1)\n', '1.9', '- [ ] 2.1 X (depends: 1.1)\n'],
    ['- [ ] 2.1 X (depends: 1.1, 1.9, 1.2)\n', '1.9', '- [ ] 2.1 X (depends: 1.1, 1.2)\n'],
    ['- [ ] 2.1 X (depends on 1.1 and 1.9)\n', '1.9', '- [ ] 2.1 X (depends on 1.1)\n'],
    ['- [ ] 2.1 X (depends: 1.9)\n', '1.9', '- [ ] 2.1 X\n'],
    ['- [ ] 2.1 X (depends: 1.9)\r\n', '1.9', '- [ ] 2.1 X\r\n'],
    ['- [ ] 2.1 X (depends: 1.9) in `src/a.ts`\n', '1.9', '- [ ] 2.1 X in `src/a.ts`\n'],
    ['- [ ] 2.1 X\n  - Depends on: 1.9\n- [ ] 2.2 Y\n', '1.9', '- [ ] 2.1 X\n- [ ] 2.2 Y\n'],
    ['- [ ] 2.1 X\n  - Depends on: 1.9', '1.9', '- [ ] 2.1 X'],
    ['- [ ] 2.1 X\n  - _Depends: 1.9_\n', '1.9', '- [ ] 2.1 X\n'],
    ['- [ ] 2.1 X _Depends: 1.9_\n', '1.9', '- [ ] 2.1 X\n'],
    ['- [ ] 2.1 X (depends: Phase 9)\n', 'Phase 9', '- [ ] 2.1 X\n'],
  ];
  for (const [item, target, expected] of cases) {
    const text = `# P\n\n## Phase 1: A\n\n- [ ] 1.1 A\n- [ ] 1.2 B\n\n## Phase 2: B\n\n${item}`;
    const { plan } = analyse(text);
    const ref = plan.tasks.flatMap((t) => t.dependsOn).find((d) => (d.kind === 'phase' ? `Phase ${d.target}` : d.target) === target);
    assert.ok(ref, `no ref ${target} in ${JSON.stringify(item)}`);
    const out = applyEdits(text, [removeDependencyEdit(text, ref)]);
    assert.equal(out.slice(out.indexOf('## Phase 2: B\n\n') + 15), expected, JSON.stringify(item));
  }
});

test('removing a self-dependency leaves a plan without the diagnostic', () => {
  const text = '# P\n\n## Phase 1: A\n\n- [ ] 1.1 A\n- [ ] 1.2 B (depends: 1.1, 1.2)\n';
  const { plan, diagnostics } = analyse(text);
  const d = diagnostics.find((x) => x.code === 'self-dependency')!;
  const ref = plan.tasks.flatMap((t) => t.dependsOn).find((r) => r.range.start.offset === d.range.start.offset)!;
  const fixed = applyEdits(text, [removeDependencyEdit(text, ref)]);
  assert.equal(fixed, text.replace('(depends: 1.1, 1.2)', '(depends: 1.1)'));
  assert.equal(analyse(fixed).diagnostics.length, 0);
});

test('taskFacts: state, what the task waits for, and what waits for it', () => {
  const { plan, graph } = analyse(PLAN);
  const f = taskFacts(plan, graph, findTask(plan, '2.1')!.index, (id) => (id === '1.1' ? 'completed' : undefined));
  assert.equal(f.phase.id, '2');
  assert.equal(f.state, 'pending');
  assert.deepEqual(f.waitsFor, ['1.1', '1.2']);
  assert.deepEqual(f.blockedBy, [{ id: '1.2', state: 'pending' }]);
  assert.deepEqual(f.dependents, ['2.2', 'V2.1']);
  const g = taskFacts(plan, graph, findTask(plan, '1.1')!.index, (id) => (id === '1.1' ? 'completed' : undefined));
  assert.equal(g.state, 'done');
  assert.equal(g.recorded, 'completed');
  const h = taskFacts(plan, graph, findTask(plan, '2.2')!.index, () => undefined);
  assert.deepEqual(h.waitsFor, ['2.1']);
});

test('outline: phases with their tasks and VERIFY items, ranges and ID selection ranges', () => {
  const { plan } = analyse(PLAN);
  const nodes = outline(plan, PLAN);
  assert.deepEqual(
    nodes.map((n) => [n.kind, n.name, ...lc(n.selectionRange)]),
    [
      ['phase', 'Phase 1: Setup', 3, 1, 3, 18],
      ['phase', 'Phase 2: Build', 8, 1, 8, 18],
    ],
  );
  assert.deepEqual(lc(nodes[0]!.range).slice(0, 2), [3, 1]);
  assert.deepEqual(
    nodes[1]!.children.map((n) => [n.kind, n.name, n.detail, ...lc(n.selectionRange)]),
    [
      ['task', '2.1 Write src/api.ts', '', 11, 7, 11, 10],
      ['task', '2.2 Write src/api.ts tests', '', 12, 7, 12, 10],
      ['verify', 'Tests pass', 'VERIFY', 16, 1, 16, 2],
    ],
  );
  for (const n of nodes.flatMap((p) => [p, ...p.children])) {
    assert.ok(n.selectionRange.start.offset >= n.range.start.offset && n.selectionRange.end.offset <= n.range.end.offset, n.name);
  }

  const kiro = '# P\n\n- [ ] 1. Group\n  - [ ] 1.1 Sub\n- [x] 2. Other\n';
  const k = outline(analyse(kiro).plan, kiro);
  assert.deepEqual(
    k.map((n) => [n.name, n.detail, n.children.map((c) => c.name)]),
    [
      ['1 Group', '', ['1.1 Sub']],
      ['2 Other', 'done', []],
    ],
  );
});

test('a phase barrier reads as one phrase; a Kiro group may be renamed to another bare number', () => {
  const text = '# P\n\n## Phase 1: A\n\n- [ ] 1.1 A\n\n## Phase 2: B\n\n- [ ] 2.1 B\n';
  const { plan, graph } = analyse(text);
  assert.deepEqual(taskFacts(plan, graph, findTask(plan, '2.1')!.index, () => undefined).waitsFor, ['the end of Phase 1']);
  assert.deepEqual(taskFacts(plan, graph, findTask(plan, '1.1')!.index, () => undefined).dependents, ['2.1']);

  const kiro = '# P\n\n- [ ] 1. Group\n  - [ ] 1.1 Sub\n- [ ] 2. Other (depends: 1)\n';
  const k = analyse(kiro).plan;
  const edits = renameEdits(k, kiro, idAtOffset(k, kiro, at(kiro, '1. Group'))!, '5');
  assert.equal(applyEdits(kiro, edits), kiro.replace('1. Group', '5. Group').replace('(depends: 1)', '(depends: 5)'));
});

test('edits keep CRLF line endings when a whole dependency line goes', () => {
  const text = '# P\r\n\r\n## Phase 1: A\r\n\r\n- [ ] 1.1 A\r\n- [ ] 1.2 B\r\n  - Depends on: 1.9\r\n- [ ] 1.3 C\r\n';
  const { plan } = analyse(text);
  const ref = findTask(plan, '1.2')!.dependsOn[0]!;
  assert.equal(applyEdits(text, [removeDependencyEdit(text, ref)]), text.replace('  - Depends on: 1.9\r\n', ''));
});

test('the last line of a CRLF file without a trailing newline goes with the line break before it', () => {
  const text = '# P\r\n\r\n## Phase 1: A\r\n\r\n- [ ] 1.1 A\r\n- [ ] 1.2 B\r\n  - Depends on: 1.9';
  const { plan } = analyse(text);
  const ref = findTask(plan, '1.2')!.dependsOn[0]!;
  assert.equal(applyEdits(text, [removeDependencyEdit(text, ref)]), '# P\r\n\r\n## Phase 1: A\r\n\r\n- [ ] 1.1 A\r\n- [ ] 1.2 B');
});
