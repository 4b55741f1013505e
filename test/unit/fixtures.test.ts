/**
 * Behaviour tests of the engine against hand-written plans in `test/fixtures/<case>/`.
 *
 * Each folder holds `input.md` and `expected.json`:
 *   - `diagnostics` (required): the exact list, in the order the engine reports them (offset, then code):
 *     `{ code, severity, line, column, tasks, messageIncludes? }`; the message is compared only by the
 *     `messageIncludes` substring, when present.
 *   - `tasks` (optional, exact): `{ id, kind, checkbox, dependsOn, files, phase }` for every task and VERIFY
 *     item in document order; `dependsOn` lists targets as written (`"Phase 1"` for a phase dependency),
 *     `files` the normalised paths (or `_Boundary:_` names), `phase` the phase ID (`""` for the implicit one).
 *   - `preds` (optional; only the listed tasks are checked): `{ "<task>": [<task IDs it waits for directly>] }`,
 *     virtual phase nodes expanded to the tasks/VERIFY items they stand for. The list is compared modulo
 *     transitivity (see `checkPreds`), so a redundant edge on either side (e.g. `[SEQUENTIAL]` "adds an edge"
 *     on top of the phase barrier) neither fails nor hides a missing or extra ordering.
 *   - `dialect`, `title`, `phases` (list of phase IDs) (optional).
 *   - `lineEndings: "crlf"` (optional): the input is analysed with CRLF line endings even if a checkout
 *     normalised the file to LF.
 *   - `todo` (optional): a reason string marks the whole case `todo`; an object `{ diagnostics?, tasks?,
 *     preds?, dialect?, title?, phases? }` marks single aspects. Used for known engine bugs only.
 *
 * The fixtures are not copied to `out/`, so the folder is found by walking up from this file; this works
 * when run as TypeScript (tsx) and when compiled to `out/test/unit/fixtures.test.js`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzePlan, type Analysis } from '../../src/core/analyzer.js';
import type { PlanGraph } from '../../src/core/graph.js';

interface ExpectedDiagnostic {
  code: string;
  severity: string;
  line: number;
  column: number;
  tasks: string[];
  messageIncludes?: string;
}

interface ExpectedTask {
  id: string;
  kind: string;
  checkbox: string;
  dependsOn: string[];
  files: string[];
  phase: string;
}

type Aspect = 'diagnostics' | 'tasks' | 'preds' | 'dialect' | 'title' | 'phases';

interface Expected {
  diagnostics: ExpectedDiagnostic[];
  tasks?: ExpectedTask[];
  preds?: Record<string, string[]>;
  dialect?: string;
  title?: string;
  phases?: string[];
  lineEndings?: 'lf' | 'crlf';
  todo?: string | Partial<Record<Aspect, string>>;
}

function findFixturesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures');
    if (existsSync(candidate) && statSync(candidate).isDirectory() && readdirSync(candidate).length > 0) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no test/fixtures folder above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const byId = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/**
 * The task/VERIFY nodes a node waits for directly: virtual phase nodes (index >= taskCount) are replaced,
 * recursively, by their own predecessors until only tasks remain.
 */
function taskPreds(graph: PlanGraph, node: number): Set<number> {
  const out = new Set<number>();
  const seen = new Set<number>();
  const stack = [...graph.preds[node]!];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (p < graph.taskCount) {
      out.add(p);
      continue;
    }
    if (seen.has(p)) continue;
    seen.add(p);
    stack.push(...graph.preds[p]!);
  }
  return out;
}

/** Every task a node waits for, directly or through other tasks. */
function taskAncestors(graph: PlanGraph, node: number): Set<number> {
  const out = new Set<number>();
  const stack = [...taskPreds(graph, node)];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (out.has(t)) continue;
    out.add(t);
    for (const p of taskPreds(graph, t)) if (!out.has(p)) stack.push(p);
  }
  return out;
}

/**
 * `expected` is right when the task waits for exactly the expected tasks plus whatever those wait for:
 * ancestors(task) === expected ∪ ancestors(expected). Equal transitive closures mean the same schedule.
 */
function checkPreds(analysis: Analysis, preds: Record<string, string[]>): void {
  const { plan, graph } = analysis;
  const ids = (s: Iterable<number>): string[] => [...s].map((i) => plan.tasks[i]!.id).sort(byId);
  for (const [id, expectedIds] of Object.entries(preds)) {
    const node = graph.indexById.get(id);
    assert.ok(node !== undefined, `expected.json names task ${id}, which the engine did not find`);
    const closure = new Set<number>();
    for (const e of expectedIds) {
      const en = graph.indexById.get(e);
      assert.ok(en !== undefined, `expected.json names ${e} as a predecessor of ${id}, but the engine did not find ${e}`);
      closure.add(en);
      for (const a of taskAncestors(graph, en)) closure.add(a);
    }
    assert.deepEqual(
      ids(taskAncestors(graph, node)),
      ids(closure),
      `${id} waits for [${ids(taskPreds(graph, node)).join(', ')}] (directly); expected [${[...expectedIds].sort(byId).join(', ')}]. ` +
        'Compared as everything the task waits for, directly or not (actual vs expected).',
    );
  }
}

function projectTasks(analysis: Analysis): ExpectedTask[] {
  const { plan } = analysis;
  return plan.tasks.map((t) => ({
    id: t.id,
    kind: t.kind,
    checkbox: t.checkbox,
    dependsOn: t.dependsOn.map((d) => (d.kind === 'phase' ? `Phase ${d.target}` : d.target)),
    files: t.files.map((f) => f.path),
    phase: plan.phases[t.phaseIndex]!.id,
  }));
}

function checkDiagnostics(analysis: Analysis, expected: ExpectedDiagnostic[]): void {
  const actual = analysis.diagnostics.map((d) => ({ code: d.code, severity: d.severity, line: d.line, column: d.column, tasks: d.tasks }));
  const wanted = expected.map((d) => ({ code: d.code, severity: d.severity, line: d.line, column: d.column, tasks: d.tasks }));
  assert.deepEqual(actual, wanted, `diagnostics differ; the engine said:\n${analysis.diagnostics.map((d) => `  ${d.line}:${d.column} ${d.code}: ${d.message}`).join('\n')}`);
  expected.forEach((e, i) => {
    if (e.messageIncludes !== undefined) {
      const message = analysis.diagnostics[i]!.message;
      assert.ok(message.includes(e.messageIncludes), `diagnostic ${i} (${e.code}) message ${JSON.stringify(message)} does not include ${JSON.stringify(e.messageIncludes)}`);
    }
  });
}

const fixturesDir = findFixturesDir();
const cases = readdirSync(fixturesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

test('every fixture folder has input.md and expected.json', () => {
  assert.ok(cases.length > 0, `no fixtures in ${fixturesDir}`);
  for (const name of cases) {
    assert.ok(existsSync(join(fixturesDir, name, 'input.md')), `${name}/input.md is missing`);
    assert.ok(existsSync(join(fixturesDir, name, 'expected.json')), `${name}/expected.json is missing`);
  }
});

for (const name of cases) {
  const inputPath = join(fixturesDir, name, 'input.md');
  const expectedPath = join(fixturesDir, name, 'expected.json');
  if (!existsSync(inputPath) || !existsSync(expectedPath)) continue;
  const expected = JSON.parse(readFileSync(expectedPath, 'utf8')) as Expected;
  const wholeTodo = typeof expected.todo === 'string' ? expected.todo : undefined;
  // node:test does not carry a parent's `todo` to its subtests, so each aspect gets it explicitly.
  const aspectTodo = (a: Aspect | 'positions'): { todo?: string } => {
    const reason = wholeTodo ?? (typeof expected.todo === 'object' && a !== 'positions' ? expected.todo[a] : undefined);
    return reason ? { todo: reason } : {};
  };

  test(`fixture ${name}`, wholeTodo ? { todo: wholeTodo } : {}, async (t) => {
    let text = readFileSync(inputPath, 'utf8');
    if (expected.lineEndings === 'crlf') text = text.replace(/\r?\n/g, '\r\n');
    const analysis = analyzePlan(text);

    await t.test('diagnostics', aspectTodo('diagnostics'), () => checkDiagnostics(analysis, expected.diagnostics));
    if (expected.tasks) {
      const tasks = expected.tasks;
      await t.test('tasks', aspectTodo('tasks'), () => assert.deepEqual(projectTasks(analysis), tasks));
    }
    if (expected.preds) {
      const preds = expected.preds;
      await t.test('preds', aspectTodo('preds'), () => checkPreds(analysis, preds));
    }
    if (expected.dialect !== undefined) {
      const dialect = expected.dialect;
      await t.test('dialect', aspectTodo('dialect'), () => assert.equal(analysis.plan.dialect, dialect));
    }
    if (expected.title !== undefined) {
      const title = expected.title;
      await t.test('title', aspectTodo('title'), () => assert.equal(analysis.plan.title, title));
    }
    if (expected.phases !== undefined) {
      const phases = expected.phases;
      await t.test('phases', aspectTodo('phases'), () => assert.deepEqual(analysis.plan.phases.map((p) => p.id), phases));
    }
    await t.test('positions lie inside the text', aspectTodo('positions'), () => {
      const lines = text.split('\n').length;
      for (const d of analysis.diagnostics) {
        assert.ok(d.line >= 1 && d.line <= lines && d.column >= 1, `${d.code} at ${d.line}:${d.column} (text has ${lines} lines)`);
      }
      for (const task of analysis.plan.tasks) {
        assert.ok(task.range.start.offset >= 0 && task.range.end.offset <= text.length && task.range.start.offset <= task.range.end.offset, `task ${task.id} range`);
      }
    });
  });
}
