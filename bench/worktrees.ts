/**
 * `planctl worktree list` with 20 plan worktrees: each needs its dirty state, ahead/behind, last
 * activity and a disk walk. Timed against plain `git worktree list --porcelain` (what any listing
 * costs at least) and against 20 `git status` runs one after another (what the naive per-worktree
 * loop would cost for the dirty flag alone), both measured in the same run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { WorktreeManager } from '../src/git/worktreeManager.js';
import type { BenchRow } from './row.js';


const WORKTREES = 20;
const FILES = 200;
const RUNS = 7;

const ms = (x: number): string => (x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeAsync(fn: () => Promise<unknown>, runs: number): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return median(samples);
}

export async function benchWorktrees(): Promise<BenchRow[]> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'planctl-bench-wt-')));
  try {
    const repo = path.join(root, 'repo');
    mkdirSync(path.join(repo, 'docs', 'plans'), { recursive: true });
    const git = (args: string[], cwd = repo) => execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    git(['init', '-q', '-b', 'main']);
    git(['config', 'user.name', 'Bench']);
    git(['config', 'user.email', 'bench@example.com']);
    git(['config', 'commit.gpgsign', 'false']);
    for (let i = 0; i < FILES; i++) {
      const dir = path.join(repo, 'src', `m${i % 10}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, `f${i}.ts`), `export const v${i} = ${i};\n`.repeat(20));
    }
    writeFileSync(path.join(repo, 'docs', 'plans', 'bench.md'), '# Plan: Bench\n\n## Phase 1: A\n\n- [ ] 1.1 Work\n');
    writeFileSync(path.join(repo, 'git-workflow.json'), JSON.stringify({ worktrees: { max_concurrent: WORKTREES } }));
    git(['add', '-A']);
    git(['commit', '-q', '-m', 'initial']);

    const manager = await WorktreeManager.open(repo);
    const plan = path.join(repo, 'docs', 'plans', 'bench.md');
    for (let i = 0; i < WORKTREES; i++) {
      const wt = await manager.create(plan, { name: `p${i}` });
      // Some history and some uncommitted work, so every column has something to compute.
      writeFileSync(path.join(wt.path, `work${i}.txt`), `work ${i}\n`);
      git(['add', '-A'], wt.path);
      git(['commit', '-q', '-m', `work ${i}`], wt.path);
      if (i % 3 === 0) writeFileSync(path.join(wt.path, 'src', 'm0', 'f0.ts'), 'changed\n');
    }

    let listed = 0;
    const list = await timeAsync(async () => {
      listed = (await manager.list()).length;
    }, RUNS);
    if (listed !== WORKTREES) throw new Error(`expected ${WORKTREES} worktrees, listed ${listed}`);
    const porcelain = await timeAsync(async () => git(['worktree', 'list', '--porcelain']), RUNS * 3);
    const paths = git(['worktree', 'list', '--porcelain'])
      .split('\n')
      .filter((l) => l.startsWith('worktree '))
      .slice(1)
      .map((l) => l.slice('worktree '.length));
    const statusLoop = await timeAsync(async () => {
      for (const p of paths) git(['--no-optional-locks', 'status', '--porcelain'], p);
    }, RUNS);

    return [
      {
        name: `worktree list, ${WORKTREES} plan worktrees (${FILES} files each): dirty, ahead/behind, activity, disk walk`,
        value: ms(list),
        baseline: `git worktree list --porcelain ${ms(porcelain)}; ${WORKTREES} × git status in a loop ${ms(statusLoop)}`,
        ratio: `×${(list / porcelain).toFixed(1)} of worktree list; ×${(list / statusLoop).toFixed(2)} of the status loop`,
        goal: '≤ 1.25 of the status loop',
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// Run directly: `node --import tsx bench/worktrees.ts`.
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  for (const row of await benchWorktrees()) console.log(row);
}
