/**
 * Property tests of the engine (fast-check):
 *   - random plan-like documents (headings, checklists with random IDs, annotations, dependencies, paths,
 *     globs, fences, HTML, front matter, random unicode, CR/LF mixes) never make analyzePlan throw;
 *   - every diagnostic and every task range lies inside the text, and its line/column agree with its offset;
 *   - mutations of a valid plan (delete/duplicate/swap lines, inserted characters, truncation) give the
 *     same plan from a PlanAnalyzer that first analysed the original (chunk cache warm) as from a fresh one;
 *   - the chunked parse equals a parse of the whole text as one chunk, including documents with HTML
 *     blocks, over-indented fence lines and front matter (see test/fixtures/html-*, fence-indented-closer);
 *   - a ~10 MB plan (60,000 tasks over 600 phases) is analysed without throwing, and past the size
 *     limit its rest is reported as not read.
 * Set FUZZ_SEED to replay a failing run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { analyzePlan, PlanAnalyzer, type Analysis } from '../../src/core/analyzer.js';
import { assemblePlan } from '../../src/core/assemble.js';
import { parseChunk } from '../../src/core/markdown.js';
import type { SourcePoint, SourceRange } from '../../src/core/model.js';

const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(seed !== undefined ? { seed } : {}) });

// ---------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------

const smallNat = fc.integer({ min: 0, max: 12 });
const dottedId = fc
  .array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 3 })
  .map((parts) => parts.join('.'));
const tId = fc.integer({ min: 1, max: 40 }).map((n) => `T${String(n).padStart(3, '0')}`);
const anyId = fc.oneof(dottedId, dottedId, tId);
const idList = fc.array(anyId, { minLength: 1, maxLength: 4 }).map((ids) => ids.join(', '));

const word = fc.constantFrom(
  'build', 'the', 'parser', 'API', 'schema', 'tests', 'docs', 'release', 'cache', 'login', '検索', '实现', 'données', 'émoji 🎯',
  'P1', '6', 'gaps', 'TXXX', 'BE-001', '**bold**', '_em_', '<b>', '|', '\\', '&amp;', 'Phase', 'VERIFY', 'depends',
);
const pathLike = fc.constantFrom(
  'src/api.ts', 'src/models/user.py', 'docs/api/users.md', 'docs/api/*.md', 'src/**/*.ts', 'scripts/', 'tests/a.test.ts',
  'README.md', '.eslintrc.json', 'src/検索.ts', 'lib/{a,b}.ts', 'src/[ab].ts', 'a/b?.md', '*', '/', './src/x.ts', 'C:\\x\\y.ts',
);
const unicodeJunk = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom('`', '*', '_', '[', ']', '(', ')', '<', '>', '#', '-', ':', '\r', '\t', ' ', '\\', '~', '!', '|'), maxLength: 12 }),
);

const annotation = fc.oneof(
  idList.map((l) => `(depends: ${l})`),
  idList.map((l) => `(depends on ${l})`),
  idList.map((l) => `(Depends: ${l})`),
  idList.map((l) => `_Depends: ${l}_`),
  idList.map((l) => `(depends on ${l};`),
  smallNat.map((n) => `(Depends: Phase ${n})`),
  fc.constantFrom('(Depends: None)', '[P]', '(P)', '[SEQUENTIAL]', '[PARALLEL]', '[US1]', '(est: 45m)', '(est: 2h)', '(est: 1d)', '(est: soon)'),
  pathLike.map((p) => `\`${p}\``),
  pathLike.map((p) => `(${p})`),
  pathLike,
  fc.constantFrom('_Boundary: Storage_', '_Boundary: Api, Storage_', '_Requirements: 1.1, 2.3_', '**Files**: src/a.ts, src/b.ts'),
  word,
  unicodeJunk,
);

const itemId = fc.oneof(
  dottedId,
  tId,
  smallNat.map((n) => `${n}.`),
  dottedId.map((id) => `${id}:`),
  dottedId.map((id) => `**${id}**`),
  fc.constant(''),
);
const indent = fc.constantFrom('', '', '', '  ', '    ', '\t', '      ');
const box = fc.constantFrom('[ ]', '[x]', '[X]', '[-]', '[~]', '[ ]*', '', '[?]');
const bullet = fc.constantFrom('-', '-', '*', '+', '1.');

const checklistLine = fc
  .tuple(indent, bullet, box, itemId, fc.array(fc.oneof(word, annotation), { maxLength: 6 }))
  .map(([ind, b, bx, id, rest]) => `${ind}${b} ${bx ? `${bx} ` : ''}${id ? `${id} ` : ''}${rest.join(' ')}`.trimEnd());

const phaseHeading = fc
  .tuple(
    fc.constantFrom('#', '##', '##', '###', '####'),
    smallNat,
    fc.array(word, { maxLength: 3 }),
    fc.constantFrom('', '', ' [PARALLEL]', ' [SEQUENTIAL]', ' [COMPLETE]', ' (Priority: P1) 🎯', ' (parallel-with: Phase 3)', ' (pipeline-start: when 1.3 completes)'),
  )
  .map(([h, n, w, suffix]) => `${h} Phase ${n}: ${w.join(' ')}${suffix}`);

const otherHeading = fc.oneof(
  fc.constantFrom('# Implementation Plan: Fuzz', '## Overview', '## Dependencies', '### Upstream', '### Downstream', '## Success Criteria', '## Risks', '### VERIFY', '## 1. OpenSpec section', '## 2. Another section', '#', '#### Storage (depends: 1.1)'),
  fc.tuple(fc.constantFrom('#', '##', '###'), fc.array(word, { maxLength: 3 })).map(([h, w]) => `${h} ${w.join(' ')}`),
);

const paragraphLine = fc.oneof(
  smallNat.map((n) => `**VERIFY Phase ${n}:**`),
  fc.constantFrom('**VERIFY:**', '**VERIFY Phase 1:** (non-blocking)', '**VERIFY Phase 2:** (background: true)', '**Tasks:**', '**Objective:** do things'),
  fc.tuple(dottedId, dottedId).map(([a, b]) => `**Execution Note:** Tasks ${a}-${b} are [SEQUENTIAL]`),
  fc.tuple(dottedId, dottedId, dottedId).map(([a, b, c]) => `**Execution Note:** Tasks ${a}, ${b} and ${c} are [SEQUENTIAL]`),
  dottedId.map((id) => `pipeline-start: when ${id} completes`),
  fc.constantFrom('pipeline-start: 60% of Phase 1', '(parallel-with: Phase 2)', '[PARALLEL]', '- **Output:** `docs/out/`', '- **Priority:** P1', '- **plan-a.md**', '> quoted', '| a | b |', '|---|---|', '---', '***'),
  fc.array(fc.oneof(word, annotation), { minLength: 1, maxLength: 6 }).map((w) => w.join(' ')),
);

/**
 * Constructs that once made chunks.ts split where markdown does not: HTML blocks (the html-* fixtures),
 * fence lines indented 4+ spaces (fence-indented-closer) and `...` after front matter.
 */
const knownSplitterHazards = fc.constantFrom('<!--', '  <!-- note', '-->', '<details>', '</details>', '<pre>', '</pre>', '    ```', '     ~~~', '...');
const structure = fc.constantFrom('', '', '', '```', '```markdown', '~~~', '````', '---', 'title: x', '  - nested body', '  Depends on: 1.2');

function docArbitrary(withSplitterHazards: boolean): fc.Arbitrary<string> {
  const line = fc.oneof(
    { arbitrary: checklistLine, weight: 8 },
    { arbitrary: phaseHeading, weight: 3 },
    { arbitrary: otherHeading, weight: 1 },
    { arbitrary: paragraphLine, weight: 2 },
    { arbitrary: structure, weight: 3 },
    { arbitrary: withSplitterHazards ? knownSplitterHazards : structure, weight: 1 },
    { arbitrary: unicodeJunk, weight: 1 },
  );
  return fc
    .tuple(fc.array(line, { maxLength: 60 }), fc.constantFrom('\n', '\n', '\n', '\r\n'), fc.boolean())
    .map(([lines, eol, trailing]) => lines.join(eol) + (trailing ? eol : ''));
}

/** A valid seeds-style plan: phases, tasks with backward dependencies, paths, VERIFY blocks, annotations. */
const validPlan = fc
  .array(
    fc.record({
      tasks: fc.array(
        fc.record({
          deps: fc.array(fc.nat(), { maxLength: 2 }),
          file: fc.option(fc.constantFrom('src/api.ts', 'src/db.ts', 'docs/guide.md', 'docs/api/*.md', 'tests/'), { nil: undefined }),
          sequential: fc.boolean(),
          checked: fc.boolean(),
          body: fc.boolean(),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      verify: fc.nat({ max: 2 }),
      nonBlocking: fc.boolean(),
      parallel: fc.boolean(),
    }),
    { minLength: 1, maxLength: 5 },
  )
  .map((phases) => {
    const out = ['# Implementation Plan: Generated', '', '## Overview', '', '- **Objective:** Fuzz the analyzer', '- **Priority:** P2', ''];
    const earlier: string[] = [];
    phases.forEach((phase, pi) => {
      const n = pi + 1;
      out.push(`## Phase ${n}: Part ${n}${phase.parallel && n > 1 ? ' [PARALLEL]' : ''}`, '');
      phase.tasks.forEach((task, ti) => {
        const id = `${n}.${ti + 1}`;
        const deps = [...new Set(task.deps.filter(() => earlier.length > 0).map((d) => earlier[d % earlier.length]!))];
        const parts = [`- [${task.checked ? 'x' : ' '}] ${id} Task ${id}`];
        if (task.file) parts.push(`in \`${task.file}\``);
        if (deps.length > 0) parts.push(`(depends: ${deps.join(', ')})`);
        if (task.sequential) parts.push('[SEQUENTIAL]');
        out.push(parts.join(' '));
        if (task.body) out.push('  - Keep the change small', '  - Files: src/shared.ts');
        earlier.push(id);
      });
      if (phase.verify > 0) {
        out.push('', `**VERIFY Phase ${n}:**${phase.nonBlocking ? ' (non-blocking)' : ''}`);
        for (let v = 0; v < phase.verify; v++) out.push(`- [ ] Check ${v + 1} of phase ${n}`);
      }
      out.push('');
    });
    out.push('## Success Criteria', '', '- [ ] Everything passes', '');
    return out.join('\n');
  });

type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'duplicate'; at: number }
  | { op: 'swap'; at: number; with: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'truncate'; at: number }
  | { op: 'replace'; at: number; line: string };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((at): Mutation => ({ op: 'delete', at })),
  fc.nat().map((at): Mutation => ({ op: 'duplicate', at })),
  fc.tuple(fc.nat(), fc.nat()).map(([at, w]): Mutation => ({ op: 'swap', at, with: w })),
  fc.tuple(fc.nat(), fc.oneof(unicodeJunk, fc.constantFrom('\n', '#', '## Phase 9: X\n', '```\n', '- [ ] 1.1 again\n', '<!--', '-->', ' (depends: 1.1)', '\r\n'))).map(([at, text]): Mutation => ({ op: 'insert', at, text })),
  fc.nat().map((at): Mutation => ({ op: 'truncate', at })),
  fc.tuple(fc.nat(), fc.oneof(checklistLine, phaseHeading, paragraphLine)).map(([at, line]): Mutation => ({ op: 'replace', at, line })),
);

function mutate(text: string, ops: Mutation[]): string {
  let s = text;
  for (const m of ops) {
    const lines = s.split('\n');
    const li = lines.length > 0 ? m.at % lines.length : 0;
    switch (m.op) {
      case 'delete':
        lines.splice(li, 1);
        s = lines.join('\n');
        break;
      case 'duplicate':
        lines.splice(li, 0, lines[li] ?? '');
        s = lines.join('\n');
        break;
      case 'swap': {
        const lj = m.with % lines.length;
        [lines[li], lines[lj]] = [lines[lj]!, lines[li]!];
        s = lines.join('\n');
        break;
      }
      case 'replace':
        lines[li] = m.line;
        s = lines.join('\n');
        break;
      case 'insert': {
        const at = m.at % (s.length + 1);
        s = s.slice(0, at) + m.text + s.slice(at);
        break;
      }
      case 'truncate':
        s = s.slice(0, m.at % (s.length + 1));
        break;
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------------

/** How fast is for npm run bench; here every fuzzed document must simply be analysed. */
function analyzeWith(text: string, analyzer: PlanAnalyzer = new PlanAnalyzer()): Analysis {
  return analyzer.analyze(text);
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function checkPoint(text: string, starts: number[], p: SourcePoint, what: string): void {
  assert.ok(p.offset >= 0 && p.offset <= text.length, `${what}: offset ${p.offset} outside 0..${text.length}`);
  assert.ok(p.line >= 1 && p.line <= starts.length, `${what}: line ${p.line} outside 1..${starts.length}`);
  assert.equal(p.column, p.offset - starts[p.line - 1]! + 1, `${what}: column ${p.column} does not match offset ${p.offset} on line ${p.line}`);
  assert.ok(p.offset >= starts[p.line - 1]! && (p.line === starts.length || p.offset < starts[p.line]!), `${what}: offset ${p.offset} is not on line ${p.line}`);
}

function checkRange(text: string, starts: number[], r: SourceRange, what: string): void {
  checkPoint(text, starts, r.start, `${what} start`);
  checkPoint(text, starts, r.end, `${what} end`);
  assert.ok(r.start.offset <= r.end.offset, `${what}: range ends before it starts`);
}

function checkPositions(text: string, { plan, diagnostics }: Analysis): void {
  const starts = lineStarts(text);
  const lines = text.split('\n').length;
  for (const d of diagnostics) {
    assert.ok(d.line >= 1 && d.column >= 1 && d.line <= lines + 1, `${d.code} at ${d.line}:${d.column} (text has ${lines} lines)`);
    assert.ok(d.endLine >= d.line, `${d.code}: ends on line ${d.endLine} before it starts on ${d.line}`);
    checkRange(text, starts, d.range, `diagnostic ${d.code}`);
  }
  for (const t of plan.tasks) {
    checkRange(text, starts, t.range, `task ${t.id} range`);
    checkRange(text, starts, t.idRange, `task ${t.id} idRange`);
    assert.ok(t.idRange.start.offset >= t.range.start.offset && t.idRange.end.offset <= t.range.end.offset, `task ${t.id}: ID outside the item`);
    if (t.checkboxOffset >= 0) assert.ok(t.checkboxOffset < text.length, `task ${t.id}: checkbox offset outside the text`);
    for (const d of t.dependsOn) checkRange(text, starts, d.range, `task ${t.id} dependency ${d.target}`);
    for (const f of t.files) checkRange(text, starts, f.range, `task ${t.id} file ${f.path}`);
  }
  for (const p of plan.phases) checkRange(text, starts, p.range, `phase ${p.id}`);
  assert.equal(plan.lineCount, starts.length);
}

// ---------------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------------

test('random plan-like documents: no throw, positions inside the text', () => {
  fc.assert(
    fc.property(docArbitrary(true), (doc) => {
      checkPositions(doc, analyzeWith(doc));
    }),
    params(2000),
  );
});

test('random documents: parsing in chunks equals parsing the whole text as one chunk', () => {
  fc.assert(
    fc.property(docArbitrary(true), (doc) => {
      const chunked = new PlanAnalyzer().parse(doc);
      const whole = assemblePlan(doc, [{ offset: 0, blocks: parseChunk(doc).blocks }]);
      assert.deepStrictEqual(chunked, whole);
    }),
    params(1500),
  );
});

/**
 * 50 plans × 20 mutation sequences = 1,000 mutated documents. The analyzer's cache holds only the chunks of
 * the latest text, so re-analysing the original before each mutation puts it in exactly the state of an
 * analyzer that has seen only the original (and checks the way back, from a mutation to the original).
 */
test('mutations of a valid plan: incremental analysis equals a fresh one', () => {
  fc.assert(
    fc.property(validPlan, fc.array(fc.array(mutation, { minLength: 1, maxLength: 4 }), { minLength: 20, maxLength: 20 }), (original, sequences) => {
      const baseline = analyzeWith(original);
      checkPositions(original, baseline);
      const warm = new PlanAnalyzer();
      for (const ops of sequences) {
        assert.deepStrictEqual(analyzeWith(original, warm).plan, baseline.plan, 'analysing the original again after a mutation');
        const mutated = mutate(original, ops);
        const incremental = analyzeWith(mutated, warm);
        const fresh = analyzeWith(mutated);
        checkPositions(mutated, fresh);
        assert.deepStrictEqual(incremental.plan, fresh.plan, `mutations ${JSON.stringify(ops)}`);
        assert.deepStrictEqual(incremental.diagnostics, fresh.diagnostics);
      }
    }),
    params(50),
  );
});

test('random document pairs: analysing A then B equals analysing B fresh', () => {
  fc.assert(
    fc.property(docArbitrary(true), docArbitrary(true), (a, b) => {
      const warm = new PlanAnalyzer();
      analyzeWith(a, warm);
      const incremental = analyzeWith(b, warm);
      assert.deepStrictEqual(incremental.plan, analyzeWith(b).plan);
      assert.deepStrictEqual(incremental.diagnostics, analyzePlan(b).diagnostics);
    }),
    params(500),
  );
});

test('valid generated plans have no error diagnostics', () => {
  fc.assert(
    fc.property(validPlan, (plan) => {
      const { diagnostics } = analyzeWith(plan);
      const errors = diagnostics.filter((d) => d.severity === 'error');
      assert.deepEqual(errors.map((d) => `${d.line}:${d.column} ${d.code}: ${d.message}`), []);
    }),
    params(300),
  );
});

/** ~10 MB: 600 phases × 100 tasks, dependencies inside and across phases, paths (some shared), VERIFY blocks. */
function hugePlan(phases: number, perPhase: number): string {
  const out: string[] = ['# Implementation Plan: Ten megabytes', '', '## Overview', '', '- **Objective:** Stress the analyzer', ''];
  const filler = 'so that this line is about as long as the task lines in real plans written by people';
  for (let p = 1; p <= phases; p++) {
    out.push(`## Phase ${p}: Part ${p} of the work${p % 50 === 0 ? ' [PARALLEL]' : ''}`, '', `**Objective:** Finish part ${p}.`, '');
    for (let t = 1; t <= perPhase; t++) {
      const id = `${p}.${t}`;
      let deps = '';
      if (t % 5 === 0) deps = ` (depends: ${p}.${t - 1}, ${p}.${t - 2})`;
      else if (t % 7 === 0 && p > 2) deps = ` (depends: ${p - 2}.${t})`;
      const file = t % 10 === 3 ? `src/shared/module${p % 7}.ts` : `src/part${p}/file${t}.ts`;
      const seq = t % 13 === 0 ? ' [SEQUENTIAL]' : '';
      out.push(`- [${(p * t) % 3 === 0 ? 'x' : ' '}] ${id} Implement step ${t} of part ${p} in \`${file}\` ${filler} (est: ${(t % 4) + 1}h)${deps}${seq}`);
    }
    out.push('', `**VERIFY Phase ${p}:**`, `- [ ] \`npm test -- part${p}\` passes`, `- [ ] Review part ${p}`, '');
  }
  return out.join('\n');
}

test('a ~10 MB plan (60,000 tasks over 600 phases) is analysed without throwing', { timeout: 120_000 }, (t) => {
  const text = hugePlan(600, 100);
  const start = performance.now();
  // The whole text, past the default size limit: the engine itself must hold a plan this big.
  const { plan, graph, diagnostics } = analyzePlan(text, { limits: { maxPlanLength: Number.POSITIVE_INFINITY } });
  const ms = performance.now() - start;
  t.diagnostic(`${(text.length / 1e6).toFixed(1)} MB, ${plan.tasks.length} tasks/VERIFY items, ${graph.nodeCount} nodes, ${diagnostics.length} diagnostics: ${(ms / 1000).toFixed(1)} s`);
  assert.equal(plan.phases.length, 600);
  assert.equal(plan.tasks.filter((x) => x.kind === 'task').length, 60_000);
  assert.ok(text.length >= 9_000_000, `generated plan is only ${text.length} characters`);
  // With the default limit, what is past 2 MB is not read and one error says so.
  const limited = analyzePlan(text);
  const errors = limited.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors.map((d) => d.code), ['plan-too-complex']);
  assert.ok(limited.plan.tasks.length < plan.tasks.length / 2);
});
