/**
 * Conflict prediction on a realistic matrix: 10 plan branches of ~20 changed files each, some
 * files shared between branches (edited on the same lines by some, on different lines by others),
 * and a main branch that moved after the branches were cut. Times the whole `predictConflicts`
 * (45 branch pairs + 10 against main) against the same 55 `git merge-tree` calls run one after
 * another in this run, so the ratio shows what the concurrency and the bookkeeping cost or save.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GitService } from '../src/git/gitService.js';
import { predictConflicts, type ConflictReport } from '../src/git/conflicts.js';
import type { BenchRow } from './row.js';


const BRANCHES = 10;
const OWN_FILES = 15;
const SHARED_FILES = 10;
const SHARED_PER_BRANCH = 5;
const FILLER_FILES = 300;
const LINES = 60;

function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function write(dir: string, file: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
}

const body = (tag: string, edits: Record<number, string> = {}): string =>
  Array.from({ length: LINES }, (_, i) => edits[i + 1] ?? `${tag} line ${i + 1}`).join('\n') + '\n';

const planName = (b: number): string => `bench-${String(b).padStart(2, '0')}`;

/** Each branch's plan; every third plan depends on the one before it. The branch ticks its tasks. */
function planText(b: number, done: boolean): string {
  const upstream = b % 3 === 2 ? `- **${planName(b - 1)}.md** (builds on it)` : '- None';
  const tasks = Array.from({ length: OWN_FILES }, (_, f) => `- [${done ? 'x' : ' '}] 1.${f + 1} Change \`src/plan${b}/own${f}.ts\``);
  return [`# Implementation Plan: Bench ${b}`, '', '## Dependencies', '', '### Upstream', upstream, '', '## Phase 1: Work', '', ...tasks, ''].join('\n');
}

/** The repository described above; returns its path and the plan branch names. */
function buildRepo(root: string): { dir: string; branches: string[] } {
  const dir = path.join(root, 'repo');
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'config', 'user.name', 'Bench');
  git(dir, 'config', 'user.email', 'bench@example.com');
  git(dir, 'config', 'commit.gpgsign', 'false');
  for (let f = 0; f < FILLER_FILES; f++) write(dir, `src/filler/f${f}.ts`, body(`filler ${f}`));
  for (let s = 0; s < SHARED_FILES; s++) write(dir, `src/shared/s${s}.ts`, body(`shared ${s}`));
  for (let b = 0; b < BRANCHES; b++) {
    for (let f = 0; f < OWN_FILES; f++) write(dir, `src/plan${b}/own${f}.ts`, body(`own ${b}.${f}`));
    write(dir, `docs/plans/${planName(b)}.md`, planText(b, false));
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial');

  const branches: string[] = [];
  for (let b = 0; b < BRANCHES; b++) {
    const name = `plan/${planName(b)}`;
    branches.push(name);
    git(dir, 'checkout', '-q', '-b', name, 'main');
    write(dir, `docs/plans/${planName(b)}.md`, planText(b, true));
    for (let f = 0; f < OWN_FILES - 1; f++) write(dir, `src/plan${b}/own${f}.ts`, body(`own ${b}.${f}`, { 3: `changed by ${b}` }));
    // Branches 2k and 2k+1 edit the same line of the 4 shared files they both touch (real
    // conflicts); every other pair sharing a file edits lines 10 apart (overlapping but clean).
    const line = 5 + 10 * Math.floor(b / 2);
    for (let k = 0; k < SHARED_PER_BRANCH; k++) {
      const s = (b + k) % SHARED_FILES;
      write(dir, `src/shared/s${s}.ts`, body(`shared ${s}`, { [line]: `branch ${b} was here` }));
    }
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', `work on ${name}`);
  }
  git(dir, 'checkout', '-q', 'main');
  // main moves on: conflicts with branch 0 (same line of s0), and touches a file nobody else does.
  write(dir, 'src/shared/s0.ts', body('shared 0', { 5: 'main was here' }));
  write(dir, 'src/filler/f0.ts', body('filler 0', { 1: 'main' }));
  git(dir, 'commit', '-q', '-am', 'main moves');
  return { dir, branches };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const ms = (x: number): string => (x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);

export async function benchConflicts(): Promise<BenchRow[]> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'planctl-bench-conflicts-')));
  try {
    const { dir, branches } = buildRepo(root);
    const svc = await GitService.open(dir);

    let report: ConflictReport | undefined;
    await predictConflicts(svc);
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      report = await predictConflicts(svc);
      samples.push(performance.now() - t);
    }
    const value = median(samples);

    // Baseline 1: the same 55 merges, one git process after another, no bookkeeping.
    const serialSamples: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t = performance.now();
      for (let i = 0; i < branches.length; i++) {
        for (let j = i + 1; j < branches.length; j++) spawnSync('git', ['merge-tree', '--write-tree', '--name-only', '-z', branches[i]!, branches[j]!], { cwd: dir });
        spawnSync('git', ['merge-tree', '--write-tree', '--name-only', '-z', 'main', branches[i]!], { cwd: dir });
      }
      serialSamples.push(performance.now() - t);
    }
    const serial = median(serialSamples);

    // Baseline 2: what a file-name-only prediction would cost (one diff per branch).
    const diffSamples: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t = performance.now();
      for (const b of branches) spawnSync('git', ['diff', '--name-only', `main...${b}`], { cwd: dir });
      diffSamples.push(performance.now() - t);
    }
    const diffs = median(diffSamples);

    const r = report!;
    const conflicting = r.pairs.filter((p) => !p.clean).length;
    const overlapping = r.pairs.filter((p) => p.clean && p.overlapping.length > 0).length;
    return [
      {
        name: `conflict prediction, ${branches.length} plan branches × ~${OWN_FILES + SHARED_PER_BRANCH} files (${r.pairs.length} merges: ${conflicting} conflicting, ${overlapping} overlapping but clean)`,
        value: `${ms(value)} median of 5`,
        baseline: `${r.pairs.length} × git merge-tree serially ${ms(serial)}; ${branches.length} × git diff --name-only ${ms(diffs)}`,
        ratio: `×${(value / serial).toFixed(2)} of serial merge-tree; ×${(value / diffs).toFixed(1)} of name-only diffs`,
        goal: '≤ 5 s',
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
