/**
 * What the real-agent tests share: where scripts/install-agent-clis.sh put the pinned Claude Code and
 * Codex CLIs, a PATH on which `claude` and `codex` are those CLIs (so that planctl runs with its
 * default agent settings), and running the bundled planctl as a user would.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStatusFile, type StatusFile } from '../../src/core/status.js';

export const CLAUDE_VERSION = '2.1.197';
export const CODEX_VERSION = '0.171.0';

const cacheRoot = process.env.PLAN_ORCHESTRATOR_CACHE ?? path.join(os.homedir(), '.cache', 'plan-orchestrator');

function findRepoRoot(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'src', 'run'))) return dir;
    if (path.dirname(dir) === dir) throw new Error('repository root not found');
  }
}
export const REPO_ROOT = findRepoRoot();
export const PLANCTL = path.join(REPO_ROOT, 'dist', 'planctl.mjs');

/** The Claude Code binary: the package's bin (its postinstall copies the native binary there), else the platform package's. */
export function claudeBinary(): string | undefined {
  const base = path.join(cacheRoot, `claude-code-${CLAUDE_VERSION}`, 'node_modules', '@anthropic-ai');
  const candidates = [path.join(base, 'claude-code', 'bin', 'claude.exe'), path.join(base, `claude-code-${process.platform}-${process.arch}`, 'claude')];
  return candidates.find((c) => existsSync(c));
}

export function codexBinary(): string | undefined {
  const c = path.join(cacheRoot, `codex-${CODEX_VERSION}`, 'node_modules', '@openai', 'codex', 'bin', 'codex.js');
  return existsSync(c) ? c : undefined;
}

/** Why the tests cannot run, or undefined when they can. */
export function missing(which: 'claude' | 'codex'): string | undefined {
  if (!existsSync(PLANCTL)) return `${PLANCTL} is not built (npm run build)`;
  const found = which === 'claude' ? claudeBinary() : codexBinary();
  return found ? undefined : `the ${which} CLI is not installed in ${cacheRoot} (bash scripts/install-agent-clis.sh installs it from npm)`;
}

/** A bin folder holding `claude` and `codex` links to the cached CLIs, for PATH. */
export async function agentBinDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plan-agent-bin-'));
  const claude = claudeBinary();
  const codex = codexBinary();
  if (claude) await symlink(claude, path.join(dir, 'claude'));
  if (codex) await symlink(codex, path.join(dir, 'codex'));
  return dir;
}

/**
 * The environment of a Claude Code run against the scripted server: its own empty HOME (the CLI keeps
 * sessions there, so a resume needs the same one), nothing sent anywhere else, no retries.
 */
export async function claudeEnv(baseUrl: string, home: string, binDir: string): Promise<NodeJS.ProcessEnv> {
  await mkdir(home, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`,
    HOME: home,
    ANTHROPIC_BASE_URL: baseUrl,
    ANTHROPIC_API_KEY: 'test',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
    CLAUDE_CODE_MAX_RETRIES: '0',
    LANG: 'C.UTF-8',
  };
  for (const k of ['TMPDIR', 'PLAN_ORCHESTRATOR_CACHE']) if (process.env[k]) env[k] = process.env[k];
  return env;
}

export interface PlanctlResult {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the bundled planctl as a user would, in `cwd`. */
export function planctl(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<PlanctlResult> {
  return planctlProcess(args, cwd, env, timeoutMs).done;
}

/** The same, with the process (for a test that signals it). */
export function planctlProcess(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): { child: ReturnType<typeof spawn>; done: Promise<PlanctlResult> } {
  const child = spawn(process.execPath, [PLANCTL, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<PlanctlResult>((resolve) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    // A safety net for a broken build, not a measurement: the cases end in seconds.
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
  return { child, done };
}

/** The plan both agents' tests run: two independent tasks and one that depends on both. */
export const NOTES_PLAN = `# Implementation Plan: Notes cache

## Overview
- **Objective:** Keep recently read notes in memory

## Phase 1: Build
- [ ] 1.1 Write the cache in \`src/cache.ts\`
- [ ] 1.2 Write the store in \`src/store.ts\`
- [ ] 1.3 Wire them together in \`src/index.ts\` (depends: 1.1, 1.2)
`;

/** The file each task of NOTES_PLAN writes. */
export const NOTES_FILES: Record<string, string> = { '1.1': 'src/cache.ts', '1.2': 'src/store.ts', '1.3': 'src/index.ts' };

/** The notes plan's status.json in a test repository (asserted to exist). */
export async function notesStatus(repoDir: string): Promise<StatusFile> {
  const s = await readStatusFile(path.join(repoDir, 'docs/plan-outputs/notes/status.json'));
  assert.ok(s, 'status.json exists');
  return s;
}

/** `planctl orchestrate` on the notes plan, two agents at once. */
export const orchestrateNotes = (repoDir: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<PlanctlResult> =>
  planctl(['orchestrate', '--in-place', '--plan', 'docs/plans/notes.md', '--max-parallel', '2', ...extra], repoDir, env);
