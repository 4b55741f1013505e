#!/usr/bin/env node
// Size of the two bundles against the 1 MB goal, and what takes the room: esbuild is run again in
// memory with a metafile (scripts/bundle.mjs writes none), with the options scripts/bundle.mjs uses.
//
//   node bench/extension-size.mjs [--json] [--top N]
//
// "Bytes" of an input are its bytes in the minified output (esbuild's bytesInOutput), which is what
// the budget is about; a file's source size says little once minified and tree-shaken.
import { build } from 'esbuild';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliBundle, extensionBundle } from '../scripts/bundle-options.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GOAL = 1024 * 1024;
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const topAt = args.indexOf('--top');
const TOP = topAt >= 0 ? Number(args[topAt + 1]) || 10 : 10;

const BUNDLES = [
  { name: extensionBundle.outfile, options: extensionBundle },
  { name: cliBundle.outfile, options: cliBundle },
];

/** `node_modules/@scope/name/...` → `@scope/name`; our own files → `src/<folder>`. */
function packageOf(input) {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (m) return m[1];
  const parts = input.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : input;
}

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const pct = (n, of) => `${((n / of) * 100).toFixed(1)}%`;

const results = [];
for (const bundle of BUNDLES) {
  const started = performance.now();
  const out = await build({
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    minify: true,
    sourcemap: false,
    write: false,
    metafile: true,
    outfile: bundle.name,
    ...bundle.options,
    sourcemap: false,
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  const ms = performance.now() - started;
  const file = out.outputFiles.find((f) => f.path.endsWith(bundle.name.replace('dist/', '')));
  const bytes = file.contents.length;
  const meta = Object.values(out.metafile.outputs)[0];
  const inputs = Object.entries(meta.inputs)
    .map(([input, v]) => ({ input, bytes: v.bytesInOutput, sourceBytes: out.metafile.inputs[input]?.bytes ?? 0 }))
    .sort((a, b) => b.bytes - a.bytes);
  const packages = new Map();
  for (const i of inputs) packages.set(packageOf(i.input), (packages.get(packageOf(i.input)) ?? 0) + i.bytes);
  const onDisk = existsSync(path.join(root, bundle.name)) ? statSync(path.join(root, bundle.name)).size : null;
  results.push({
    bundle: bundle.name,
    bytes,
    kb: Number((bytes / 1024).toFixed(1)),
    ratioOfGoal: Number((bytes / GOAL).toFixed(3)),
    buildMs: Math.round(ms),
    onDisk,
    inputs: inputs.length,
    top: inputs.slice(0, TOP),
    topPackages: [...packages].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([name, b]) => ({ name, bytes: b })),
  });
}

if (asJson) {
  console.log(JSON.stringify({ goalBytes: GOAL, bundles: results }, null, 2));
} else {
  for (const r of results) {
    console.log(`${r.bundle}: ${kb(r.bytes)} minified = ${r.ratioOfGoal.toFixed(2)} × the 1 MB goal (${pct(r.bytes, GOAL)}), ${r.inputs} inputs, built in ${r.buildMs} ms`);
    if (r.onDisk !== null && r.onDisk !== r.bytes) {
      console.log(`  note: ${r.bundle} on disk is ${kb(r.onDisk)}: stale (run npm run build) or scripts/bundle.mjs changed its options`);
    }
    console.log(`  top ${r.top.length} inputs by bytes in the bundle:`);
    for (const i of r.top) console.log(`    ${kb(i.bytes).padStart(9)}  ${pct(i.bytes, r.bytes).padStart(6)}  ${i.input}`);
    console.log(`  top ${r.topPackages.length} packages:`);
    for (const p of r.topPackages) console.log(`    ${kb(p.bytes).padStart(9)}  ${pct(p.bytes, r.bytes).padStart(6)}  ${p.name}`);
  }
}
