#!/usr/bin/env node
// Runs the in-VS-Code mocha suite (out/vscode-test/suite) inside code-server, a real VS Code that
// installs from npm, driven by headless Chromium: for machines and CI that cannot download VS Code.
//
//   node test/vscode/run-code-server.mjs [--grep <regexp>] [--screenshot <file.png>] [--timeout <s>] [--verbose] [--untrusted]
//
// --untrusted: Workspace Trust on and the workspace not trusted; only the suites that say
// "Untrusted workspace" run their tests then (and they skip themselves in a trusted run).
//
// Needs `npm run build` (dist/extension.cjs) and scripts/install-vscode-test-deps.sh. Exits with
// the suite's code (0 all passed), 124 on the hard timeout (default 180 s, or
// PLAN_ORCHESTRATOR_VSCODE_TIMEOUT), 2 when something is not installed or built. The last line
// printed is always `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  REPO_ROOT,
  SUITE_BUNDLE,
  Run,
  SetupError,
  copyWorkspace,
  ensureBuilt,
  guardRun,
  launchBrowser,
  parseArgs,
  printExtensionHostLog,
  startCodeServer,
  timeoutSeconds,
  workbenchUrl,
} from './codeServer.mjs';

let opts;
let timeoutS;
try {
  opts = parseArgs(process.argv.slice(2), { values: ['grep', 'screenshot', 'timeout'], switches: ['verbose', 'untrusted'] });
  timeoutS = timeoutSeconds(opts.timeout, 'PLAN_ORCHESTRATOR_VSCODE_TIMEOUT', 180);
} catch (e) {
  console.error(e.message);
  console.log('0 passed, 1 failed');
  process.exit(2);
}

const run = new Run('plan-orchestrator-vscode-');
const resultsFile = path.join(run.tmp, 'results.json');
let phase = 'starting code-server';

function readResults() {
  try {
    return JSON.parse(readFileSync(resultsFile, 'utf8'));
  } catch {
    return undefined;
  }
}

let exitCode = 124;
/** Counts from the suite; a run that failed without a failing test (crash, timeout) counts as one failure. */
function summary() {
  const r = readResults() ?? { passed: 0, failed: 0 };
  const failed = exitCode !== 0 && r.failed === 0 ? 1 : r.failed;
  return `${r.passed} passed, ${failed} failed`;
}

const guard = guardRun(run, {
  timeoutS,
  what: () => phase,
  summary,
  onTimeout: async () => {
    const shot = path.join(run.tmp, 'timeout.png');
    if (await run.screenshot(shot)) console.error(`screenshot at the timeout: ${shot}`);
    const r = readResults();
    if (r?.failures?.length) console.error(`failures so far:\n${r.failures.map((f) => `  ${f.title}`).join('\n')}`);
  },
});

try {
  ensureBuilt();
  if (!existsSync(SUITE_BUNDLE)) {
    const bundled = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/bundle-vscode-tests.mjs')], { stdio: 'inherit' });
    if (bundled.status !== 0) throw new SetupError('bundling the suite failed (scripts/bundle-vscode-tests.mjs)');
  }
  const workspace = copyWorkspace(path.join(run.tmp, 'workspace'));

  run.server = await startCodeServer({
    tmp: run.tmp,
    verbose: !!opts.verbose,
    // The extension host inherits code-server's environment: that is how the suite gets its options.
    env: {
      PLAN_ORCHESTRATOR_TEST_RESULTS: resultsFile,
      PLAN_ORCHESTRATOR_TEST_GREP: opts.untrusted ? 'Untrusted workspace' : (opts.grep ?? ''),
      ...(opts.untrusted ? { PLAN_ORCHESTRATOR_TEST_UNTRUSTED: '1' } : {}),
    },
    // No start-up prompt: the folder simply stays in restricted mode, as when a user picks "No".
    ...(opts.untrusted ? { settings: { 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.emptyWindow': false } } : {}),
  });
  console.error(`code-server ${run.server.origin} up after ${run.elapsed()}; workspace ${workspace}`);

  phase = 'starting chromium';
  Object.assign(run, await launchBrowser());
  let exited;
  const suiteExit = new Promise((resolve) => (exited = resolve));
  await run.page.exposeFunction('codeAutomationLog', (type, args) => printExtensionHostLog(type, args, !!opts.verbose));
  await run.page.exposeFunction('codeAutomationExit', (code) => exited(Number(code)));
  if (opts.verbose) run.page.on('console', (m) => console.error(`[browser ${m.type()}] ${m.text()}`));
  run.page.on('pageerror', (e) => console.error(`[browser pageerror] ${e.message}`));

  phase = 'loading the workbench';
  await run.page.goto(workbenchUrl(run.server, { folder: workspace, extensionDevelopmentPath: REPO_ROOT, extensionTestsPath: SUITE_BUNDLE }));
  phase = 'running the suite (waiting for codeAutomationExit)';
  exitCode = await suiteExit;
  const results = readResults();
  if (exitCode === 0 && results && !results.done) exitCode = 1;
  if (exitCode === 0 && results && results.failed > 0) exitCode = 1;
  if (!results) {
    console.error('the suite wrote no results: its run() never started (see the extension host output above)');
    exitCode ||= 1;
  }
  console.error(`suite finished with exit code ${exitCode} after ${run.elapsed()}`);
  if (opts.screenshot && (await run.screenshot(opts.screenshot))) console.error(`screenshot: ${opts.screenshot}`);
  if (exitCode !== 0) {
    const shot = path.join(run.tmp, 'failure.png');
    if (await run.screenshot(shot)) console.error(`screenshot: ${shot}`);
    console.error(`code-server log (${run.server.logFile}), last lines:\n${run.server.logTail(20)}`);
  }
  await guard.finish(exitCode);
} catch (e) {
  if (guard.finishing) await new Promise(() => {}); // the timeout or a signal is already ending the run
  exitCode = e instanceof SetupError ? 2 : 1;
  console.error(e instanceof SetupError ? e.message : e);
  if (run.server && !(e instanceof SetupError)) console.error(`code-server log, last lines:\n${run.server.logTail(20)}`);
  await guard.finish(exitCode);
}
