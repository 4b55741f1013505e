#!/usr/bin/env node
// Runs the same in-VS-Code suite as run-code-server.mjs in desktop VS Code through
// @vscode/test-electron, for developer machines that can download VS Code (cached in .vscode-test/).
// Offline machines and CI use run-code-server.mjs instead.
//
//   node test/vscode/run-electron.mjs [--grep <regexp>] [--timeout <s>]
//
//   PLAN_ORCHESTRATOR_VSCODE_VERSION  VS Code to download (default: stable; run-code-server.mjs covers
//                                     the 1.100 minimum of engines.vscode)
//   VSCODE_EXECUTABLE                 use this VS Code instead of downloading one
// On Linux without a display, run it under xvfb-run. The last line printed is `N passed, N failed`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT, SUITE_BUNDLE, SetupError, copyWorkspace, ensureBuilt, makeTempDir, parseArgs, timeoutSeconds, writeUserSettings } from './codeServer.mjs';

const CHILD_ENV = 'PLAN_ORCHESTRATOR_ELECTRON_CHILD';

let opts;
let timeoutS;
try {
  opts = parseArgs(process.argv.slice(2), { values: ['grep', 'timeout'], switches: [] });
  timeoutS = timeoutSeconds(opts.timeout, 'PLAN_ORCHESTRATOR_VSCODE_TIMEOUT', 600); // a first run downloads VS Code
} catch (e) {
  console.error(e.message);
  console.log('0 passed, 1 failed');
  process.exit(2);
}

if (!process.env[CHILD_ENV]) {
  // runTests() does not hand out the VS Code process, so the run happens in a child in its own process
  // group, and the hard timeout kills that whole group (VS Code and its helpers included).
  const tmp = makeTempDir('plan-orchestrator-electron-');
  const resultsFile = path.join(tmp, 'results.json');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    detached: true,
    env: { ...process.env, [CHILD_ENV]: tmp, PLAN_ORCHESTRATOR_TEST_RESULTS: resultsFile },
  });
  const killGroup = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {}
  };
  const finish = (code) => {
    let r = { passed: 0, failed: 0 };
    try {
      r = JSON.parse(readFileSync(resultsFile, 'utf8'));
    } catch {}
    if (code === 0 || process.env.PLAN_ORCHESTRATOR_KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
    else console.error(`(temp dir kept: ${tmp})`);
    console.log(`${r.passed} passed, ${code !== 0 && r.failed === 0 ? 1 : r.failed} failed`);
    process.exit(code);
  };
  const timer = setTimeout(() => {
    console.error(`TIMEOUT: the VS Code test run did not finish within ${timeoutS} s (raise it with --timeout <s>); exit 124`);
    killGroup();
    finish(124);
  }, timeoutS * 1000);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      clearTimeout(timer);
      killGroup();
      finish(130);
    });
  }
  child.on('exit', (code, signal) => {
    clearTimeout(timer);
    killGroup(); // VS Code helpers that outlived the run
    finish(code ?? (signal ? 1 : 0));
  });
} else {
  const tmp = process.env[CHILD_ENV];
  try {
    ensureBuilt();
    if (!existsSync(SUITE_BUNDLE)) {
      const bundled = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/bundle-vscode-tests.mjs')], { stdio: 'inherit' });
      if (bundled.status !== 0) throw new SetupError('bundling the suite failed (scripts/bundle-vscode-tests.mjs)');
    }
    if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
      console.error('warning: no DISPLAY; desktop VS Code needs one (xvfb-run -a node test/vscode/run-electron.mjs)');
    }
    const workspace = copyWorkspace(path.join(tmp, 'workspace'));
    const userDataDir = path.join(tmp, 'user-data');
    writeUserSettings(userDataDir);
    const { runTests } = await import('@vscode/test-electron');
    await runTests({
      version: process.env.PLAN_ORCHESTRATOR_VSCODE_VERSION || 'stable',
      ...(process.env.VSCODE_EXECUTABLE ? { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE } : {}),
      extensionDevelopmentPath: REPO_ROOT,
      extensionTestsPath: SUITE_BUNDLE,
      extensionTestsEnv: {
        PLAN_ORCHESTRATOR_TEST_RESULTS: process.env.PLAN_ORCHESTRATOR_TEST_RESULTS,
        PLAN_ORCHESTRATOR_TEST_GREP: opts.grep ?? '',
      },
      launchArgs: [
        workspace,
        '--user-data-dir', userDataDir,
        '--extensions-dir', path.join(tmp, 'extensions'),
        // Other installed extensions stay off; the one under development is still loaded.
        '--disable-extensions',
      ],
    });
    process.exit(0);
  } catch (e) {
    if (e instanceof SetupError) {
      console.error(e.message);
      process.exit(2);
    }
    // runTests rejects with TestRunFailedError when the suite fails: mocha already printed why.
    console.error(e?.name === 'TestRunFailedError' ? `VS Code exited with ${e.code ?? e.signal}` : e);
    process.exit(typeof e?.code === 'number' && e.code > 0 ? e.code : 1);
  }
}
