// Bundles the CLI (dist/planctl.mjs, with the API server of `planctl serve` beside it in
// dist/planctl-serve.mjs, the terminal dashboard of `planctl top` in dist/planctl-top.mjs and BullMQ's
// client for `orchestrate --queue` and `worker` in dist/planctl-queue.mjs) and
// the VS Code extension (dist/extension.cjs) so that none of them needs node_modules at run time.
// dist/analysisWorker.mjs is the worker thread they analyse plans in.
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { cliBundle, extensionBundle, queueBundle, serveBundle, topBundle, workerBundle } from './bundle-options.mjs';

await build(cliBundle);
await build(serveBundle);
await build(topBundle);
await build(queueBundle);
await build(workerBundle);
await chmod(cliBundle.outfile, 0o755);
await build(extensionBundle);
