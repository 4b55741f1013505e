/**
 * What the orchestrator tests share: the simulated agent's argv template, its environment, running
 * planctl's orchestrate commands in a child process (so a test can kill it), and polling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(import.meta.url);
// Under tsx the tests run from .ts sources; compiled by tsc they run from out/…/*.js.
const fromSource = here.endsWith('.ts');
const nodeArgs = fromSource ? ['--import', import.meta.resolve('tsx')] : [];
const cliHelper = path.join(path.dirname(here), fromSource ? 'orchestrate-cli.ts' : 'orchestrate-cli.js');

function findSimAgent(): string {
  for (let dir = path.dirname(here); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'examples', 'sim-agent.mjs');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('examples/sim-agent.mjs not found');
  }
}

export const SIM_AGENT = findSimAgent();
export const SIM_AGENT_ARGV = [process.execPath, SIM_AGENT, '--id', '{id}', '--title', '{title}', '--estimate', '{estimate}'];

/** The environment of a simulated run: 8 ms of work per estimated minute. */
export const simEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, PLAN_SIM_MS_PER_MINUTE: '8', ...extra });

export type CliResult = { code: number | null; signal: NodeJS.Signals | null; out: string; err: string };

export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<CliResult> } {
  return collect(spawn(process.execPath, [...nodeArgs, cliHelper, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

function collect(child: ChildProcess): { child: ChildProcess; done: Promise<CliResult> } {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return { child, done };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** How a test runs planctl's orchestrate commands in a child process: what `planctl serve` calls its entry. */
export const CLI_ENTRY = { execArgv: nodeArgs, script: cliHelper };

/**
 * Like runCli, but with stdout on a real pseudo-terminal (util-linux `script`), so the command sees
 * isTTY as it does in a user's terminal. `script` takes one command line: every argument is quoted.
 */
export function runCliInTerminal(args: string[], cwd: string, env: NodeJS.ProcessEnv): { child: ChildProcess; done: Promise<CliResult> } {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const commandLine = [process.execPath, ...nodeArgs, cliHelper, ...args].map(quote).join(' ');
  return collect(spawn('script', ['--quiet', '--return', '--command', commandLine, '/dev/null'], { cwd, env: { ...env, COLUMNS: '100' }, stdio: ['ignore', 'pipe', 'pipe'] }));
}
