import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlan } from '../../src/core/analyzer.js';

test('parses a one-task plan', () => {
  const plan = parsePlan('# Plan: X\n\n## Phase 1: A\n\n- [ ] 1.1 Do it\n');
  assert.equal(plan.tasks.length, 1);
  assert.equal(plan.title, 'X');
});
