// Starting and stopping a real VS Code (code-server) plus headless Chromium for the in-editor tests.
// Shared by run-code-server.mjs (mocha suite in the extension host) and ui.mjs (drives the workbench).
// code-server is installed by scripts/install-vscode-test-deps.sh into a cache outside the repo.
import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import util from 'node:util';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURE_WORKSPACE = path.join(REPO_ROOT, 'test/vscode/workspace');
export const SUITE_BUNDLE = path.join(REPO_ROOT, 'out/vscode-test/suite/index.cjs');
export const EXTENSION_BUNDLE = path.join(REPO_ROOT, 'dist/extension.cjs');
export const CODE_SERVER_VERSION = '4.100.3';

/** A problem with the machine (nothing installed, nothing built), as opposed to a failing test. */
export class SetupError extends Error {}

export function cacheDir() {
  return process.env.PLAN_ORCHESTRATOR_CACHE || path.join(os.homedir(), '.cache', 'plan-orchestrator');
}

export function codeServerEntry() {
  const entry = path.join(cacheDir(), `code-server-${CODE_SERVER_VERSION}`, 'node_modules/code-server/out/node/entry.js');
  if (!existsSync(entry)) {
    throw new SetupError(`code-server ${CODE_SERVER_VERSION} is not installed (${entry} is missing): run bash scripts/install-vscode-test-deps.sh`);
  }
  return entry;
}

export function chromiumPath() {
  const exe = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(exe)) throw new SetupError(`no browser at ${exe}: run bash scripts/install-vscode-test-deps.sh (or set CHROMIUM_PATH)`);
  return exe;
}

export function ensureBuilt() {
  if (!existsSync(EXTENSION_BUNDLE)) throw new SetupError(`${path.relative(REPO_ROOT, EXTENSION_BUNDLE)} is missing: run npm run build`);
}

/** Seconds from the flag, else the environment variable, else the default. */
export function timeoutSeconds(flagValue, envName, fallback) {
  const raw = flagValue ?? process.env[envName];
  const n = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new SetupError(`bad timeout ${JSON.stringify(raw)} (seconds expected)`);
  return n;
}

/** code-server has no "listen on port 0 and tell me": take a port the OS says is free. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export function makeTempDir(prefix) {
  return mkdtempSync(path.join(process.env.PLAN_ORCHESTRATOR_TMP || os.tmpdir(), prefix));
}

/**
 * Copies the fixture workspace (tests may change it) and makes it a git repository, so that the
 * extension takes it as the repo root and writes status files inside it.
 */
export function copyWorkspace(dest) {
  cpSync(FIXTURE_WORKSPACE, dest, { recursive: true });
  const git = (...args) =>
    execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'user.name=Plan Orchestrator Tests', '-c', 'user.email=tests@plan-orchestrator.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dest,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', 'fixture workspace');
  return dest;
}

/**
 * Installs the extension into `extensionsDir` the way a .vsix would: exactly the files `vsce ls`
 * says are packaged, so a file the package leaves out fails the UI test as it would for a user.
 */
export function installPackagedExtension(extensionsDir) {
  const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
  const vsce = path.join(REPO_ROOT, 'node_modules/@vscode/vsce/vsce');
  const files = execFileSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && existsSync(path.join(REPO_ROOT, l))); // anything else is a vsce warning
  if (!files.includes('package.json')) throw new SetupError(`vsce ls listed no package.json: ${JSON.stringify(files)}`);
  const dest = path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  for (const f of files) {
    mkdirSync(path.dirname(path.join(dest, f)), { recursive: true });
    cpSync(path.join(REPO_ROOT, f), path.join(dest, f));
  }
  return { id: `${manifest.publisher}.${manifest.name}`, dir: dest, files };
}

/** Settings of the fresh profile. Trust is granted by turning trust off, not by --disable-workspace-trust. */
export function writeUserSettings(userDataDir, extra = {}) {
  const dir = path.join(userDataDir, 'User');
  mkdirSync(dir, { recursive: true });
  const settings = {
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'git.openRepositoryInParentFolders': 'never',
    // The remote extension host's port finder lists every process's sockets (`ls -l /proc/*/fd`, `ps`)
    // every few seconds: CPU the suite does not need and the idle benchmark must not count. code-server
    // registers a tunnel provider, so only the source setting turns the process scan off.
    'remote.autoForwardPorts': false,
    'remote.autoForwardPortsSource': 'output',
    'chat.commandCenter.enabled': false,
    'window.commandCenter': false,
    ...extra,
  };
  writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

async function waitFor(what, check, timeoutMs, isDead) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    const dead = isDead?.();
    if (dead) throw new Error(`${what}: ${dead}`);
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts code-server in its own process group (so its extension hosts can be killed with it), with
 * every piece of state (user data, extensions, XDG dirs) under `tmp`.
 */
export async function startCodeServer({ tmp, env = {}, extensionsDir, settings, verbose = false }) {
  const entry = codeServerEntry();
  const port = await freePort();
  const userDataDir = path.join(tmp, 'user-data');
  writeUserSettings(userDataDir, settings);
  const logFile = path.join(tmp, 'code-server.log');
  const log = createWriteStream(logFile);
  const child = spawn(
    process.execPath,
    [
      entry,
      '--auth', 'none',
      '--bind-addr', `127.0.0.1:${port}`,
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir ?? path.join(tmp, 'extensions'),
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-getting-started-override',
      '--ignore-last-opened',
    ],
    {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // Otherwise code-server writes its config and caches into the home directory.
        XDG_CONFIG_HOME: path.join(tmp, 'xdg-config'),
        XDG_DATA_HOME: path.join(tmp, 'xdg-data'),
        XDG_CACHE_HOME: path.join(tmp, 'xdg-cache'),
        // No marketplace: the network is closed, and its queries only add noise and delay.
        EXTENSIONS_GALLERY: '{}',
        ...env,
      },
    },
  );
  let exited = null;
  child.on('exit', (code, signal) => (exited = `code-server exited (${signal ?? code}); see ${logFile}`));
  // Last resort when this process ends without stop() (an uncaught error, process.exit elsewhere).
  const killOnExit = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  process.on('exit', killOnExit);
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipe(log, { end: false });
    if (verbose) stream.on('data', (d) => process.stderr.write(`[code-server] ${d}`));
  }
  const origin = `http://127.0.0.1:${port}`;
  const server = {
    port,
    origin,
    pid: child.pid,
    logFile,
    userDataDir,
    /** A path on the server as a URI the workbench resolves through its remote connection. */
    remoteUri: (p) => `vscode-remote://127.0.0.1:${port}${path.resolve(p)}`,
    logTail(lines = 40) {
      try {
        return readFileSync(logFile, 'utf8').split('\n').slice(-lines).join('\n');
      } catch {
        return '';
      }
    },
    async stop() {
      process.off('exit', killOnExit);
      if (!groupAlive(child.pid)) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {}
      const deadline = Date.now() + 5000;
      while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      // The extension host sometimes ignores SIGTERM while a test is still running.
      if (groupAlive(child.pid)) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {}
      }
      log.end();
    },
  };
  try {
    await waitFor(
      'code-server /healthz',
      async () => {
        try {
          return (await fetch(`${origin}/healthz`)).ok;
        } catch {
          return false;
        }
      },
      60_000,
      () => exited,
    );
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium keeps trying Google's hosts, which this machine's network refuses.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export async function launchBrowser({ viewport = { width: 1400, height: 900 } } = {}) {
  const { chromium } = await import('playwright-core');
  // Our own SIGINT/SIGTERM handlers close the browser; playwright's would exit before code-server is stopped.
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: CHROMIUM_ARGS,
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  return { browser, context, page };
}

/** The workbench URL for `folder`; a payload makes it an Extension Development Host (and a test run). */
export function workbenchUrl(server, { folder, extensionDevelopmentPath, extensionTestsPath }) {
  const payload = [['skipWelcome', 'true'], ['skipReleaseNotes', 'true']];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', server.remoteUri(extensionDevelopmentPath)]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', server.remoteUri(extensionTestsPath)]);
  return `${server.origin}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

// Workbench chatter on every start that says nothing about the extension (shown with --verbose).
const NOISE = [
  /^Ignoring fetching additional builtin extensions from gallery/,
  /^Updating additional builtin extensions cache/,
  /^(Resolving|Resolved) connection token/,
  /^Creating a socket \(renderer-/,
  /^\[Service Worker\] registered/,
  /^ChatSessionStore: Migrating 0 chat sessions/,
];

/** Prints what the extension host's console gets (mocha's reporter among it); arguments are printf-style. */
export function printExtensionHostLog(type, args, verbose = false) {
  const line = util.format(...(Array.isArray(args) ? args : [args]));
  if (!verbose && NOISE.some((re) => re.test(line))) return;
  if (type === 'error' || type === 'warn') process.stderr.write(line + '\n');
  else process.stdout.write(line + '\n');
}

/**
 * Everything one run owns, torn down once whatever happens (success, failure, timeout, Ctrl-C):
 * the code-server process group, the browser and the temp dir (kept on failure or when asked).
 */
export class Run {
  constructor(prefix) {
    this.tmp = makeTempDir(prefix);
    this.server = undefined;
    this.browser = undefined;
    this.page = undefined;
    this.closing = undefined;
    this.keepTmp = !!process.env.PLAN_ORCHESTRATOR_KEEP_TMP;
    this.startedAt = Date.now();
  }

  elapsed() {
    return ((Date.now() - this.startedAt) / 1000).toFixed(1) + ' s';
  }

  async screenshot(file) {
    if (!this.page) return false;
    try {
      mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      await this.page.screenshot({ path: file, timeout: 10_000 });
      return true;
    } catch (e) {
      console.error(`screenshot ${file} failed: ${e.message}`);
      return false;
    }
  }

  /** Idempotent. `failed` keeps the temp dir (logs, screenshots) for a look afterwards. */
  close({ failed = false } = {}) {
    this.closing ??= (async () => {
      const withLimit = (p, ms) => Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, ms))]);
      if (this.browser) await withLimit(this.browser.close(), 10_000);
      if (this.server) await this.server.stop();
      if (failed || this.keepTmp) console.error(`(temp dir kept: ${this.tmp})`);
      else rmSync(this.tmp, { recursive: true, force: true, maxRetries: 3 });
    })();
    return this.closing;
  }
}

/**
 * Named checks for the launchers: a failure is counted and reported with a screenshot of the page,
 * and the checks after it still run. `onPhase` hears each check's name (for the timeout message).
 */
export function checker(run, onPhase) {
  const results = { passed: 0, failed: 0 };
  async function check(name, fn) {
    onPhase(`check "${name}"`);
    const started = Date.now();
    try {
      await fn();
      results.passed++;
      console.log(`  ✔ ${name} (${Date.now() - started} ms)`);
      return true;
    } catch (e) {
      results.failed++;
      console.log(`  ✘ ${name}\n      ${String(e?.message ?? e).split('\n').join('\n      ')}`);
      const shot = path.join(run.tmp, `failed-${results.failed}.png`);
      if (await run.screenshot(shot)) console.log(`      screenshot: ${shot}`);
      return false;
    }
  }
  return { results, check };
}

/** Ends the process with `code` after closing `run`, on a hard deadline and on Ctrl-C / SIGTERM. */
export function guardRun(run, { timeoutS, what, onTimeout, summary }) {
  // Once: the timeout closes the browser under the main flow, which then fails and finishes too.
  let finishing;
  const finish = (code, message) =>
    (finishing ??= (async () => {
      clearTimeout(timer);
      if (message) console.error(message);
      // Computed before close(): the counts live in the temp dir.
      const line = summary?.();
      await run.close({ failed: code !== 0 && code !== 130 }); // nothing to look at after Ctrl-C
      if (line) console.log(line);
      process.exit(code);
    })());
  const timer = setTimeout(async () => {
    const message = `TIMEOUT: ${what()} did not finish within ${timeoutS} s (raise it with --timeout <s>); exit 124`;
    console.error(message);
    await Promise.race([onTimeout?.().catch(() => {}), new Promise((r) => setTimeout(r, 10_000))]);
    await finish(124);
  }, timeoutS * 1000);
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void finish(130, `interrupted (${signal})`));
  return { finish, get finishing() { return !!finishing; } };
}

/** Minimal `--flag value` / `--switch` parser: the launchers take only a few. */
export function parseArgs(argv, { values = [], switches = [] }) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [name, inline] = a.startsWith('--') ? a.slice(2).split(/=(.*)/s, 2) : [undefined];
    if (name && values.includes(name)) {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new SetupError(`--${name} needs a value`);
      out[name] = v;
    } else if (name && switches.includes(name) && inline === undefined) {
      out[name] = true;
    } else {
      throw new SetupError(`unknown argument ${a}; known: ${[...values.map((v) => `--${v} <value>`), ...switches.map((s) => `--${s}`)].join(' ')}`);
    }
  }
  return out;
}
