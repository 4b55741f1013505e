// What the browser dashboard's test and benchmark share: a throw-away git repository with plans (its
// own git identity and an empty HOME, as on a fresh machine), `planctl serve` from the built bundle
// (dist/planctl.mjs) with the simulated agent, and its one-time login link as it prints it.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, SetupError } from '../vscode/codeServer.mjs';

export const PLANCTL = path.join(REPO_ROOT, 'dist', 'planctl.mjs');
export const SIM_AGENT = path.join(REPO_ROOT, 'examples', 'sim-agent.mjs');

/** A git repository at `dir` holding `files`, committed by a local identity (no global git config is read). */
export function makeRepo(dir, home, files) {
  mkdirSync(dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  const git = (...args) => execFileSync('git', args, { cwd: dir, env: envFor(home), stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('config', 'user.name', 'Dashboard Test');
  git('config', 'user.email', 'dashboard-test@plan-orchestrator.invalid');
  git('config', 'commit.gpgsign', 'false');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return git;
}

/** The environment of everything the fixture runs: an empty HOME, no inherited git or token settings. */
export function envFor(home, extra = {}) {
  const env = { ...process.env, HOME: home, GIT_CONFIG_NOSYSTEM: '1', ...extra };
  for (const key of ['XDG_CONFIG_HOME', 'PLAN_API_TOKEN_FILE', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[key];
  return env;
}

/** Runs the built planctl in `cwd`; returns its stdout. */
export function planctl(cwd, home, args) {
  return execFileSync(process.execPath, [PLANCTL, ...args], { cwd, env: envFor(home), stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
}

/**
 * `planctl serve --port 0` in `repo` with the simulated agent (`msPerMinute` of work per estimated
 * minute); resolves once it printed its port and login link. `stop()` ends it with SIGTERM.
 */
export function startServe({ repo, home, msPerMinute = 100, log = () => undefined }) {
  if (!existsSync(PLANCTL)) throw new SetupError(`${path.relative(REPO_ROOT, PLANCTL)} is missing: run npm run build`);
  const agent = [process.execPath, SIM_AGENT, '--id', '{id}', '--title', '{title}', '--estimate', '{estimate}'];
  const child = spawn(process.execPath, [PLANCTL, 'serve', '--port', '0', '--max-parallel', '1', '--agent', JSON.stringify(agent)], {
    cwd: repo,
    env: envFor(home, { PLAN_SIM_MS_PER_MINUTE: String(msPerMinute) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d) => log(String(d)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`planctl serve printed no login link within 20 s:\n${out}`)), 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      log(String(d));
      const port = /\(port (\d+)\)/.exec(out)?.[1];
      const loginUrl = /dashboard: open (\S+)/.exec(out)?.[1];
      if (port && loginUrl) {
        clearTimeout(timer);
        resolve({ child, port: Number(port), origin: `http://127.0.0.1:${port}`, loginUrl, output: () => out, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`planctl serve exited with ${code}:\n${out}`));
    });
  });
}

/** Ends the orchestrators a failed run left behind in `repo` (the ones its planctl serve started), by their registry pids. */
export function stopLeftoverOrchestrators(repo) {
  const dir = path.join(repo, '.git', 'plan-orchestrator', 'orchestrators');
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    try {
      const { pid } = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
      if (Number.isInteger(pid) && pid > 1) process.kill(pid, 'SIGTERM');
    } catch {
      // gone already, or not a record
    }
  }
}
