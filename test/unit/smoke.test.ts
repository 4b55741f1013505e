import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlan } from '../../src/core/analyzer.js';

test('parses a one-task plan', () => {
  const plan = parsePlan('# Plan: X\n\n## Phase 1: A\n\n- [ ] 1.1 Do it\n');
  assert.equal(plan.tasks.length, 1);
  assert.equal(plan.title, 'X');
});

test('an Upstream bullet may name a phase of the other plan', () => {
  const plan = parsePlan(
    '# Plan: B\n\n## Dependencies\n\n### Upstream\n- **a.md** (phase 2)\n- `c.md` through Phase 3: the API\n- [d](../d.md)\n- None\n\n## Phase 1: A\n\n- [ ] 1.1 Do it\n',
  );
  assert.deepEqual(
    plan.planDependencies.map((d) => ({ name: d.name, phase: d.phase })),
    [
      { name: 'a.md', phase: '2' },
      { name: 'c.md', phase: '3' },
      { name: '../d.md', phase: undefined },
    ],
  );
});
