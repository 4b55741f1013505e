#!/usr/bin/env node
// The dashboard in a browser, as a person uses it: `planctl serve` (the built bundle) on a fresh git
// repository, its printed one-time login link opened in headless Chromium (Debian's, driven by
// playwright-core as the UI test does), the plan cards, a plan started with the simulated agent, its
// progress arriving live, the plan stopped. Also: the session cookie is HttpOnly and SameSite=Strict,
// the token appears in no page, URL or request, the login link works once, and the page logs no error
// (a content security policy violation included).
//
//   node test/browser/dashboard.mjs [--update-screenshots] [--timeout <s>] [--verbose]
//
// --update-screenshots writes media/screenshot-browser-dashboard.png (else a temp folder). Exit 0 all
// checks passed (or no Chromium here: skipped, said so), 1 a check failed, 2 not built, 124 timeout
// (default 150 s). The last line printed is `N passed, N failed`.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { REPO_ROOT, Run, SetupError, checker, chromiumPath, guardRun, launchBrowser, parseArgs, timeoutSeconds } from '../vscode/codeServer.mjs';
import { makeRepo, planctl, startServe, stopLeftoverOrchestrators } from './servedDashboard.mjs';

const STEP_MS = 30_000;
let phase = 'starting';
let opts;
let timeoutS;
try {
  opts = parseArgs(process.argv.slice(2), { values: ['timeout'], switches: ['update-screenshots', 'verbose'] });
  timeoutS = timeoutSeconds(opts.timeout, 'PLAN_ORCHESTRATOR_BROWSER_TIMEOUT', 150);
  chromiumPath();
} catch (e) {
  if (!(e instanceof SetupError) || !/no browser/.test(e.message)) {
    console.error(e.message);
    console.log('0 passed, 1 failed');
    process.exit(2);
  }
  console.log(`browser dashboard test skipped: ${e.message}`);
  console.log('0 passed, 0 failed');
  process.exit(0);
}

const ALPHA = `# Implementation Plan: Alpha Search

## Phase 1: Index
- [ ] 1.1 Tokenise the documents in \`src/tokens.ts\` (est: 20m)
- [ ] 1.2 Build the inverted index in \`src/index.ts\` (depends: 1.1) (est: 20m)

## Phase 2: Query
- [ ] 2.1 Parse queries in \`src/query.ts\` (depends: 1.2) (est: 20m)
- [ ] 2.2 Rank the results in \`src/rank.ts\` (depends: 2.1) (est: 20m)
`;

const BETA = `# Implementation Plan: Beta Export

## Phase 1: Export
- [ ] 1.1 CSV writer in \`src/csv.ts\` (est: 30m)
- [ ] 1.2 JSON writer in \`src/json.ts\` (est: 30m)
`;

const run = new Run('plan-orchestrator-browser-');
const { results, check } = checker(run, (p) => (phase = p));
const home = path.join(run.tmp, 'home');
const repo = path.join(run.tmp, 'repo');
let exitCode = 124;
const guard = guardRun(run, {
  timeoutS,
  what: () => phase,
  summary: () => `${results.passed} passed, ${results.failed + (exitCode !== 0 && results.failed === 0 ? 1 : 0)} failed`,
  onTimeout: async () => {
    stopLeftoverOrchestrators(repo);
    const shot = path.join(run.tmp, 'timeout.png');
    if (await run.screenshot(shot)) console.error(`screenshot at the timeout: ${shot}`);
  },
});

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

try {
  mkdirSync(home, { recursive: true });
  makeRepo(repo, home, { 'README.md': '# fixture\n', '.gitignore': 'docs/plan-outputs/\n.claude-context/\nworktrees/\n', 'docs/plans/alpha.md': ALPHA, 'docs/plans/beta.md': BETA });
  // Alpha runs in its own plan worktree, as plans do; beta sits in the main checkout with one task done.
  planctl(repo, home, ['worktree', 'create', 'docs/plans/alpha.md']);
  planctl(repo, home, ['complete', '1.1', '--plan', 'docs/plans/beta.md']);

  phase = 'starting planctl serve';
  const serve = await startServe({ repo, home, msPerMinute: 100, log: (s) => opts.verbose && process.stderr.write(s) });
  run.server = serve;
  const tokenFile = path.join(home, '.config', 'plan-orchestrator', 'api-token');
  const token = readFileSync(tokenFile, 'utf8').trim();
  console.error(`planctl serve on ${serve.origin} after ${run.elapsed()}`);

  phase = 'starting chromium';
  Object.assign(run, await launchBrowser({ viewport: { width: 1200, height: 760 } }));
  const { browser, context, page } = run;
  const problems = [];
  page.on('console', (m) => {
    if (opts.verbose) console.error(`[browser ${m.type()}] ${m.text()}`);
    if (m.type() === 'error' || /Content Security Policy|Refused to/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  const seen = [];
  page.on('request', (r) => seen.push(r));
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));

  console.log('\n  Dashboard in a browser (planctl serve)');
  let pageResponse;
  await check('the printed login link signs the browser in and lands on / without the code', async () => {
    const response = await page.goto(serve.loginUrl);
    pageResponse = response;
    assert(response.status() === 200, `the page after login answered ${response.status()}`);
    assert(page.url() === `${serve.origin}/`, `the address bar shows ${page.url()}`);
    const csp = (await response.allHeaders())['content-security-policy'] ?? '';
    assert(/script-src 'self'/.test(csp) && !/unsafe-inline/.test(csp), `content security policy: ${csp}`);
  });

  await check('the page shows a card per plan, with progress and activity', async () => {
    await page.locator('.pane .title', { hasText: 'Alpha Search' }).waitFor({ timeout: STEP_MS });
    await page.locator('.pane .title', { hasText: 'Beta Export' }).waitFor({ timeout: STEP_MS });
    const beta = page.locator('.pane', { hasText: 'Beta Export' });
    assert((await beta.locator('.big').textContent()) === '1/2', `beta shows ${await beta.locator('.big').textContent()}`);
    assert((await beta.locator('.feed li').count()) >= 1, 'beta has no activity feed');
    const alpha = page.locator('.pane', { hasText: 'Alpha Search' });
    const where = await alpha.locator('.where').textContent();
    assert(/plan\/alpha/.test(where), `alpha's card says where it runs: ${where}`);
  });

  await check('the session cookie is HttpOnly, SameSite=Strict, for / and this server only', async () => {
    const cookies = await context.cookies(serve.origin);
    assert(cookies.length === 1, `cookies: ${JSON.stringify(cookies)}`);
    const [c] = cookies;
    assert(c.name === `plan_session_${serve.port}` && c.httpOnly && c.sameSite === 'Strict' && c.path === '/' && c.expires === -1, JSON.stringify(c));
    assert((await page.evaluate(() => document.cookie)) === '', 'the page script can read the cookie');
  });

  await check('a second use of the login link is refused with a page that says why', async () => {
    // Someone else (another browser, no cookie) tries the same link.
    const other = await browser.newContext();
    try {
      const tab = await other.newPage();
      const response = await tab.goto(serve.loginUrl);
      assert(response.status() === 410, `the reused link answered ${response.status()}`);
      const text = await tab.locator('h1').textContent();
      assert(/already used/.test(text), `the page says: ${text}`);
      assert((await other.cookies(serve.origin)).length === 0, 'the reused link set a cookie');
      const home = await tab.goto(`${serve.origin}/`);
      assert(home.status() === 401 && (await tab.locator('h1').textContent()).includes('Sign in'), 'without the cookie / is not the dashboard');
    } finally {
      await other.close();
    }
  });

  const alpha = page.locator('.pane', { hasText: 'Alpha Search' });
  await check('Start runs the plan, and its progress arrives live', async () => {
    await alpha.locator('button.start').click();
    await alpha.locator('.state.on').waitFor({ timeout: STEP_MS });
    // A task running, then done, with no reload: the WebSocket brings each change.
    await alpha.locator('.tasks.running li').first().waitFor({ timeout: STEP_MS });
    const counts = [];
    for (const until = Date.now() + STEP_MS; Date.now() < until; await page.waitForTimeout(100)) {
      const big = await alpha.locator('.big').textContent();
      if (counts.at(-1) !== big) counts.push(big);
      if (Number(big.split('/')[0]) >= 2) break;
    }
    console.log(`      alpha's count as it came in: ${counts.join(' → ')}`);
    assert(Number(counts.at(-1).split('/')[0]) >= 2, `alpha never reached 2 done: ${counts.join(' → ')}`);
    const feed = await alpha.locator('.feed li .what').allTextContents();
    assert(feed.some((t) => /^1\.1 completed/.test(t)), `alpha's feed: ${JSON.stringify(feed)}`);
  });

  const shotDir = opts['update-screenshots'] ? path.join(REPO_ROOT, 'media') : path.join(os.tmpdir(), 'plan-orchestrator-ui-screenshots');
  const shot = path.join(shotDir, 'screenshot-browser-dashboard.png');
  await check('the screenshot', async () => {
    mkdirSync(shotDir, { recursive: true });
    // Down to the end of the page's content, not the empty viewport below it.
    const bottom = await page.evaluate(() => document.getElementById('app').getBoundingClientRect().bottom);
    await page.screenshot({ path: shot, clip: { x: 0, y: 0, width: 1200, height: Math.min(760, Math.ceil(bottom) + 20) } });
    console.log(`      screenshot: ${shot.startsWith(REPO_ROOT) ? path.relative(REPO_ROOT, shot) : shot}`);
  });

  await check('Stop stops the orchestrator (the running task finishes first)', async () => {
    await alpha.locator('button.stop').click();
    await alpha.locator('.state.off').waitFor({ timeout: STEP_MS });
    const done = Number((await alpha.locator('.big').textContent()).split('/')[0]);
    assert(done < 4 || (await alpha.locator('.tasks.running li').count()) === 0, 'the plan went on after Stop');
  });

  await check("a card opens its plan's orchestrator log in a new tab", async () => {
    const [tab] = await Promise.all([page.context().waitForEvent('page', { timeout: STEP_MS }), alpha.locator('h2.title').click()]);
    await tab.waitForLoadState('load', { timeout: STEP_MS });
    assert(/^\/api\/plans\/[^/]+\/logs$/.test(new URL(tab.url()).pathname), `the tab opened ${tab.url()}`);
    const text = await tab.locator('body').textContent();
    assert(/1\.1/.test(text ?? '') && /started/.test(text ?? ''), `the log: ${(text ?? '').slice(0, 300)}`);
    await tab.close();
  });

  await check('the token is in no page, URL, request or WebSocket, and the page logged no error', async () => {
    const html = await page.content();
    assert(!html.includes(token), 'the token is in the page');
    assert(!(await pageResponse.text()).includes(token), 'the token is in the served HTML');
    for (const r of seen) {
      assert(!r.url().includes(token), `the token is in ${r.url()}`);
      const headers = JSON.stringify(await r.allHeaders());
      assert(!headers.includes(token), `the token is in the headers of ${r.url()}`);
    }
    assert(sockets.length >= 1 && sockets.every((u) => u === `ws://127.0.0.1:${serve.port}/api/events`), `WebSockets: ${JSON.stringify(sockets)}`);
    const kinds = [...new Set(seen.map((r) => `${r.method()} ${new URL(r.url()).pathname.replace(/\/api\/plans\/[^/]+\//, '/api/plans/{name}/')}`))];
    console.log(`      requests: ${kinds.join(', ')}`);
    assert(problems.length === 0, problems.join('\n'));
  });

  exitCode = results.failed > 0 ? 1 : 0;
  stopLeftoverOrchestrators(repo);
  console.error(`browser checks finished after ${run.elapsed()}`);
  await guard.finish(exitCode);
} catch (e) {
  if (guard.finishing) await new Promise(() => {});
  exitCode = e instanceof SetupError ? 2 : 1;
  console.error(e instanceof SetupError ? e.message : e);
  if (existsSync(repo)) stopLeftoverOrchestrators(repo);
  await guard.finish(exitCode);
}
