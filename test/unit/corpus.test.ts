/**
 * The engine against real plans written by other people: `<repo>/../shared/corpus/INDEX.tsv` gives, per
 * file, the hand counts a correct parser must report (see that folder's README.md):
 *   phases        = non-implicit phases that contain at least one counted task;
 *   tasks         = countedTasks(plan);
 *   checked       = counted tasks whose checkbox is 'checked';
 *   explicit_deps = counted tasks with at least one dependsOn entry written on the task (source 'task').
 * Every corpus file and the two whole-plan seeds (001, 004) must analyse without an error diagnostic.
 * The corpus and seeds live outside the repository and are never copied into it; the tests skip when absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { analyzePlan, type Analysis } from '../../src/core/analyzer.js';
import { countedTasks } from '../../src/core/model.js';

function findRepoRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && !dir.split(/[\\/]/).includes('node_modules')) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const repoRoot = findRepoRoot();
const sharedDir = repoRoot ? resolve(repoRoot, '..', 'shared') : undefined;
const corpusDir = sharedDir ? join(sharedDir, 'corpus') : undefined;
const seedsDir = sharedDir ? join(sharedDir, 'seeds') : undefined;

interface Counts {
  phases: number;
  tasks: number;
  checked: number;
  explicit_deps: number;
}

function countsOf({ plan }: Analysis): Counts {
  const counted = countedTasks(plan);
  const phasesWithTasks = new Set(counted.map((t) => t.phaseIndex));
  return {
    phases: plan.phases.filter((p, i) => !p.implicit && phasesWithTasks.has(i)).length,
    tasks: counted.length,
    checked: counted.filter((t) => t.checkbox === 'checked').length,
    explicit_deps: counted.filter((t) => t.dependsOn.some((d) => d.source === 'task')).length,
  };
}

function errorsOf({ diagnostics }: Analysis): string[] {
  return diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column} ${d.code}: ${d.message}`);
}

interface Row {
  path: string;
  expected: Counts;
  notes: string;
}

function readIndex(dir: string): Row[] {
  const lines = readFileSync(join(dir, 'INDEX.tsv'), 'utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = lines[0]!.split('\t');
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`INDEX.tsv has no column ${name}`);
    return i;
  };
  const [path, phases, tasks, checked, deps, notes] = ['path', 'phases', 'tasks', 'checked', 'explicit_deps', 'notes'].map(col) as [number, number, number, number, number, number];
  return lines.slice(1).map((line) => {
    const cells = line.split('\t');
    const num = (i: number): number => {
      const n = Number(cells[i]);
      if (!Number.isInteger(n)) throw new Error(`INDEX.tsv: ${cells[path]} has a non-numeric cell ${JSON.stringify(cells[i])}`);
      return n;
    };
    return {
      path: cells[path]!,
      expected: { phases: num(phases), tasks: num(tasks), checked: num(checked), explicit_deps: num(deps) },
      notes: cells[notes] ?? '',
    };
  });
}

test('corpus: hand counts of INDEX.tsv and no errors', async (t) => {
  if (!corpusDir || !existsSync(join(corpusDir, 'INDEX.tsv'))) {
    t.skip(`no corpus at ${corpusDir ?? '<repo>/../shared/corpus'}`);
    return;
  }
  const rows = readIndex(corpusDir);
  assert.ok(rows.length > 0, 'INDEX.tsv lists no files');
  for (const row of rows) {
    await t.test(row.path, () => {
      const file = join(corpusDir, row.path);
      assert.ok(existsSync(file), `${row.path} is listed in INDEX.tsv but missing`);
      const analysis = analyzePlan(readFileSync(file, 'utf8'));
      assert.deepEqual(countsOf(analysis), row.expected, `counts for ${row.path} (notes: ${row.notes})`);
      assert.deepEqual(errorsOf(analysis), [], `${row.path} has error diagnostics`);
      // The model crosses from the analysis worker as JSON (offThread.ts): it must be plain data.
      assert.deepEqual(JSON.parse(JSON.stringify(analysis.plan)), analysis.plan, `${row.path}: the model is not plain JSON data`);
    });
  }
});

test('seeds 001 and 004 analyse without errors', async (t) => {
  if (!seedsDir || !existsSync(seedsDir)) {
    t.skip(`no seeds at ${seedsDir ?? '<repo>/../shared/seeds'}`);
    return;
  }
  const names = readdirSync(seedsDir);
  for (const prefix of ['001_', '004_']) {
    const name = names.find((n) => n.startsWith(prefix));
    await t.test(`seed ${prefix}*`, name ? {} : { skip: `no seed ${prefix}* in ${seedsDir}` }, () => {
      const analysis = analyzePlan(readFileSync(join(seedsDir, name!), 'utf8'));
      assert.ok(countedTasks(analysis.plan).length > 0, `seed ${name} has no tasks`);
      assert.ok(analysis.plan.phases.some((p) => !p.implicit), `seed ${name} has no phases`);
      assert.deepEqual(errorsOf(analysis), [], `seed ${name} has error diagnostics`);
    });
  }
});
