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

/**
 * `planctl top` and `orchestrate --all` on a terminal draw with Ink and React (about 1 MB): loaded the
 * same way, from a sibling bundle, dist/planctl-top.mjs.
 */
const topAsSibling = {
  name: 'planctl-top-sibling',
  setup(build) {
    build.onResolve({ filter: /\/tui\/top\.js$/ }, () => ({ path: './planctl-top.mjs', external: true }));
  },
};

/**
 * `orchestrate --queue` and `worker` talk to Redis through BullMQ (about 1.2 MB with its dependencies,
 * more than half of planctl.mjs): loaded the same way, from a sibling bundle, dist/planctl-queue.mjs.
 */
const queueAsSibling = {
  name: 'planctl-queue-sibling',
  setup(build) {
    build.onResolve({ filter: /(^|\/)bullmqTransport\.js$/ }, () => ({ path: './planctl-queue.mjs', external: true }));
  },
};

/**
 * Modules of Ink replaced in the dashboard's bundle:
 * - is-in-ci: Ink draws only the last frame when it believes it runs in CI (the CI variable is set),
 *   which would leave `planctl top` blank on a terminal whose environment happens to say so; the
 *   dashboard is only ever drawn on a real terminal, so the answer is "no".
 * - react-devtools-core: Ink connects to React's devtools only when DEV=true; the package is not ours
 *   to ship, and its import must not fail the bundle's loading.
 */
const STUBS = {
  'is-in-ci': 'export default false;',
  'react-devtools-core': 'export default { initialize() {}, connectToDevTools() {} };',
};
const inkStubs = {
  name: 'ink-stubs',
  setup(build) {
    build.onResolve({ filter: /^(is-in-ci|react-devtools-core)$/ }, (args) => ({ path: args.path, namespace: 'ink-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'ink-stub' }, (args) => ({ contents: STUBS[args.path], loader: 'js' }));
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
  plugins: [serverAsSibling, topAsSibling, queueAsSibling],
  logLevel: 'warning',
};

/** An ES module beside planctl.mjs, built like it (no shebang, no sibling plugins of its own). */
const besideCli = (entry, outfile, extra = {}) => ({ ...cliBundle, entryPoints: [entry], outfile, banner: { js: esmShim.join('\n') }, plugins: [], ...extra });

/** The API server of `planctl serve` (dist/planctl-serve.mjs), loaded by planctl.mjs only for that command. */
export const serveBundle = besideCli('src/server/api.ts', 'dist/planctl-serve.mjs');

/** BullMQ's client for `orchestrate --queue` and `worker` (dist/planctl-queue.mjs), loaded by planctl.mjs only for those. */
export const queueBundle = besideCli('src/run/queue/bullmqTransport.ts', 'dist/planctl-queue.mjs');

/** The terminal dashboard of `planctl top` (dist/planctl-top.mjs), loaded by planctl.mjs only to draw it. */
export const topBundle = besideCli('src/tui/top.tsx', 'dist/planctl-top.mjs', {
  // React's production build.
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [inkStubs],
});

/**
 * The plan-analysis worker thread (dist/analysisWorker.mjs, src/core/offThread.ts): planctl, the API
 * server and the extension all start it from the bundle beside them. An ES module, which a worker
 * loads whether its parent is ESM (planctl) or CommonJS (the extension host).
 */
export const workerBundle = besideCli('src/core/analysisWorker.ts', 'dist/analysisWorker.mjs');

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
