// Bundles the CLI (dist/planctl.mjs) and the VS Code extension (dist/extension.cjs) so that neither
// needs node_modules at run time.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { cliBundle, extensionBundle } from './bundle-options.mjs';

await build(cliBundle);
await chmod(cliBundle.outfile, 0o755);
await build(extensionBundle);
