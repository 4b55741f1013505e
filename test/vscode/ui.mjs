#!/usr/bin/env node
// UI test: drives the real VS Code workbench (code-server) with headless Chromium the way a person
// would: the Plans view in the activity bar, its tree rows, and the Problems count for a broken plan.
//
//   node test/vscode/ui.mjs [--update-screenshots] [--timeout <s>] [--verbose]
//
// --update-screenshots writes the README's screenshots (media/screenshot-plans-view.png,
// screenshot-problems.png, screenshot-dashboard.png, screenshot-schedule.png); otherwise they go to
// $TMPDIR/plan-orchestrator-ui-screenshots/. Exit 0 all checks passed, 1 one
// failed, 124 hard timeout (default 180 s, or PLAN_ORCHESTRATOR_VSCODE_TIMEOUT), 2 not installed or
// built. The last line printed is `N passed, N failed`.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REPO_ROOT,
  Run,
  SetupError,
  checker,
  copyWorkspace,
  ensureBuilt,
  guardRun,
  installPackagedExtension,
  launchBrowser,
  parseArgs,
  startCodeServer,
  timeoutSeconds,
  workbenchUrl,
} from './codeServer.mjs';

let opts;
let timeoutS;
try {
  opts = parseArgs(process.argv.slice(2), { values: ['timeout'], switches: ['update-screenshots', 'verbose'] });
  timeoutS = timeoutSeconds(opts.timeout, 'PLAN_ORCHESTRATOR_VSCODE_TIMEOUT', 180);
} catch (e) {
  console.error(e.message);
  console.log('0 passed, 1 failed');
  process.exit(2);
}

const screenshotDir = opts['update-screenshots'] ? path.join(REPO_ROOT, 'media') : path.join(os.tmpdir(), 'plan-orchestrator-ui-screenshots');
const STEP_MS = 30_000;
const shown = (file) => (file.startsWith(REPO_ROOT + path.sep) ? path.relative(REPO_ROOT, file) : file);
let phase = 'starting code-server';
let exitCode = 124;

const run = new Run('plan-orchestrator-ui-');
const { results, check } = checker(run, (p) => (phase = p));
const guard = guardRun(run, {
  timeoutS,
  what: () => phase,
  summary: () => `${results.passed} passed, ${results.failed + (exitCode !== 0 && results.failed === 0 ? 1 : 0)} failed`,
  onTimeout: async () => {
    const shot = path.join(run.tmp, 'timeout.png');
    if (await run.screenshot(shot)) console.error(`screenshot at the timeout: ${shot}`);
  },
});

/** Lets the window come to rest so screenshots do not differ from run to run. */
async function settle(page) {
  await page.mouse.move(900, 740); // off the tree, whose hovered row shows extra buttons
  await page
    .locator('.statusbar-item', { hasText: 'Activating Extensions' })
    .waitFor({ state: 'detached', timeout: 10_000 })
    .catch(() => console.error('      (extensions still activating after 10 s)'));
  await page.waitForTimeout(500);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** A plan whose task depends on an ID that does not exist: the extension must report it. */
const BROKEN_PLAN = `# Implementation Plan: Gamma Broken

## Phase 1: Setup

- [ ] 1.1 Create the settings file in \`config/settings.json\`
- [ ] 1.2 Load the settings at startup (depends: 1.9)
`;

try {
  ensureBuilt();
  const workspace = copyWorkspace(path.join(run.tmp, 'workspace'));
  writeFileSync(path.join(workspace, 'docs/plans/gamma-broken.md'), BROKEN_PLAN);

  const extensionsDir = path.join(run.tmp, 'extensions');
  const installed = installPackagedExtension(extensionsDir);
  console.error(`installed ${installed.id} (${installed.files.length} packaged files) into ${extensionsDir}`);
  run.server = await startCodeServer({ tmp: run.tmp, extensionsDir, verbose: !!opts.verbose });
  console.error(`code-server ${run.server.origin} up after ${run.elapsed()}; workspace ${workspace}`);
  phase = 'starting chromium';
  Object.assign(run, await launchBrowser({ viewport: { width: 1280, height: 800 } }));
  const page = run.page;
  if (opts.verbose) page.on('console', (m) => console.error(`[browser ${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => console.error(`[browser pageerror] ${e.message}`));

  phase = 'loading the workbench';
  // No payload: a plain window with the extension installed, as a user has it.
  await page.goto(workbenchUrl(run.server, { folder: workspace }));
  await page.locator('.monaco-workbench .part.activitybar').waitFor({ timeout: 60_000 });
  console.error(`workbench up after ${run.elapsed()}`);
  console.log('\n  Plans view (UI)');
  // Every frame's console, webviews included: a content security policy violation is a bug of ours.
  const cspErrors = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to (apply|load|execute)/i.test(m.text())) cspErrors.push(m.text());
  });

  // Tree rows of the side bar only: the Problems panel has tree rows with aria-level too.
  const rows = page.locator('.part.sidebar .pane-body .monaco-list-row');
  const row = (text, level) => rows.filter({ hasText: text }).and(page.locator(`[aria-level="${level}"]`));
  const rowTexts = async (level) =>
    (await page.locator(`.part.sidebar .pane-body .monaco-list-row[aria-level="${level}"]`).allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());

  await check('the "Plans" activity bar icon opens the Plans view', async () => {
    const icon = page.locator('.activitybar .action-item a[aria-label^="Plans"]');
    await icon.waitFor({ timeout: STEP_MS });
    await icon.click();
    await page.locator('.pane-header[aria-label^="Plans"], .composite.title:has-text("Plans")').first().waitFor({ timeout: STEP_MS });
  });

  await check('the tree lists the workspace plans', async () => {
    for (const name of ['Alpha Search', 'Tasks: Beta Export', 'Gamma Broken']) {
      await row(name, 1).first().waitFor({ timeout: STEP_MS });
    }
    const plans = await rowTexts(1);
    assert(plans.length === 3, `expected 3 plans, saw ${JSON.stringify(plans)}`);
  });

  await check('expanding a plan shows its phases', async () => {
    await row('Alpha Search', 1).locator('.monaco-tl-twistie').click();
    await row('Phase 1: Index', 2).waitFor({ timeout: STEP_MS });
    await row('Phase 2: Query', 2).waitFor({ timeout: STEP_MS });
  });

  await check('expanding a phase shows its tasks and VERIFY items', async () => {
    await row('Phase 1: Index', 2).locator('.monaco-tl-twistie').click();
    await row('1.3', 3).waitFor({ timeout: STEP_MS });
    const tasks = await rowTexts(3);
    for (const id of ['1.1', '1.2', '1.3']) assert(tasks.some((t) => t.startsWith(`${id} `)), `no row for task ${id} in ${JSON.stringify(tasks)}`);
    assert(tasks.some((t) => /npm test -- tagIndex/.test(t)), `no VERIFY row in ${JSON.stringify(tasks)}`);
    // The description shows what a task waits for.
    assert(tasks.some((t) => t.startsWith('1.3 ') && t.includes('1.1')), `1.3 does not show its dependency on 1.1: ${JSON.stringify(tasks)}`);
    console.log(`      task rows: ${JSON.stringify(tasks)}`);
  });

  await check('clicking a plan opens it in an editor', async () => {
    await row('Alpha Search', 1).locator('.label-name').click();
    await page.locator('.tabs-container .tab', { hasText: 'alpha.md' }).waitFor({ timeout: STEP_MS });
    await page.locator('.monaco-editor .view-line', { hasText: 'Implementation Plan: Alpha Search' }).waitFor({ timeout: STEP_MS });
  });

  await check('CodeLens sits on the title and the phase headings only', async () => {
    const lenses = page.locator('.monaco-editor .codelens-decoration');
    await lenses.first().waitFor({ timeout: STEP_MS });
    const texts = (await lenses.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    console.log(`      lenses: ${JSON.stringify(texts)}`);
    if (texts.length !== 3) throw new Error(`expected 3 lens lines (title, two phases), saw ${JSON.stringify(texts)}`);
  });

  mkdirSync(screenshotDir, { recursive: true });
  const plansShot = path.join(screenshotDir, 'screenshot-plans-view.png');
  await settle(page);
  if (await run.screenshot(plansShot)) console.log(`      screenshot: ${shown(plansShot)}`);

  await check('a plan with an unknown dependency shows up in the Problems count', async () => {
    // Opening the plan from the tree, as a person would (the row's command opens the file).
    await row('Gamma Broken', 1).locator('.label-name').click();
    await page.locator('.tabs-container .tab', { hasText: 'gamma-broken.md' }).waitFor({ timeout: STEP_MS });
    const problems = page.locator('.statusbar-item#status\\.problems');
    await problems.waitFor({ timeout: STEP_MS });
    let label = '';
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      label = (await problems.locator('a').first().getAttribute('aria-label')) ?? (await problems.innerText());
      const errors = Number(/(\d+)/.exec(label)?.[1] ?? 0);
      if (errors >= 1) break;
      if (Date.now() > deadline) throw new Error(`the Problems count never reached 1 (status bar: ${JSON.stringify(label)})`);
      await page.waitForTimeout(200);
    }
    console.log(`      status bar: ${JSON.stringify(label)}`);
  });

  await check('the Problems panel names the unknown dependency', async () => {
    await page.locator('.statusbar-item#status\\.problems a').first().click();
    const marker = page.locator('.markers-panel .monaco-list-row', { hasText: '1.9' });
    await marker.first().waitFor({ timeout: STEP_MS });
    console.log(`      problem: ${JSON.stringify((await marker.first().innerText()).replace(/\s+/g, ' ').trim())}`);
  });

  const problemsShot = path.join(screenshotDir, 'screenshot-problems.png');
  await settle(page);
  if (await run.screenshot(problemsShot)) console.log(`      screenshot: ${shown(problemsShot)}`);

  /** The frame of the webview whose document has `selector` (webviews sit two iframes down). */
  async function webviewFrame(selector) {
    for (const until = Date.now() + STEP_MS; Date.now() < until; await page.waitForTimeout(200)) {
      for (const frame of page.frames()) {
        if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
      }
    }
    throw new Error(`no webview shows ${selector}`);
  }

  /** Runs a command from the palette by its exact title (typing blindly could run a near match). */
  async function command(name) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: STEP_MS });
    await input.fill(`>${name}`);
    // The row with exactly that title (a near match may be listed first), reached with the arrow keys.
    const rows = page.locator('.quick-input-widget .monaco-list-row');
    let index = -1;
    let labels = [];
    for (const until = Date.now() + STEP_MS; index < 0; await page.waitForTimeout(100)) {
      labels = (await rows.locator('.label-name').allTextContents().catch(() => [])).map((t) => t.trim());
      const at = labels.indexOf(name);
      if (at >= 0) index = Number(await rows.nth(at).getAttribute('data-index'));
      else if (Date.now() > until) throw new Error(`the command palette has no "${name}": ${JSON.stringify(labels)}`);
    }
    for (let i = 0; i < index; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
  }

  /** The webview's page alone, for the README, with `toggles` run before (and again after) to make room. */
  async function webviewShot(file, title, selector, toggles) {
    for (const t of toggles) await command(t);
    const frame = await webviewFrame(selector);
    const container = page.locator('.part.editor .editor-group-container.active .editor-container');
    await container.first().waitFor({ timeout: STEP_MS });
    await settle(page);
    // Down to the end of the page's content, not the empty editor below it.
    const box = await container.first().boundingBox();
    const bottom = await frame.evaluate(() => document.getElementById('app').getBoundingClientRect().bottom);
    const height = Math.min(box.height, Math.ceil(bottom) + 20);
    await page.screenshot({ path: file, timeout: 10_000, clip: { x: box.x, y: box.y, width: box.width, height } });
    console.log(`      screenshot (${title}): ${shown(file)}`);
    for (const t of toggles) await command(t);
  }

  await check('the dashboard opens and its page logs no content security policy error', async () => {
    // Alpha and beta have run for a while: some tasks done, one running with its agent's activity, one
    // failed; each card then has progress bars and a feed.
    const ago = (m) => new Date(Date.now() - m * 60_000).toISOString();
    const status = (plan, tasks) => JSON.stringify({ schemaVersion: 1, plan, version: 4, updatedAt: ago(0), tasks });
    const rec = (state, history, extra = {}) => ({ status: state, updatedAt: history.at(-1)[1], attempts: 1, history: history.map(([s, at]) => ({ status: s, at })), ...extra });
    const alphaStatus = path.join(workspace, 'docs', 'plan-outputs', 'alpha', 'status.json');
    mkdirSync(path.dirname(alphaStatus), { recursive: true });
    writeFileSync(alphaStatus, status('docs/plans/alpha.md', {
      '1.1': rec('completed', [['in_progress', ago(42)], ['completed', ago(18)]], { startedAt: ago(42), completedAt: ago(18) }),
      '1.2': rec('in_progress', [['in_progress', ago(6)]], { startedAt: ago(6), run: { kind: 'claude', activity: 'Edit migrations/0007_tags.sql', turn: 7, costUsd: 0.42 } }),
      '1.3': rec('failed', [['in_progress', ago(17)], ['failed', ago(3)]], { startedAt: ago(17), lastError: 'npm test: 2 failing (tagIndex.test.ts)' }),
    }));
    const betaStatus = path.join(workspace, 'docs', 'plan-outputs', 'tasks', 'status.json');
    mkdirSync(path.dirname(betaStatus), { recursive: true });
    writeFileSync(betaStatus, status('specs/feature/tasks.md', {
      T001: rec('completed', [['in_progress', ago(30)], ['completed', ago(25)]]),
      T002: rec('completed', [['in_progress', ago(24)], ['completed', ago(12)]]),
    }));
    await command('Plan: Show Dashboard');
    await webviewFrame('.summary');
    let widths = [];
    // The webview swaps its inner frame when content arrives: look in every frame each time.
    for (const until = Date.now() + STEP_MS; Date.now() < until; await page.waitForTimeout(200)) {
      widths = [];
      for (const frame of page.frames()) widths.push(...(await frame.locator('.pane .fill.done').evaluateAll((els) => els.map((e) => e.style.width)).catch(() => [])));
      if (widths.filter((w) => w && w !== '0%').length >= 2) break;
    }
    console.log(`      done-bar widths: ${JSON.stringify(widths)}`);
    if (!widths.some((w) => w && w !== '0%')) throw new Error('the progress bar does not fill');
    await page.waitForTimeout(500);
    if (cspErrors.length > 0) throw new Error(`content security policy errors: ${cspErrors.slice(0, 3).join(' | ')}`);
  });

  await check("each plan's card has its own one-line feed, and the page works by keyboard", async () => {
    const frame = await webviewFrame('.pane .feed li');
    const feeds = await frame.locator('.pane').evaluateAll((cards) => cards.map((c) => ({ title: c.querySelector('.title')?.textContent, items: [...c.querySelectorAll('.feed li')].map((li) => li.textContent) })));
    console.log(`      feeds: ${JSON.stringify(feeds.map((f) => `${f.title}: ${f.items.length}`))}`);
    if (feeds.length < 2 || !feeds.every((f) => f.items.length > 0)) throw new Error(`a feed per card expected: ${JSON.stringify(feeds)}`);
    const heights = await frame.locator('.feed li').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().height));
    if (Math.max(...heights) > 2 * Math.min(...heights)) throw new Error(`feed entries of different heights (a wrapped paragraph?): ${JSON.stringify(heights)}`);
    // Tab reaches a card; Enter on it opens its plan.
    const card = frame.locator('.pane').first();
    await card.focus();
    const focused = await frame.evaluate(() => document.activeElement?.className ?? '');
    if (!/\bpane\b/.test(focused)) throw new Error(`the card does not take the focus (active: ${focused})`);
    // The Start a plan control lists the workspace's plans, inactive ones too.
    const options = await frame.locator('#start-plan option').allTextContents();
    if (!options.some((o) => o.startsWith('Gamma Broken'))) throw new Error(`"Start a plan" does not list Gamma Broken: ${JSON.stringify(options)}`);
    const title = await card.locator('.title').textContent();
    await page.keyboard.press('Enter');
    const file = title === 'Alpha Search' ? 'alpha.md' : 'tasks.md';
    await page.locator('.tabs-container .tab', { hasText: file }).waitFor({ timeout: STEP_MS });
  });

  const dashboardShot = path.join(screenshotDir, 'screenshot-dashboard.png');
  await check('the dashboard screenshot', async () => {
    // The Problems panel stays closed for the pictures.
    await command('View: Hide Panel');
    await page.locator('.tabs-container .tab', { hasText: 'Dashboard' }).first().click();
    await webviewFrame('.pane .feed li');
    await webviewShot(dashboardShot, 'dashboard', '.pane .feed li', ['View: Toggle Primary Side Bar Visibility']);
  });

  await check('Show Schedule draws the plan in one panel, flags default estimates and warns about errors', async () => {
    await page.locator('.tabs-container .tab', { hasText: 'alpha.md' }).first().click();
    await command('Plan: Show Schedule');
    const frame = await webviewFrame('svg .bar');
    const guessed = await frame.locator('.item.bar.default').count();
    if (guessed === 0) throw new Error('no bar is drawn as a default estimate');
    const summary = await frame.locator('.summary').innerText();
    if (!/one batch at a time \(the old way\)/.test(summary)) throw new Error(`summary: ${summary}`);
    console.log(`      summary: ${JSON.stringify(summary.replace(/\s+/g, ' '))}`);
    await webviewShot(path.join(screenshotDir, 'screenshot-schedule.png'), 'schedule', 'svg .bar', ['View: Toggle Maximize Editor Group']);
    // The same panel shows another plan: no second chart, no new column.
    await row('Gamma Broken', 1).locator('.label-name').click();
    await page.locator('.tabs-container .tab', { hasText: 'gamma-broken.md' }).first().click();
    await command('Plan: Show Schedule');
    const banner = await webviewFrame('.banner:not([hidden]):has-text("error")');
    console.log(`      banner: ${JSON.stringify(await banner.locator('.banner').innerText())}`);
    const title = await banner.locator('h1.title').innerText();
    if (title !== 'Schedule: Gamma Broken') throw new Error(`the panel shows "${title}"`);
    const tabs = await page.locator('.tabs-container .tab', { hasText: 'Schedule:' }).count();
    if (tabs !== 1) throw new Error(`${tabs} schedule tabs`);
  });

  exitCode = results.failed > 0 ? 1 : 0;
  console.error(`UI checks finished after ${run.elapsed()}`);
  await guard.finish(exitCode);
} catch (e) {
  if (guard.finishing) await new Promise(() => {});
  exitCode = e instanceof SetupError ? 2 : 1;
  console.error(e instanceof SetupError ? e.message : e);
  if (run.server && !(e instanceof SetupError)) console.error(`code-server log, last lines:\n${run.server.logTail(20)}`);
  await guard.finish(exitCode);
}
