#!/usr/bin/env node
// Event latency of the browser dashboard: from a StatusStore write (as an orchestrator makes it) to
// the change drawn in the page that `planctl serve` serves, in headless Chromium signed in by the
// login link. The page learns of the change on /api/events and fetches /api/dashboard; a
// MutationObserver in the page reports the moment the new feed line appears. Baseline, same writes,
// same run: the task message reaching a WebSocket client in this process (the server's part alone).
//
//   node bench/browser-dashboard.mjs [--json]     (after npm run build; npm run bench runs it)
//
// Loopback only, bounded: WRITES writes GAP_MS apart, each waited for at most 5 s. Prints the
// table rows, or with --json one line of JSON rows for bench/run.ts.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { REPO_ROOT, SetupError, chromiumPath, launchBrowser } from '../test/vscode/codeServer.mjs';
import { makeRepo, startServe } from '../test/browser/servedDashboard.mjs';

const WRITES = 30;
// Longer than the page's fetch throttle (250 ms in media/dashboard.js): every write is the first of its burst.
const GAP_MS = 400;
const NAME = `dashboard event latency: StatusStore write → change drawn in the browser page (planctl serve, Chromium, ${WRITES} writes)`;

const PLAN = `# Implementation Plan: Bench

## Phase 1: Only
- [ ] 1.1 First (est: 10m)
- [ ] 1.2 Second (est: 10m)
`;

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
const ms = (x) => (x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);

export async function benchBrowserDashboard() {
  try {
    chromiumPath();
  } catch (e) {
    if (e instanceof SetupError) return [{ name: NAME, value: `not measured: ${e.message}`, baseline: '—', ratio: '—', goal: '≤ 100 ms' }];
    throw e;
  }
  const { statusStoreFor } = await import(pathToFileURL(path.join(REPO_ROOT, 'out', 'src', 'core', 'status.js')).href);
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'planctl-bench-browser-')));
  const home = path.join(root, 'home');
  const repo = path.join(root, 'repo');
  mkdirSync(home);
  makeRepo(repo, home, { '.gitignore': 'docs/plan-outputs/\n.claude-context/\n', 'docs/plans/bench.md': PLAN, '.claude-context/current-plan.txt': 'docs/plans/bench.md\n' });
  const store = statusStoreFor(path.join(repo, 'docs', 'plans', 'bench.md'), { root: repo });
  await store.setTaskStatus('1.1', 'completed');

  let serve;
  let browser;
  let ws;
  try {
    serve = await startServe({ repo, home });
    const token = readFileSync(path.join(home, '.config', 'plan-orchestrator', 'api-token'), 'utf8').trim();
    const launched = await launchBrowser({ viewport: { width: 1200, height: 760 } });
    browser = launched.browser;
    const page = launched.page;
    const pageArrivals = new Map();
    await page.exposeFunction('benchArrived', (marker) => {
      if (!pageArrivals.has(marker)) pageArrivals.set(marker, performance.now());
    });
    await page.goto(serve.loginUrl);
    await page.locator('.pane .title', { hasText: 'Bench' }).waitFor({ timeout: 20_000 });
    // Reports each "(bench N)" note the moment it is drawn.
    await page.evaluate(() => {
      const seen = new Set();
      new MutationObserver(() => {
        for (const note of document.querySelectorAll('.feed .note')) {
          const marker = note.textContent.trim();
          if (!seen.has(marker)) {
            seen.add(marker);
            window.benchArrived(marker);
          }
        }
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    });

    const wsArrivals = new Map();
    ws = new WebSocket(`ws://127.0.0.1:${serve.port}/api/events`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'task' && m.note && !wsArrivals.has(m.note)) wsArrivals.set(m.note, performance.now());
    });
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });

    const toPage = [];
    const toSocket = [];
    for (let i = 0; i < WRITES; i++) {
      const note = `bench ${i}`;
      const t0 = performance.now();
      await store.setTaskStatus('1.2', i % 2 === 0 ? 'in_progress' : 'pending', { note });
      const deadline = t0 + 5_000;
      while (!pageArrivals.has(`(${note})`) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      if (!pageArrivals.has(`(${note})`)) throw new Error(`write ${i} was not drawn in the page within 5 s`);
      toPage.push(pageArrivals.get(`(${note})`) - t0);
      if (wsArrivals.has(note)) toSocket.push(wsArrivals.get(note) - t0);
      await new Promise((r) => setTimeout(r, GAP_MS));
    }
    const page50 = percentile(toPage, 50);
    const socket50 = percentile(toSocket, 50);
    return [
      {
        name: NAME,
        value: `median ${ms(page50)}, p95 ${ms(percentile(toPage, 95))}`,
        baseline: `same writes → task message at a WebSocket client: median ${ms(socket50)}, p95 ${ms(percentile(toSocket, 95))}`,
        ratio: `×${(page50 / Math.max(socket50, 0.1)).toFixed(1)} of the WebSocket message`,
        goal: '≤ 100 ms',
      },
    ];
  } finally {
    ws?.terminate();
    await browser?.close().catch(() => undefined);
    await serve?.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const rows = await benchBrowserDashboard();
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows));
  else for (const r of rows) console.log(`| ${r.name} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.goal} |`);
  process.exit(0);
}
