// The esbuild options of our bundles, shared by scripts/bundle.mjs (which writes them) and
// bench/extension-size.mjs (which measures them), so the measured bundle is the shipped one.

// CommonJS dependencies bundled into an ES module still expect require, __filename and __dirname.
const esmShim = [
  "import { createRequire as __createRequire } from 'node:module';",
  "import { fileURLToPath as __fileURLToPath } from 'node:url';",
  "import { dirname as __pathDirname } from 'node:path';",
  'const require = __createRequire(import.meta.url);',
  'const __filename = __fileURLToPath(import.meta.url);',
  'const __dirname = __pathDirname(__filename);',
];

/**
 * `planctl serve` loads the API server (fastify, ws: about 800 KB) with a dynamic import. Bundled into
 * planctl.mjs it would cost every planctl run ~40 ms of parsing, and agents run `planctl complete`
 * many times; so the import is pointed at a sibling bundle, dist/planctl-serve.mjs, instead.
 */
const serverAsSibling = {
  name: 'planctl-serve-sibling',
  setup(build) {
    build.onResolve({ filter: /\/server\/api\.js$/ }, () => ({ path: './planctl-serve.mjs', external: true }));
  },
};

/** The CLI as one ES module (dist/planctl.mjs) that runs without node_modules. */
export const cliBundle = {
  entryPoints: ['src/cli/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: 'dist/planctl.mjs',
  minify: true,
  sourcemap: false,
  banner: { js: ['#!/usr/bin/env node', ...esmShim].join('\n') },
  plugins: [serverAsSibling],
  logLevel: 'warning',
};

/** The API server of `planctl serve` (dist/planctl-serve.mjs), loaded by planctl.mjs only for that command. */
export const serveBundle = {
  ...cliBundle,
  entryPoints: ['src/server/api.ts'],
  outfile: 'dist/planctl-serve.mjs',
  banner: { js: esmShim.join('\n') },
  plugins: [],
};

/**
 * The plan-analysis worker thread (dist/analysisWorker.mjs, src/core/offThread.ts): planctl, the API
 * server and the extension all start it from the bundle beside them. An ES module, which a worker
 * loads whether its parent is ESM (planctl) or CommonJS (the extension host).
 */
export const workerBundle = {
  ...cliBundle,
  entryPoints: ['src/core/analysisWorker.ts'],
  outfile: 'dist/analysisWorker.mjs',
  banner: { js: esmShim.join('\n') },
  plugins: [],
};

/** The VS Code extension (dist/extension.cjs): CommonJS, as the extension host loads it. */
export const extensionBundle = {
  entryPoints: ['src/vscode/extension.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/extension.cjs',
  external: ['vscode'],
  // offThread.ts reads import.meta.url only where __filename is missing, which it never is in CommonJS.
  define: { 'import.meta.url': 'undefined' },
  minify: true,
  sourcemap: process.env.PLAN_ORCHESTRATOR_SOURCEMAP ? 'inline' : false,
  logLevel: 'warning',
};
