/**
 * `npm run bench`: every figure is printed with the machine and as a ratio against a baseline
 * measured in the same run, because absolute times on shared machines are noisy.
 * `npm run bench -- --write` also rewrites the results table in docs/benchmarks.md.
 */
import os from 'node:os';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkGfm from 'remark-gfm';
import { PlanAnalyzer } from '../src/core/analyzer.js';
import { readyTasks, simulate, simulateBatched, type TaskStatus } from '../src/core/schedule.js';
import { StatusStore, readStatusFile } from '../src/core/status.js';
import { generatePlan, generateSchedulingPlan, rng } from './generate.js';
import { benchConflicts } from './conflicts.js';
import { benchWorktrees } from './worktrees.js';
import { benchOrchestrate } from './orchestrate.js';
import { benchApi } from './api.js';
import { benchTop } from './top.js';
import { benchAgentOverhead } from './agentOverhead.js';
import { benchDistributed } from './distributed.js';
import type { BenchRow } from './row.js';
import { SHAPES, planWithShape } from '../test/unit/helpers/pathological.js';
import { AnalysisWorker } from '../src/core/offThread.js';

type Row = BenchRow;

const rows: Row[] = [];
const quick = process.argv.includes('--quick');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median wall time of `fn` in ms over at least `runs` runs (after one warm-up). */
function time(fn: () => unknown, runs: number): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

const ms = (x: number): string => (x >= 100 ? `${x.toFixed(0)} ms` : x >= 1 ? `${x.toFixed(1)} ms` : `${x.toFixed(3)} ms`);

function lineScan(text: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (/^\s*- \[[ xX]\] \d/.test(line)) n++;
  return n;
}

const bareRemark = unified().use(remarkParse).use(remarkGfm);

function benchAnalysis(): void {
  for (const size of quick ? [100, 1000] : [100, 1000, 10000]) {
    const text = generatePlan({ tasks: size, seed: size });
    const runs = size >= 10000 ? 3 : size >= 1000 ? 7 : 25;
    const scan = time(() => lineScan(text), runs * 3);
    const remark = time(() => bareRemark.parse(text), runs);
    const full = time(() => new PlanAnalyzer().analyze(text), runs);
    rows.push({
      name: `full analysis, ${size} tasks (${(text.length / 1024).toFixed(0)} KB)`,
      value: ms(full),
      baseline: `bare remark+gfm parse ${ms(remark)}; line scan ${ms(scan)}`,
      ratio: `×${(full / remark).toFixed(2)} of remark; ×${(full / scan).toFixed(0)} of line scan`,
      goal: '—',
    });
  }
}

function benchIncremental(): void {
  const text = generatePlan({ tasks: 1000, seed: 7 });
  const lines = text.split('\n');
  const target = lines.findIndex((l) => l.startsWith('- [ ] 25.10 '));
  const analyzer = new PlanAnalyzer();
  analyzer.analyze(text);
  const samples: number[] = [];
  let parsedChunks = 0;
  for (let i = 0; i < (quick ? 15 : 41); i++) {
    const edited = [...lines];
    edited[target] = `${lines[target]} edit ${i}`;
    const t = performance.now();
    analyzer.analyze(edited.join('\n'));
    samples.push(performance.now() - t);
    parsedChunks = Math.max(parsedChunks, analyzer.lastParsedChunks);
  }
  const full = time(() => new PlanAnalyzer().analyze(text), 5);
  const inc = median(samples);
  rows.push({
    name: 're-analysis after a one-line edit, 1,000 tasks',
    value: `${ms(inc)} median (${parsedChunks} chunk re-parsed)`,
    baseline: `full analysis ${ms(full)}`,
    ratio: `×${(inc / full).toFixed(3)}`,
    goal: '≤ 20 ms',
  });
}

/**
 * Every pathological shape of test/unit/helpers/pathological.ts in a task body, analysed cold; the row
 * shows the slowest, against a normal generated plan of the same size.
 */
function benchPathological(): void {
  const size = quick ? 256 * 1024 : 1024 * 1024;
  let worst = { name: '', ms: 0, warnings: 0 };
  for (const shape of SHAPES) {
    const { text } = planWithShape(shape.make(size));
    const t = time(() => new PlanAnalyzer().analyze(text), quick ? 1 : 3);
    if (t > worst.ms) {
      const warnings = new PlanAnalyzer().analyze(text).diagnostics.filter((d) => d.code === 'plan-too-complex').length;
      worst = { name: shape.name, ms: t, warnings };
    }
  }
  let tasks = 100;
  let normal = generatePlan({ tasks, seed: 9 });
  while (normal.length < size) normal = generatePlan({ tasks: (tasks = Math.ceil((tasks * size) / normal.length) + 1), seed: 9 });
  const base = time(() => new PlanAnalyzer().analyze(normal), quick ? 1 : 3);
  rows.push({
    name: `worst of ${SHAPES.length} pathological shapes, ${(size / 1024).toFixed(0)} KB in a task body (cold analysis)`,
    value: `${ms(worst.ms)}: ${worst.name} (${worst.warnings} plan-too-complex warning${worst.warnings === 1 ? '' : 's'})`,
    baseline: `normal plan of ${tasks} tasks (${(normal.length / 1024).toFixed(0)} KB) ${ms(base)}`,
    ratio: `×${(worst.ms / base).toFixed(2)}`,
    goal: '≤ 2 s',
  });
}

/**
 * A 10 MB plan of ordinary tasks the way planctl, the API and the extension read it: in the analysis
 * worker, with the model sent back to the main thread. Past the size limit the rest is not read (an
 * error says so); the baseline is a 1 MB plan through the same path.
 */
async function benchHugePlan(): Promise<void> {
  const sized = (bytes: number): string => {
    let tasks = 1000;
    let text = generatePlan({ tasks, seed: 13 });
    while (text.length < bytes) text = generatePlan({ tasks: (tasks = Math.ceil((tasks * bytes) / text.length) + 1), seed: 13 });
    return text;
  };
  const huge = sized(10_000_000);
  const small = sized(1_000_000);
  const worker = new AnalysisWorker({ alwaysInWorker: true });
  try {
    const once = async (text: string): Promise<number> => {
      const t = performance.now();
      await worker.analyze(text);
      return performance.now() - t;
    };
    const median = async (text: string, runs: number): Promise<number> => {
      const all: number[] = [];
      for (let i = 0; i < runs; i++) all.push(await once(`${text}\n<!-- ${i} -->\n`));
      return all.sort((a, b) => a - b)[Math.floor(all.length / 2)]!;
    };
    const runs = quick ? 1 : 3;
    await once(small); // the worker's start-up is not part of either figure
    const base = await median(small, runs);
    const value = await median(huge, runs);
    rows.push({
      name: `plan of ${(huge.length / 1e6).toFixed(1)} MB ordinary tasks, analysed in the worker thread (as planctl/API/extension)`,
      value: ms(value),
      baseline: `${(small.length / 1e6).toFixed(1)} MB plan ${ms(base)}`,
      ratio: `×${(value / base).toFixed(2)}`,
      goal: '≤ 2 s',
    });
  } finally {
    worker.dispose();
  }
}

function benchNext(): void {
  const text = generatePlan({ tasks: 10000, seed: 11 });
  const { plan, graph } = new PlanAnalyzer().analyze(text);
  const random = rng(5);
  const status = new Map<string, TaskStatus>();
  // The first half of the phases is done, so the ready set sits in the middle of the plan.
  for (const t of plan.tasks) if (t.phaseIndex < plan.phases.length / 2) status.set(t.id, 'completed');
  for (const t of plan.tasks) if (t.phaseIndex === Math.floor(plan.phases.length / 2) && random() < 0.2) status.set(t.id, 'in_progress');
  const lookup = (id: string): TaskStatus | undefined => status.get(id);
  const next = time(() => readyTasks(plan, graph, lookup, 5), 21);
  const scan = time(() => lineScan(text), 21);
  rows.push({
    name: '`next 5` on a 10,000-task plan (half done)',
    value: ms(next),
    baseline: `line scan of the file ${ms(scan)}`,
    ratio: `×${(next / scan).toFixed(2)}`,
    goal: '≤ 10 ms',
  });
}

function benchSimulate(): void {
  const plans = quick ? 40 : 200;
  let sumBound = 0;
  let sumBatched = 0;
  let worstBound = 0;
  const workers = 4;
  for (let seed = 1; seed <= plans; seed++) {
    const { plan, graph } = new PlanAnalyzer().analyze(generateSchedulingPlan(seed));
    const s = simulate(plan, graph, { workers });
    const b = simulateBatched(plan, graph, { workers });
    sumBound += s.makespan / s.lowerBound;
    worstBound = Math.max(worstBound, s.makespan / s.lowerBound);
    sumBatched += s.makespan / b.makespan;
  }
  rows.push({
    name: `simulate quality: ${plans} random plans, ${workers} workers`,
    value: `makespan / lower bound = ${(sumBound / plans).toFixed(3)} (worst ${worstBound.toFixed(2)})`,
    baseline: 'lower bound max(critical path, work / W)',
    ratio: `×${(sumBound / plans).toFixed(3)}`,
    goal: '≤ 1.05',
  });
  rows.push({
    name: `simulate vs the seeds' batched pattern, same plans`,
    value: `makespan / batched makespan = ${(sumBatched / plans).toFixed(3)}`,
    baseline: 'batched: take W ready tasks, wait for all',
    ratio: `×${(sumBatched / plans).toFixed(3)}`,
    goal: '≤ 0.65',
  });
}

async function benchStatus(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'planctl-bench-'));
  try {
    const procs = 16;
    const each = 50;
    const file = path.join(dir, 'status.json');
    const worker = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './status-worker.ts' : './status-worker.js', import.meta.url));
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: procs }, (_, p) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, [...(worker.endsWith('.ts') ? ['--import', 'tsx'] : []), worker, file, String(p), String(each)], { stdio: 'inherit' });
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker exited ${code}`))));
        }),
      ),
    );
    const parallelMs = performance.now() - t0;
    const status = await readStatusFile(file);
    const count = Object.keys(status?.tasks ?? {}).length;
    const lost = procs * each - count;

    const single = new StatusStore(path.join(dir, 'single.json'), 'plan.md');
    const t1 = performance.now();
    for (let i = 0; i < procs * each; i++) await single.setTaskStatus(`s.${i}`, 'completed');
    const singleMs = performance.now() - t1;
    const parallelRate = (procs * each) / (parallelMs / 1000);
    const singleRate = (procs * each) / (singleMs / 1000);
    rows.push({
      name: `status updates: ${procs} processes × ${each} on one plan`,
      value: `${lost} lost of ${procs * each}; version ${status?.version}; ${parallelRate.toFixed(0)} updates/s`,
      baseline: `one process, same ${procs * each} updates: ${singleRate.toFixed(0)} updates/s`,
      ratio: `×${(parallelRate / singleRate).toFixed(2)} throughput`,
      goal: '0 lost',
    });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/**
 * The browser dashboard's event latency (bench/browser-dashboard.mjs): a plain script beside the
 * Chromium test's fixture helpers, so it runs in a process of its own from the source tree.
 */
async function benchBrowserDashboard(): Promise<BenchRow[]> {
  const script = path.resolve(fileURLToPath(new URL('.', import.meta.url)), import.meta.url.endsWith('.ts') ? '.' : '../../bench', 'browser-dashboard.mjs');
  const child = spawn(process.execPath, [script, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`${script} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1)!) as BenchRow[];
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

function table(): string {
  const lines = ['| benchmark | result | baseline (same run) | ratio | goal |', '|---|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.name} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.goal} |`);
  return lines.join('\n');
}

/** Wall time of `planctl --version` (Node's start and the bundle's loading), against `node -e 0`. */
async function benchStartup(): Promise<void> {
  const planctl = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../dist/planctl.mjs');
  const once = (args: string[]) =>
    new Promise<number>((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(process.execPath, args, { stdio: 'ignore' });
      child.on('error', reject);
      child.on('close', () => resolve(performance.now() - t0));
    });
  const cli: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 15; i++) {
    cli.push(await once([planctl, '--version']));
    bare.push(await once(['-e', '0']));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const size = (await fs.stat(planctl)).size;
  rows.push({
    name: `planctl start-up: \`planctl --version\` (dist/planctl.mjs, ${(size / 2 ** 20).toFixed(2)} MB), median of 15`,
    value: `${med(cli).toFixed(0)} ms`,
    baseline: `node -e 0: ${med(bare).toFixed(0)} ms`,
    ratio: `×${(med(cli) / med(bare)).toFixed(2)} of bare Node`,
    goal: '—',
  });
}

async function main(): Promise<void> {
  const started = new Date().toISOString();
  await benchStartup();
  benchAnalysis();
  benchIncremental();
  benchPathological();
  await benchHugePlan();
  benchNext();
  benchSimulate();
  await benchStatus();
  rows.push(...(await benchConflicts()));
  rows.push(...(await benchWorktrees()));
  rows.push(...(await benchApi()));
  rows.push(...(await benchBrowserDashboard()));
  rows.push(...(await benchTop()));
  if (!quick) rows.push(...(await benchOrchestrate({ withCommits: false })));
  if (!quick) rows.push(...(await benchAgentOverhead()));
  if (!quick) rows.push(...(await benchDistributed()));
  const report = `Machine: ${machine()}\nRun: ${started}${quick ? ' (--quick)' : ''}\n\n${table()}\n`;
  process.stdout.write(report);
  if (process.argv.includes('--write')) {
    const doc = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../docs/benchmarks.md');
    const current = await fs.readFile(doc, 'utf8');
    const begin = '<!-- results:begin -->';
    const end = '<!-- results:end -->';
    const next = current.replace(new RegExp(`${begin}[\\s\\S]*${end}`), `${begin}\n${report}${end}`);
    await fs.writeFile(doc, next);
    process.stdout.write(`\nwrote ${doc}\n`);
  }
}

await main();
