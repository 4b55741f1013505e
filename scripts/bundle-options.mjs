// The esbuild options of our two bundles, shared by scripts/bundle.mjs (which writes them) and
// bench/extension-size.mjs (which measures them), so the measured bundle is the shipped one.

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
  // CommonJS dependencies bundled into an ES module still expect require, __filename and __dirname.
  banner: {
    js: [
      '#!/usr/bin/env node',
      "import { createRequire as __createRequire } from 'node:module';",
      "import { fileURLToPath as __fileURLToPath } from 'node:url';",
      "import { dirname as __pathDirname } from 'node:path';",
      'const require = __createRequire(import.meta.url);',
      'const __filename = __fileURLToPath(import.meta.url);',
      'const __dirname = __pathDirname(__filename);',
    ].join('\n'),
  },
  logLevel: 'warning',
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
  minify: true,
  sourcemap: process.env.PLAN_ORCHESTRATOR_SOURCEMAP ? 'inline' : false,
  logLevel: 'warning',
};
