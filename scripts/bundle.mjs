// Bundles the CLI (dist/planctl.mjs) and the VS Code extension (dist/extension.cjs) so that neither
// needs node_modules at run time.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';

await build({
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
});
await chmod('dist/planctl.mjs', 0o755);

await build({
  entryPoints: ['src/vscode/extension.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: 'dist/extension.cjs',
  external: ['vscode'],
  minify: true,
  sourcemap: process.env.PLAN_ORCHESTRATOR_SOURCEMAP ? 'inline' : false,
  metafile: true,
  logLevel: 'warning',
});
