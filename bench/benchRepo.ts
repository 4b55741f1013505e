/**
 * The repository the API and `planctl top` benchmarks watch: a real git repository in a temporary
 * folder with one generated plan as its active plan and that plan's status store.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { StatusStore } from '../src/core/status.js';
import { generatePlan } from './generate.js';

export interface BenchRepo {
  /** The temporary folder (the repository is `repo/` in it); the caller removes it. */
  root: string;
  repo: string;
  planFile: string;
  store: StatusStore;
}

export function makeBenchRepo(prefix: string, tasks: number): BenchRepo {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), prefix)));
  const repo = path.join(root, 'repo');
  const planFile = path.join(repo, 'docs', 'plans', 'bench.md');
  mkdirSync(path.dirname(planFile), { recursive: true });
  writeFileSync(planFile, generatePlan({ tasks, seed: 5 }));
  const git = (args: string[]): void => void execFileSync('git', args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  git(['init', '-q', '-b', 'main']);
  git(['config', 'user.name', 'Bench']);
  git(['config', 'user.email', 'bench@example.com']);
  git(['add', '-A']);
  git(['commit', '-q', '-m', 'initial']);
  mkdirSync(path.join(repo, '.claude-context'));
  writeFileSync(path.join(repo, '.claude-context', 'current-plan.txt'), 'docs/plans/bench.md\n');
  const store = new StatusStore(path.join(repo, 'docs', 'plan-outputs', 'bench', 'status.json'), 'docs/plans/bench.md');
  return { root, repo, planFile, store };
}
