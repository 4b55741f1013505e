#!/usr/bin/env node
// Checks a packaged .vsix: only the allow-listed files are inside (.vscodeignore mirrors this list),
// everything the extension loads at run time is there, and the extension bundle stays within the
// 1 MB budget. Reads the zip's central directory itself, so it needs neither unzip nor a dependency.
//
//   node scripts/check-vsix.mjs [plan-orchestrator.vsix]
//
// Exit code 0 when the package is fine, 1 with one line per problem otherwise.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const MB = 1024 * 1024;
const BUILTINS = new Set(builtinModules);
const BUDGET = { 'extension/dist/extension.cjs': MB };

/** vsce's own files, then ours; vsce renames LICENSE to LICENSE.txt and README.md to readme.md. */
const ALLOWED = [
  /^\[Content_Types\]\.xml$/,
  /^extension\.vsixmanifest$/,
  /^extension\/package\.json$/,
  /^extension\/readme\.md$/i,
  /^extension\/LICENSE(\.txt)?$/,
  /^extension\/dist\/extension\.cjs$/,
  /^extension\/dist\/planctl\.mjs$/,
  /^extension\/dist\/planctl-serve\.mjs$/,
  /^extension\/dist\/planctl-top\.mjs$/,
  /^extension\/dist\/planctl-queue\.mjs$/,
  /^extension\/dist\/analysisWorker\.mjs$/,
  /^extension\/media\/[^/]+\.(svg|js|css|png)$/,
  /^extension\/docs\/[^/]+\.md$/,
];

/** What package.json and scheduleView.ts load: a package without them installs but does not work. */
const REQUIRED = [
  'extension/package.json',
  'extension/dist/extension.cjs',
  'extension/dist/planctl.mjs',
  // Plan: Start API Server runs `planctl serve`, which loads the server from this sibling bundle.
  'extension/dist/planctl-serve.mjs',
  // `planctl top` (and `orchestrate --all` on a terminal) in VS Code's terminals loads its dashboard from this sibling bundle.
  'extension/dist/planctl-top.mjs',
  // `planctl orchestrate --queue` and `planctl worker` load BullMQ from this sibling bundle.
  'extension/dist/planctl-queue.mjs',
  // The worker thread large plans are analysed in (the extension and planctl fall back to their own thread without it).
  'extension/dist/analysisWorker.mjs',
  'extension/media/plans.svg',
  'extension/media/icon.png',
  // The README's screenshots and links, as the Details page of the installed extension shows them.
  'extension/media/screenshot-plans-view.png',
  'extension/docs/agents.md',
  'extension/media/schedule.js',
  'extension/media/schedule.css',
  // The dashboard page: the webview's, and the one planctl serve serves at / (found beside dist/).
  'extension/media/dashboard.js',
  'extension/media/dashboard.css',
];

/** Entries of a zip from its central directory: name, sizes, and where the data starts. */
export function zipEntries(buf) {
  let eocd = -1;
  // The end record is at least 22 bytes from the end, followed by a comment of at most 64 KB.
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip file (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`corrupt central directory at entry ${i}`);
    const method = buf.readUInt16LE(p + 10);
    const compressed = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.push({ name, method, compressed, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

export function readEntry(buf, entry) {
  const p = entry.localOffset;
  const start = p + 30 + buf.readUInt16LE(p + 26) + buf.readUInt16LE(p + 28);
  const data = buf.subarray(start, start + entry.compressed);
  if (entry.method === 0) return data;
  if (entry.method === 8) return inflateRawSync(data);
  throw new Error(`${entry.name}: unsupported compression method ${entry.method}`);
}

export function checkVsix(file) {
  const buf = readFileSync(file);
  const entries = zipEntries(buf).filter((e) => !e.name.endsWith('/'));
  const problems = [];
  for (const e of entries) {
    if (!ALLOWED.some((re) => re.test(e.name))) problems.push(`not allowed in the package: ${e.name}`);
  }
  const names = new Set(entries.map((e) => e.name));
  for (const r of REQUIRED) if (!names.has(r)) problems.push(`missing: ${r}`);
  for (const [name, limit] of Object.entries(BUDGET)) {
    const e = entries.find((x) => x.name === name);
    if (e && e.size > limit) problems.push(`${name} is ${kb(e.size)}, over the ${kb(limit)} budget`);
  }
  const manifest = entries.find((e) => e.name === 'extension/package.json');
  if (manifest) {
    const pkg = JSON.parse(readEntry(buf, manifest).toString('utf8'));
    if (`extension/${pkg.main.replace(/^\.\//, '')}` !== 'extension/dist/extension.cjs') problems.push(`package.json main is ${pkg.main}, not the bundle`);
    const bundle = entries.find((e) => e.name === 'extension/dist/extension.cjs');
    // A bundle that still requires a package would fail at activation: vsce ships no node_modules.
    if (bundle) {
      const code = readEntry(buf, bundle).toString('utf8');
      const bare = [...code.matchAll(/\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g)]
        .map((m) => m[1])
        .filter((m) => m !== 'vscode' && !m.startsWith('node:') && !BUILTINS.has(m.split('/')[0]));
      if (bare.length > 0) problems.push(`extension.cjs requires packages that are not shipped: ${[...new Set(bare)].join(', ')}`);
    }
  }
  return { entries, size: buf.length, problems };
}

function kb(n) {
  return `${(n / 1024).toFixed(1)} KB`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2] ?? 'plan-orchestrator.vsix';
  let result;
  try {
    result = checkVsix(file);
  } catch (e) {
    console.error(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  }
  for (const e of result.entries) console.log(`${kb(e.size).padStart(10)}  ${e.name}`);
  const bundle = result.entries.find((e) => e.name === 'extension/dist/extension.cjs');
  console.log(`${file}: ${kb(result.size)} packed, ${result.entries.length} files` + (bundle ? `; extension.cjs ${kb(bundle.size)} (${((bundle.size / MB) * 100).toFixed(0)}% of 1 MB)` : ''));
  if (result.problems.length > 0) {
    for (const p of result.problems) console.error(`FAIL ${p}`);
    process.exit(1);
  }
  console.log('OK');
}
