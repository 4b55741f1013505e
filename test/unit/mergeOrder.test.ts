import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { recommendMergeOrder, type MergeCandidate, type PairConflict } from '../../src/core/mergeOrder.js';

const cand = (branch: string, changedFiles = 1, dependsOn: string[] = [], mainConflicts = 0): MergeCandidate => ({
  branch,
  changedFiles,
  dependsOn,
  mainConflicts,
});
const order = (branches: MergeCandidate[], conflicts: PairConflict[] = []): string[] =>
  recommendMergeOrder({ branches, conflicts }).map((s) => s.branch);

describe('recommendMergeOrder', () => {
  test('empty input, empty order', () => {
    assert.deepEqual(recommendMergeOrder({ branches: [], conflicts: [] }), []);
  });

  test('without conflicts or dependencies: smallest change first, then by name', () => {
    assert.deepEqual(order([cand('plan/c', 3), cand('plan/b', 1), cand('plan/a', 1)]), ['plan/a', 'plan/b', 'plan/c']);
  });

  test('a dependency wins over size and conflicts: B waits for A even when A is much larger', () => {
    const steps = recommendMergeOrder({
      branches: [cand('plan/b', 1, ['plan/a']), cand('plan/a', 40)],
      conflicts: [],
    });
    assert.deepEqual(
      steps.map((s) => s.branch),
      ['plan/a', 'plan/b'],
    );
    assert.deepEqual(steps[1]!.after, ['plan/a']);
    assert.match(steps[1]!.reason, /after plan\/a \(plan dependency\)/);
  });

  test('conflict-free branches go first; the conflicting pair is marked for manual resolution', () => {
    const steps = recommendMergeOrder({
      branches: [cand('plan/alpha', 1), cand('plan/beta', 2), cand('plan/gamma', 5), cand('plan/delta', 9)],
      conflicts: [{ a: 'plan/alpha', b: 'plan/beta', files: 1 }],
    });
    assert.deepEqual(
      steps.map((s) => s.branch),
      ['plan/gamma', 'plan/delta', 'plan/alpha', 'plan/beta'],
    );
    assert.match(steps[0]!.reason, /clean against main and every other branch/);
    assert.deepEqual(steps[2]!.resolveWith, []);
    assert.match(steps[2]!.reason, /merges cleanly now; 1 later branch will resolve/);
    assert.deepEqual(steps[3]!.resolveWith, ['plan/alpha']);
    assert.match(steps[3]!.reason, /needs manual resolution against plan\/alpha \(1 file\)/);
  });

  test('a branch conflicting with main goes after every branch that merges cleanly', () => {
    const steps = recommendMergeOrder({
      main: 'trunk',
      branches: [cand('plan/a', 1, [], 2), cand('plan/b', 5), cand('plan/c', 7)],
      conflicts: [{ a: 'plan/b', b: 'plan/c', files: 1 }],
    });
    assert.deepEqual(
      steps.map((s) => s.branch),
      ['plan/b', 'plan/a', 'plan/c'],
    );
    assert.deepEqual(steps[1]!.resolveWith, ['trunk']);
    assert.match(steps[1]!.reason, /needs manual resolution against trunk \(2 files\)/);
  });

  test('the hub of many conflicts goes last, so it alone resolves them', () => {
    const conflicts = ['plan/a', 'plan/b', 'plan/c'].map((b) => ({ a: 'plan/hub', b, files: 1 }));
    const steps = recommendMergeOrder({
      branches: [cand('plan/hub', 1), cand('plan/a', 3), cand('plan/b', 3), cand('plan/c', 3)],
      conflicts,
    });
    assert.deepEqual(
      steps.map((s) => s.branch),
      ['plan/a', 'plan/b', 'plan/c', 'plan/hub'],
    );
    assert.deepEqual(steps[3]!.resolveWith, ['plan/a', 'plan/b', 'plan/c']);
    for (const s of steps.slice(0, 3)) assert.deepEqual(s.resolveWith, []);
  });

  test('dependencies chain through: C after B after A, whatever the sizes', () => {
    assert.deepEqual(
      order([cand('plan/c', 1, ['plan/b']), cand('plan/b', 1, ['plan/a']), cand('plan/a', 100), cand('plan/z', 50)]),
      ['plan/z', 'plan/a', 'plan/b', 'plan/c'],
    );
  });

  test('a dependency outside the set is ignored (already merged, or not a branch here)', () => {
    assert.deepEqual(order([cand('plan/b', 1, ['plan/gone']), cand('plan/a', 2)]), ['plan/b', 'plan/a']);
  });

  test('a dependency cycle is broken and reported, and every branch still appears once', () => {
    const steps = recommendMergeOrder({
      branches: [cand('plan/a', 1, ['plan/b']), cand('plan/b', 2, ['plan/a']), cand('plan/free', 9)],
      conflicts: [],
    });
    assert.deepEqual(
      steps.map((s) => s.branch),
      ['plan/free', 'plan/a', 'plan/b'],
    );
    assert.deepEqual(steps[1]!.cycle, ['plan/a', 'plan/b']);
    assert.match(steps[1]!.reason, /cycle \(plan\/a → plan\/b → plan\/a\); merged before plan\/b/);
    assert.equal(steps[2]!.cycle, undefined);
  });

  test('pairs naming unknown branches, zero-file pairs and duplicate branches are ignored', () => {
    const steps = recommendMergeOrder({
      branches: [cand('plan/a', 2), cand('plan/b', 1), cand('plan/a', 99)],
      conflicts: [
        { a: 'plan/a', b: 'plan/x', files: 3 },
        { a: 'plan/a', b: 'plan/b', files: 0 },
      ],
    });
    assert.deepEqual(
      steps.map((s) => s.branch),
      ['plan/b', 'plan/a'],
    );
    assert.ok(steps.every((s) => s.resolveWith.length === 0));
  });

  test('a branch with nothing to merge says so', () => {
    const [step] = recommendMergeOrder({ branches: [cand('plan/a', 0)], conflicts: [] });
    assert.match(step!.reason, /nothing to merge/);
  });

  test('50 branches with a dense conflict matrix stay fast and complete', () => {
    const branches = Array.from({ length: 50 }, (_, i) => cand(`plan/p${String(i).padStart(2, '0')}`, i % 7, i > 0 && i % 5 === 0 ? [`plan/p${String(i - 1).padStart(2, '0')}`] : []));
    const conflicts: PairConflict[] = [];
    for (let i = 0; i < 50; i++) for (let j = i + 1; j < 50; j++) if ((i * 7 + j * 3) % 4 === 0) conflicts.push({ a: branches[i]!.branch, b: branches[j]!.branch, files: 1 });
    const steps = recommendMergeOrder({ branches, conflicts });
    assert.equal(new Set(steps.map((s) => s.branch)).size, 50);
    const position = new Map(steps.map((s, i) => [s.branch, i]));
    for (const b of branches) for (const d of b.dependsOn) assert.ok(position.get(d)! < position.get(b.branch)!, `${d} before ${b.branch}`);
  });
});
