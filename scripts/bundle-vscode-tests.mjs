// Bundles the in-VS-Code suite: test/vscode/suite/index.ts and every *.test.ts beside it, each into
// out/vscode-test/suite/<name>.cjs. index.cjs finds the *.test.cjs files at run time, so a new test
// file needs no registration. CommonJS because the extension host require()s extensionTestsPath.
// `vscode` comes from the extension host; mocha stays external and resolves from node_modules, where
// its reporters and file loading work as documented (bundled, its dynamic requires break).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suiteDir = path.join(root, 'test/vscode/suite');
const outdir = path.join(root, 'out/vscode-test/suite');

const entryPoints = readdirSync(suiteDir)
  .filter((f) => f === 'index.ts' || f.endsWith('.test.ts'))
  .map((f) => path.join(suiteDir, f));

// Stale bundles of deleted or renamed tests would still be picked up by index.cjs.
rmSync(outdir, { recursive: true, force: true });
const started = performance.now();
await build({
  absWorkingDir: root,
  entryPoints,
  outdir,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['vscode', 'mocha'],
  sourcemap: 'inline',
  logLevel: 'warning',
});
console.log(`bundled ${entryPoints.length - 1} test file(s) + index into ${path.relative(root, outdir)} in ${(performance.now() - started).toFixed(0)} ms`);
