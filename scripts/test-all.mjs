#!/usr/bin/env node
// `npm test` after the build: unit tests, then the suite inside a real VS Code (code-server), then the
// UI test and the browser dashboard of planctl serve (both in Debian's Chromium). Every step's output
// is streamed; the last line sums them all as `N passed, N failed`.
//
//   PLAN_ORCHESTRATOR_SKIP_VSCODE=1  no VS Code install, no in-VS-Code suite, no UI or browser dashboard test
//   PLAN_ORCHESTRATOR_SKIP_AGENTS=1  no agent CLI install, no tests with the real Claude Code and Codex
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const skipVscode = process.env.PLAN_ORCHESTRATOR_SKIP_VSCODE === '1';
const skipAgents = process.env.PLAN_ORCHESTRATOR_SKIP_AGENTS === '1';

/** Runs a command with its output streamed through; resolves to its exit code and stdout. */
function step(command, args) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      process.stdout.write(d);
    });
    child.on('error', (e) => {
      console.error(`cannot run ${command}: ${e.message}`);
      resolve({ code: 127, stdout, seconds: 0 });
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, seconds: (Date.now() - started) / 1000 }));
  });
}

/** The last `N passed, N failed` line a launcher printed. */
function launcherCounts(stdout) {
  const lines = stdout.split('\n').map((l) => l.trim());
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^(\d+) passed, (\d+) failed$/.exec(lines[i]);
    if (m) return { passed: Number(m[1]), failed: Number(m[2]) };
  }
  return undefined;
}

/** node:test's closing counts (`ℹ pass N` with the spec reporter, `# pass N` with TAP). */
function nodeTestCounts(stdout) {
  const count = (name) => {
    const all = [...stdout.matchAll(new RegExp(`^\\s*(?:#|ℹ) ${name} (\\d+)\\s*$`, 'gm'))];
    return all.length ? Number(all[all.length - 1][1]) : undefined;
  };
  const passed = count('pass');
  const failed = count('fail');
  return passed === undefined && failed === undefined ? undefined : { passed: passed ?? 0, failed: failed ?? 0 };
}

const rows = [];
function record(name, result, counts) {
  // A step that failed without counting a failing test (crash, missing install) still counts as one.
  const c = counts ?? { passed: 0, failed: 0 };
  if (result.code !== 0 && c.failed === 0) c.failed = 1;
  rows.push({ name, code: result.code, seconds: result.seconds, ...c });
}

function banner(title) {
  console.log(`\n=== ${title} ===`);
}

banner('unit tests (node --test out/test/unit/)');
const unit = await step(process.execPath, ['--test', '--test-concurrency=2', '--test-reporter=spec', 'out/test/unit/']);
record('unit', unit, nodeTestCounts(unit.stdout));

if (skipAgents) {
  console.log('\n(PLAN_ORCHESTRATOR_SKIP_AGENTS=1: the tests with the real agent CLIs are skipped)');
} else {
  banner('install the agent CLIs (scripts/install-agent-clis.sh)');
  const install = await step('bash', ['scripts/install-agent-clis.sh']);
  if (install.code !== 0) record('agent install', install, undefined);
  banner('real agents: Claude Code and Codex against scripted model servers (node --test out/test/agents/)');
  const agents = await step(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', 'out/test/agents/']);
  record('agents', agents, nodeTestCounts(agents.stdout));
  banner('install redis-server (scripts/install-redis.sh)');
  const redis = await step('bash', ['scripts/install-redis.sh']);
  if (redis.code !== 0) record('redis install', redis, undefined);
  banner('distributed: planctl worker x2, BullMQ on a real redis-server (node --test out/test/distributed/)');
  const distributed = await step(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', 'out/test/distributed/']);
  record('distributed', distributed, nodeTestCounts(distributed.stdout));
}

if (skipVscode) {
  console.log('\n(PLAN_ORCHESTRATOR_SKIP_VSCODE=1: the in-VS-Code suite and the UI test are skipped)');
} else {
  banner('install code-server + chromium (scripts/install-vscode-test-deps.sh)');
  const install = await step('bash', ['scripts/install-vscode-test-deps.sh']);
  if (install.code !== 0) {
    record('install', install, undefined);
    console.log('the VS Code test dependencies are not installed: the in-VS-Code suite and the UI test did not run');
  } else {
    banner('bundle the in-VS-Code suite (scripts/bundle-vscode-tests.mjs)');
    const bundle = await step(process.execPath, ['scripts/bundle-vscode-tests.mjs']);
    if (bundle.code !== 0) {
      record('bundle', bundle, undefined);
    } else {
      banner('suite in VS Code (test/vscode/run-code-server.mjs)');
      const suite = await step(process.execPath, ['test/vscode/run-code-server.mjs']);
      record('vscode suite', suite, launcherCounts(suite.stdout));
      banner('restricted mode in VS Code (test/vscode/run-code-server.mjs --untrusted)');
      const untrusted = await step(process.execPath, ['test/vscode/run-code-server.mjs', '--untrusted']);
      record('untrusted', untrusted, launcherCounts(untrusted.stdout));
    }
    banner('UI (test/vscode/ui.mjs)');
    const ui = await step(process.execPath, ['test/vscode/ui.mjs']);
    record('ui', ui, launcherCounts(ui.stdout));
    banner('dashboard in a browser: planctl serve + Chromium (test/browser/dashboard.mjs)');
    const browser = await step(process.execPath, ['test/browser/dashboard.mjs']);
    record('browser', browser, launcherCounts(browser.stdout));
  }
}

banner('summary');
for (const r of rows) {
  const status = r.code === 0 ? 'ok' : `FAIL (exit ${r.code})`;
  console.log(`  ${r.name.padEnd(13)}${status.padEnd(16)}${`${r.passed} passed, ${r.failed} failed`.padEnd(26)}${r.seconds.toFixed(1)} s`);
}
const passed = rows.reduce((n, r) => n + r.passed, 0);
const failed = rows.reduce((n, r) => n + r.failed, 0);
const ok = rows.every((r) => r.code === 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok ? 0 : 1);
