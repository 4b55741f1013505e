/**
 * Pathological and huge plans through the shipped entry points: `planctl validate` (the bundle,
 * dist/planctl.mjs) ends with a `plan-too-complex` warning and stops on SIGTERM/SIGINT while it
 * analyses; `GET /api/plans` lists such a plan with its diagnostic count and keeps answering other
 * requests meanwhile. Behaviour only: how the process ended, what was answered, in which order.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer, type ApiServer } from '../../src/server/api.js';
import { statusStoreFor } from '../../src/core/status.js';
import { makeTempRepo, removeTempRepos, tempDir } from './helpers/tempRepo.js';
import { CLI_ENTRY, SIM_AGENT_ARGV, simEnv, sleep } from './helpers/simAgent.js';
import { SHAPES, planWithShape } from './helpers/pathological.js';
import { generatePlan } from '../../bench/generate.js';
import { DEFAULT_LIMITS } from '../../src/core/complexity.js';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}
const PLANCTL = path.join(repoRoot(), 'dist', 'planctl.mjs');

/** A plan of `tasks` tasks in which every task names one of three shared files: seconds of analysis. */
function hugePlan(tasks: number): string {
  const out = ['# Plan: Huge', ''];
  for (let p = 1; p * 100 <= tasks; p++) {
    out.push(`## Phase ${p}: Part ${p}`, '');
    for (let t = 1; t <= 100; t++) out.push(`- [ ] ${p}.${t} Step touching \`src/shared/m${p % 3}.ts\` and enough words to fill a line`);
    out.push('');
  }
  return out.join('\n');
}

function run(args: string[], cwd: string): { child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> } {
  const child = spawn(process.execPath, [PLANCTL, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, done: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out }))) };
}

const servers: ApiServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await removeTempRepos();
});

test('planctl validate on a plan with 80 KB of `*a_[` in a task body ends, with the warning at its line', async () => {
  const dir = await tempDir('planctl-patho-');
  const { text, shapeLine } = planWithShape(SHAPES[0]!.make(80_000));
  await writeFile(path.join(dir, 'plan.md'), text);
  const r = await run(['validate', 'plan.md'], dir).done;
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`^plan\\.md:${shapeLine}:1: warning plan-too-complex: This paragraph \\(line ${shapeLine} in 1\\.2\\) is too complex`, 'm'));
  assert.match(r.out, /0 errors, 1 warning/);
});

test('planctl validate on a 10 MB plan reads the first 2 MB and ends with an error at the first line it did not read', async () => {
  const dir = await tempDir('planctl-patho-');
  const text = generatePlan({ tasks: 76_000 });
  assert.ok(text.length > 10_000_000);
  await writeFile(path.join(dir, 'big.md'), text);
  const r = await run(['validate', 'big.md'], dir).done;
  assert.equal(r.code, 1, r.out.slice(0, 2000));
  const m = /^big\.md:(\d+):1: error plan-too-complex: The plan is too large: only its first 2,000,000 characters are read, so lines (\d+)–(\d+) are not analysed and the plan cannot be run/m.exec(r.out);
  assert.ok(m, r.out.slice(0, 2000));
  const lines = text.split('\n');
  assert.equal(Number(m[1]), Number(m[2]));
  assert.equal(Number(m[3]), lines.length);
  // It stops at a line boundary at or past the limit, not inside the text it read.
  const firstUnread = lines.slice(0, Number(m[1]) - 1).join('\n').length + 1;
  assert.ok(firstUnread >= DEFAULT_LIMITS.maxPlanLength, `stopped at ${firstUnread}`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`planctl validate stops on ${signal} while it analyses a huge plan`, async () => {
    const dir = await tempDir('planctl-patho-');
    await writeFile(path.join(dir, 'huge.md'), hugePlan(30_000));
    const { child, done } = run(['validate', 'huge.md'], dir);
    // Well inside the analysis, which takes seconds (30,000 tasks on three shared files).
    await sleep(700);
    child.kill(signal);
    const r = await done;
    const expected = signal === 'SIGTERM' ? 143 : 130;
    assert.ok(r.signal === signal || r.code === expected, `ended with code ${r.code}, signal ${r.signal}: ${r.out.slice(0, 500)}`);
  });
}

test('GET /api/plans lists a pathological plan with its diagnostic count, and other requests are answered meanwhile', async () => {
  const { text } = planWithShape(SHAPES[0]!.make(80_000));
  const repo = await makeTempRepo({
    'README.md': '# t\n',
    '.gitignore': 'docs/plan-outputs/\n.claude-context/\n',
    'docs/plans/patho.md': text,
    'docs/plans/huge.md': hugePlan(20_000),
  });
  await repo.write('.claude-context/current-plan.txt', 'docs/plans/patho.md\n');
  // A status file makes the huge plan known without being the active one.
  await statusStoreFor(path.join(repo.dir, 'docs/plans/huge.md'), { root: repo.dir }).update(() => undefined);
  const tokenFile = path.join(await tempDir('planctl-api-'), 'api-token');
  const server = await startApiServer({ cwd: repo.dir, port: 0, tokenFile, agent: SIM_AGENT_ARGV, maxParallel: 1, env: simEnv(), entry: CLI_ENTRY });
  servers.push(server);
  const get = (route: string) => fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${server.token}` } });
  // Changed after the server read it at start, so that the request below must analyse it afresh.
  await repo.write('docs/plans/huge.md', `${hugePlan(20_000)}\n- [ ] 201.1 One more\n`);

  const order: string[] = [];
  const plans = get('/api/plans').then(async (r) => {
    order.push('plans');
    return { status: r.status, json: (await r.json()) as { plans: Array<{ name: string; total: number; diagnostics?: { errors: number; warnings: number } }> } };
  });
  await sleep(100);
  const spec = get('/api/openapi.json').then((r) => {
    order.push('openapi');
    return r.status;
  });
  const [p, s] = await Promise.all([plans, spec]);
  assert.equal(s, 200);
  assert.equal(p.status, 200);
  // The huge plan is analysed in the worker thread: the server answered the other request first.
  assert.deepEqual(order, ['openapi', 'plans']);
  const patho = p.json.plans.find((x) => x.name === 'patho');
  assert.ok(patho, JSON.stringify(p.json).slice(0, 500));
  assert.equal(patho.total, 5);
  assert.deepEqual(patho.diagnostics, { errors: 0, warnings: 1 });
  const huge = p.json.plans.find((x) => x.name === 'huge');
  assert.equal(huge?.total, 20_001, JSON.stringify(huge));
  assert.ok((huge?.diagnostics?.warnings ?? 0) >= 1, 'the huge plan has its too-large and file-conflict warnings');
});
