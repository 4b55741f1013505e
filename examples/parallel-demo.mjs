#!/usr/bin/env node
/**
 * Every example plan in its own plan worktree, all run at once by `planctl orchestrate --all` with
 * the simulated agent; then the same tasks one at a time in a fresh copy, for comparison.
 *
 *   npm run build && node examples/parallel-demo.mjs
 *
 * PLANCTL=<script> runs another planctl entry (a .ts one is run under tsx), e.g. src/cli/main.ts.
 * Everything happens in a temporary directory that is removed at the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(here);
const cli = path.resolve(process.env.PLANCTL ?? path.join(root, 'dist', 'planctl.mjs'));
const nodeArgs = cli.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
const MS_PER_MINUTE = process.env.PLAN_SIM_MS_PER_MINUTE ?? '5';
const agent = JSON.stringify([process.execPath, path.join(here, 'sim-agent.mjs'), '--id', '{id}', '--title', '{title}', '--estimate', '{estimate}']);
const env = { ...process.env, PLAN_SIM_MS_PER_MINUTE: MS_PER_MINUTE };
const plans = readdirSync(path.join(here, 'plans')).filter((f) => f.endsWith('.md')).sort();

const planctl = (args, cwd) => execFileSync(process.execPath, [...nodeArgs, cli, ...args], { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Streams the child's output; resolves with its exit code. */
function planctlLive(args, cwd, prefix = '') {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'inherit'] });
    let rest = '';
    child.stdout.on('data', (d) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop();
      for (const l of lines) process.stdout.write(`${prefix}${l}\n`);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (rest) process.stdout.write(`${prefix}${rest}\n`);
      resolve(code);
    });
  });
}

function makeRepo(dir) {
  mkdirSync(path.join(dir, 'docs', 'plans'), { recursive: true });
  const git = (...args) => execFileSync('git', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 'demo@example.invalid');
  git('config', 'user.name', 'planctl demo');
  git('config', 'commit.gpgsign', 'false');
  for (const p of plans) copyFileSync(path.join(here, 'plans', p), path.join(dir, 'docs', 'plans', p));
  // The plan worktrees live under worktrees/ in the repository; the main checkout must not see them as changes.
  writeFileSync(path.join(dir, '.gitignore'), 'worktrees/\n');
  // The example plans' VERIFY gates run npm scripts; stand-ins that pass keep the demo about scheduling.
  const ok = 'node -e "process.exit(0)"';
  writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name: 'demo', private: true, scripts: { test: ok, typecheck: ok, e2e: ok } }, null, 2)}\n`);
  git('add', '-A');
  git('commit', '-qm', 'example plans');
  const worktrees = [];
  for (const p of plans) {
    const created = JSON.parse(planctl(['worktree', 'create', path.join('docs', 'plans', p), '--json'], dir));
    worktrees.push(created.path ?? created.worktree?.path);
  }
  return worktrees;
}

const work = mkdtempSync(path.join(os.tmpdir(), 'planctl-parallel-demo-'));
let exitCode = 0;
try {
  console.log(`\x1b[1mplans:\x1b[0m ${plans.join(', ')}   (simulated agent, ${MS_PER_MINUTE} ms per estimated minute)`);

  const parallelRepo = path.join(work, 'parallel');
  makeRepo(parallelRepo);
  console.log(`\n\x1b[1m$ planctl orchestrate --all --max-parallel 3\x1b[0m   in ${parallelRepo}`);
  let t = Date.now();
  const code = await planctlLive(['orchestrate', '--all', '--max-parallel', '3', '--agent', agent], parallelRepo);
  const parallelMs = Date.now() - t;
  if (code !== 0) throw new Error(`orchestrate --all exited with ${code}`);

  const serialRepo = path.join(work, 'serial');
  const serialWorktrees = makeRepo(serialRepo);
  console.log('\n\x1b[1m$ planctl orchestrate --max-parallel 1\x1b[0m   in each worktree, one plan after the other');
  t = Date.now();
  for (const wt of serialWorktrees) {
    const c = await planctlLive(['orchestrate', '--max-parallel', '1', '--agent', agent], wt, `[${path.basename(wt)}] `);
    if (c !== 0) throw new Error(`orchestrate in ${wt} exited with ${c}`);
  }
  const serialMs = Date.now() - t;

  console.log(`\n\x1b[1mparallel\x1b[0m (all plans at once, 3 agents each): ${(parallelMs / 1000).toFixed(1)} s`);
  console.log(`\x1b[1mone task at a time\x1b[0m:                          ${(serialMs / 1000).toFixed(1)} s`);
  console.log(`\x1b[1mspeedup\x1b[0m: ×${(serialMs / parallelMs).toFixed(2)}`);
} catch (err) {
  console.error(`parallel-demo: ${err instanceof Error ? err.message : err}`);
  if (err && typeof err === 'object' && 'stderr' in err && err.stderr) console.error(String(err.stderr));
  exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exitCode = exitCode;
