import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePlan } from '../../src/core/analyzer.js';
import { crossPlanFileOverlaps, type CrossPlanOverlap } from '../../src/core/crossPlan.js';
import type { FileRef, Plan } from '../../src/core/model.js';

function plan(tasks: string[]): { text: string; plan: Plan } {
  const text = `# Plan\n\n## Phase 1: Work\n\n${tasks.map((t) => `- [ ] ${t}`).join('\n')}\n`;
  return { text, plan: parsePlan(text) };
}

let offset = 0;
function ref(path: string, isGlob = false): FileRef {
  const point = { line: 1, column: 1, offset: offset++ };
  return { path, isGlob, kind: 'path', range: { start: point, end: point } };
}

function syntheticPlan(tasks: Array<[string, FileRef[]]>): Plan {
  const base = parsePlan('# P\n\n## Phase 1: A\n\n- [ ] 1.1 A\n');
  const template = base.tasks[0]!;
  return { ...base, tasks: tasks.map(([id, files], index) => ({ ...template, id, index, files })) };
}

const brief = (o: CrossPlanOverlap): string => `${o.planA}:${o.taskA} → ${o.planB}:${o.taskB} ${o.file}`;

describe('crossPlanFileOverlaps', () => {
  test('the same path in two plans is reported from both sides, each anchored on its own reference', () => {
    const auth = plan(['1.1 Login form in `src/ui/login.tsx`', '1.2 Session store in `src/session.ts`']);
    const billing = plan(['1.1 Invoices in `src/billing.ts`', '1.2 Session expiry in `src/session.ts`']);
    const result = crossPlanFileOverlaps([
      { name: 'auth', plan: auth.plan },
      { name: 'billing', plan: billing.plan },
    ]);
    assert.deepEqual(result.map(brief), ['billing:1.2 → auth:1.2 src/session.ts', 'auth:1.2 → billing:1.2 src/session.ts']);
    const [inAuth, inBilling] = result;
    assert.equal(auth.text.slice(inAuth!.range.start.offset, inAuth!.range.end.offset), '`src/session.ts`');
    assert.equal(billing.text.slice(inBilling!.range.start.offset, inBilling!.range.end.offset), '`src/session.ts`');
    assert.equal(inBilling!.range.start.line, 6);
  });

  test('overlaps inside one plan are left to its own file-conflict check', () => {
    const one = plan(['1.1 A in `src/x.ts`', '1.2 B in `src/x.ts`']);
    const other = plan(['1.1 C in `src/y.ts`']);
    assert.deepEqual(crossPlanFileOverlaps([{ name: 'one', plan: one.plan }, { name: 'other', plan: other.plan }]), []);
  });

  test('a glob meets a path: the concrete path is the file', () => {
    const docs = plan(['1.1 Regenerate the API pages (docs/api/*.md)']);
    const users = plan(['1.1 Hand-write `docs/api/users.md`', '1.2 Changelog `docs/CHANGELOG.md`']);
    const result = crossPlanFileOverlaps([
      { name: 'docs', plan: docs.plan },
      { name: 'users', plan: users.plan },
    ]);
    assert.deepEqual(result.map(brief), ['users:1.1 → docs:1.1 docs/api/users.md', 'docs:1.1 → users:1.1 docs/api/users.md']);
    assert.equal(docs.text.slice(result[0]!.range.start.offset, result[0]!.range.end.offset), 'docs/api/*.md');
  });

  test('two globs overlap when one matches an example of the other; disjoint folders do not', () => {
    const a = plan(['1.1 All sources (src/**/*.ts)', '1.2 Scripts (scripts/*.sh)']);
    const b = plan(['1.1 UI sources (src/ui/*.ts)', '1.2 Docs (docs/*.md)']);
    assert.deepEqual(
      crossPlanFileOverlaps([
        { name: 'a', plan: a.plan },
        { name: 'b', plan: b.plan },
      ]).map(brief),
      ['b:1.1 → a:1.1 src/**/*.ts', 'a:1.1 → b:1.1 src/ui/*.ts'],
    );
  });

  test('boundaries conflict only with the same boundary name, never with paths', () => {
    const a = plan(['1.1 Tokens _Boundary: Auth_', '1.2 Files in `Auth`']);
    const b = plan(['1.1 Sessions _Boundary: Auth_', '1.2 Payments _Boundary: Billing_']);
    assert.deepEqual(
      crossPlanFileOverlaps([
        { name: 'a', plan: a.plan },
        { name: 'b', plan: b.plan },
      ]).map(brief),
      ['b:1.1 → a:1.1 Auth', 'a:1.1 → b:1.1 Auth'],
    );
  });

  test('one result per task pair and direction; an exact path wins over a glob match', () => {
    const a = plan(['1.1 Both (src/*.ts) and `src/main.ts`']);
    const b = plan(['1.1 Main `src/main.ts` and `src/util.ts`']);
    const result = crossPlanFileOverlaps([
      { name: 'a', plan: a.plan },
      { name: 'b', plan: b.plan },
    ]);
    assert.deepEqual(result.map(brief), ['b:1.1 → a:1.1 src/main.ts', 'a:1.1 → b:1.1 src/main.ts']);
    assert.equal(a.text.slice(result[0]!.range.start.offset, result[0]!.range.end.offset), '`src/main.ts`');
  });

  test('plans with the same name are one plan (e.g. open in two worktrees) and are not compared', () => {
    const a = plan(['1.1 A in `src/x.ts`']);
    const b = plan(['1.1 A in `src/x.ts`']);
    assert.deepEqual(crossPlanFileOverlaps([{ name: 'same', plan: a.plan }, { name: 'same', plan: b.plan }]), []);
  });

  test('VERIFY items are not tasks and are not compared', () => {
    const a = { name: 'a', plan: parsePlan('# P\n\n## Phase 1: A\n\n- [ ] 1.1 Build `src/x.ts`\n\n**VERIFY Phase 1:**\n- [ ] `src/y.ts` compiles\n') };
    const b = { name: 'b', plan: plan(['1.1 Edit `src/y.ts`']).plan };
    assert.deepEqual(crossPlanFileOverlaps([a, b]), []);
  });

  test('anchor keeps only results anchored in that plan; an unknown anchor gives nothing', () => {
    const plans = ['p', 'q', 'r'].map((name) => ({ name, plan: plan(['1.1 Shared `src/shared.ts`']).plan }));
    const anchored = crossPlanFileOverlaps(plans, { anchor: 'q' });
    assert.deepEqual(anchored.map(brief), ['p:1.1 → q:1.1 src/shared.ts', 'r:1.1 → q:1.1 src/shared.ts']);
    assert.deepEqual(crossPlanFileOverlaps(plans, { anchor: 'nope' }), []);
    assert.equal(crossPlanFileOverlaps(plans).length, 6);
  });

  test('10 plans × 1,000 tasks: fast, and every overlap found', () => {
    // Each plan mostly touches its own folder; every 50th task touches one of 5 shared files and
    // every plan has one glob over the shared folder.
    // Built directly rather than parsed: parsing 10,000 tasks would dominate the test's time.
    const plans = Array.from({ length: 10 }, (_, p) => {
      const tasks: Array<[string, FileRef[]]> = [];
      for (let i = 1; i <= 1000; i++) {
        const files = [ref(`src/plan${p}/mod${i % 100}/file${i}.ts`)];
        if (i % 50 === 0) files.push(ref(`src/shared/s${(i / 50) % 5}.ts`));
        tasks.push([`1.${i}`, files]);
      }
      tasks.push(['1.1001', [ref('src/shared/*.ts', true)]]);
      return { name: `plan${p}`, plan: syntheticPlan(tasks) };
    });
    const result = crossPlanFileOverlaps(plans);
    // Per plan: 20 tasks on shared files (4 per file) + the glob task.
    // Shared-file pairs across plans: 5 files × C(10,2) plan pairs × 4×4 tasks × 2 directions = 7,200.
    // Glob vs shared-file tasks of other plans: 10 globs × 9 plans × 20 tasks × 2 = 3,600.
    // Glob vs glob: C(10,2) × 2 = 90.
    assert.equal(result.length, 7200 + 3600 + 90);
    const anchored = crossPlanFileOverlaps(plans, { anchor: 'plan3' });
    assert.equal(anchored.length, result.filter((r) => r.planB === 'plan3').length);
  });
});
