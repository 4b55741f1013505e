/**
 * Entry of the in-VS-Code suite (extensionTestsPath): runs every `*.test.cjs` bundled beside it
 * (scripts/bundle-vscode-tests.mjs) with mocha inside the extension host. Launcher-agnostic: the
 * code-server launcher and @vscode/test-electron both load it.
 *
 * Environment (the extension host inherits the launcher's):
 *   PLAN_ORCHESTRATOR_TEST_GREP     only tests whose full title matches this regular expression
 *   PLAN_ORCHESTRATOR_TEST_RESULTS  JSON file for the launcher's pass/fail counts, rewritten after each test
 *   PLAN_ORCHESTRATOR_TEST_TIMEOUT  per-test timeout in ms (default 20000)
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

export interface SuiteResults {
  passed: number;
  failed: number;
  pending: number;
  failures: { title: string; error: string }[];
  done: boolean;
}

export function run(): Promise<void> {
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    timeout: Number(process.env.PLAN_ORCHESTRATOR_TEST_TIMEOUT) || 20_000,
    reporter: 'spec',
  });
  const grep = process.env.PLAN_ORCHESTRATOR_TEST_GREP;
  if (grep) mocha.grep(new RegExp(grep));
  // The bundle is CommonJS, so __dirname is the folder of index.cjs and its test files.
  const files = readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.cjs'))
    .sort();
  for (const f of files) mocha.addFile(path.join(__dirname, f));

  const results: SuiteResults = { passed: 0, failed: 0, pending: 0, failures: [], done: false };
  const resultsFile = process.env.PLAN_ORCHESTRATOR_TEST_RESULTS;
  const save = (): void => {
    if (!resultsFile) return;
    try {
      writeFileSync(resultsFile, JSON.stringify(results, null, 2));
    } catch (e) {
      console.error(`cannot write ${resultsFile}: ${String(e)}`);
    }
  };
  save();

  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        results.done = true;
        save();
        if (failures > 0) reject(new Error(`${failures} of ${results.passed + results.failed} tests failed`));
        else resolve();
      });
      runner.on('pass', () => {
        results.passed++;
        save();
      });
      runner.on('pending', () => {
        results.pending++;
        save();
      });
      runner.on('fail', (test, err: unknown) => {
        results.failed++;
        results.failures.push({ title: test.fullTitle(), error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        save();
      });
    } catch (e) {
      // A test file that throws while loading: count it, or the launcher would see 0 failures.
      results.failed++;
      results.failures.push({ title: 'loading the test files', error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      results.done = true;
      save();
      reject(e instanceof Error ? e : new Error(String(e)));
    }
  });
}
