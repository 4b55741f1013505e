/**
 * Real throw-away git repositories for tests: `git init -b main` under os.tmpdir(), with a local
 * identity so tests never depend on (or touch) the user's git config.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, realpath, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface TempRepo {
  dir: string;
  /** Runs git in `cwd` (default: the repository) and returns its trimmed stdout; throws on failure. */
  git: (args: string[], cwd?: string) => string;
  /** Writes a file relative to `cwd` (default: the repository), creating directories. */
  write: (rel: string, text: string, cwd?: string) => Promise<void>;
  /** `git add -A && git commit`; returns the new sha. */
  commitAll: (message: string, cwd?: string) => string;
}

const roots: string[] = [];

/** A directory that removeTempRepos() deletes; symlinks resolved because git reports resolved paths. */
export async function tempDir(prefix = 'planctl-wt-'): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(os.tmpdir(), prefix)));
  roots.push(dir);
  return dir;
}

export async function makeTempRepo(files: Record<string, string> = { 'README.md': '# test\n' }): Promise<TempRepo> {
  const dir = path.join(await tempDir(), 'repo');
  await mkdir(dir);
  const git = (args: string[], cwd = dir): string =>
    execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: gitEnv() }).trim();
  git(['init', '-q', '-b', 'main']);
  git(['config', 'user.name', 'Test User']);
  git(['config', 'user.email', 'test@example.com']);
  git(['config', 'commit.gpgsign', 'false']);
  const write = async (rel: string, text: string, cwd = dir): Promise<void> => {
    const file = path.join(cwd, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  };
  const commitAll = (message: string, cwd = dir): string => {
    git(['add', '-A'], cwd);
    git(['commit', '-q', '-m', message], cwd);
    return git(['rev-parse', 'HEAD'], cwd);
  };
  for (const [rel, text] of Object.entries(files)) await write(rel, text);
  commitAll('initial');
  return { dir, git, write, commitAll };
}

/** The environment without variables that would point git at another repository (set inside git hooks). */
export function gitEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_COMMON_DIR', 'GIT_OBJECT_DIRECTORY']) delete env[key];
  return env;
}

export async function removeTempRepos(): Promise<void> {
  await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
}
