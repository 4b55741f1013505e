/**
 * The browser side of the plan API: the one-time login link, the session cookie and where it is
 * accepted, the dashboard page and its data. A real server on loopback, real HTTP (node:http, to
 * send the Origin and Sec-Fetch-Site headers a browser would) and a real WebSocket. The page itself
 * is tested in Chromium by test/browser/dashboard.mjs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import WebSocket from 'ws';
import { startApiServer, WS_PROTOCOL, type ApiServer } from '../../src/server/api.js';
import { BrowserSessions, cookieValue, LOGIN_CODE_TTL_MS, ownPageRequest, SESSION_TTL_MS } from '../../src/server/sessions.js';
import { statusStoreFor } from '../../src/core/status.js';
import { makeTempRepo, removeTempRepos, tempDir, type TempRepo } from './helpers/tempRepo.js';
import { assertSchema, spec } from './helpers/openapiSpec.js';

const PLAN = `# Implementation Plan: Notes

## Phase 1: Build
- [ ] 1.1 Store in \`src/store.ts\` (est: 10m)
- [ ] 1.2 Paragraph-long title that goes on and on about what the task has to do, far longer than a card line should ever be (est: 10m)

## Phase 2: Check
- [ ] 2.1 Run it (depends: 1.1)
`;

let repo: TempRepo;
let server: ApiServer;

type Reply = { status: number; headers: http.IncomingHttpHeaders; text: string };

function request(method: string, route: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path: route, agent: false, headers: { host: `127.0.0.1:${server.port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Signs in through a fresh login link; returns the `name=value` to send as Cookie. */
async function signIn(): Promise<string> {
  const link = new URL(server.loginUrl().url);
  const r = await request('GET', `${link.pathname}${link.search}`);
  assert.equal(r.status, 303);
  return String(r.headers['set-cookie']).split(';')[0]!;
}

before(async () => {
  repo = await makeTempRepo({ 'README.md': '# t\n', '.gitignore': 'docs/plan-outputs/\n.claude-context/\n', 'docs/plans/notes.md': PLAN });
  await repo.write('.claude-context/current-plan.txt', 'docs/plans/notes.md\n');
  const store = statusStoreFor(path.join(repo.dir, 'docs/plans/notes.md'), { root: repo.dir });
  await store.setTaskStatus('1.1', 'in_progress');
  await store.setTaskStatus('1.1', 'completed');
  await store.setTaskStatus('1.2', 'failed', { error: 'tests are red' });
  const tokenFile = path.join(await tempDir('planctl-browser-'), 'config', 'api-token');
  server = await startApiServer({ cwd: repo.dir, port: 0, tokenFile, watch: { pollMs: 100, rescanMs: 500 } });
});

after(async () => {
  await server.close();
  await removeTempRepos();
});

describe('login codes and sessions (sessions.ts)', () => {
  test('a code signs in once; a used, expired or unknown code is refused and says which', () => {
    let now = 1_000_000;
    const sessions = new BrowserSessions(() => 'plan_session_1', () => now);
    const { code, expiresAt } = sessions.issueCode();
    assert.match(code, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(expiresAt.getTime(), now + LOGIN_CODE_TTL_MS);
    const first = sessions.redeem(code);
    assert.ok('session' in first);
    assert.deepEqual(sessions.redeem(code), { refused: 'used' });
    assert.deepEqual(sessions.redeem('not-a-code'), { refused: 'unknown' });
    assert.deepEqual(sessions.redeem(undefined), { refused: 'unknown' });
    const late = sessions.issueCode();
    now += LOGIN_CODE_TTL_MS;
    assert.deepEqual(sessions.redeem(late.code), { refused: 'expired' });
    // The session lasts its own time, then is gone.
    const cookie = { cookie: `other=1; plan_session_1=${first.session}` };
    assert.equal(sessions.signedIn(cookie), true);
    assert.equal(sessions.signedIn({ cookie: `plan_session_1=${first.session}x` }), false);
    assert.equal(sessions.cookie(first.session), `plan_session_1=${first.session}; HttpOnly; SameSite=Strict; Path=/`);
    now += SESSION_TTL_MS;
    assert.equal(sessions.signedIn(cookie), false);
  });

  test('the cookie counts only on requests of the own page: own or no Origin, same-origin or typed, and an Origin on a POST', () => {
    const host = '127.0.0.1:3100';
    assert.equal(ownPageRequest({}, 'GET', host), true);
    assert.equal(ownPageRequest({ 'sec-fetch-site': 'none' }, 'GET', host), true);
    assert.equal(ownPageRequest({ 'sec-fetch-site': 'same-origin', origin: 'http://127.0.0.1:3100' }, 'POST', host), true);
    assert.equal(ownPageRequest({}, 'POST', host), false);
    assert.equal(ownPageRequest({ origin: 'http://127.0.0.1:5173' }, 'GET', host), false);
    // Another port of the same host is "same-site": SameSite=Strict would send the cookie along.
    assert.equal(ownPageRequest({ 'sec-fetch-site': 'same-site' }, 'GET', host), false);
    assert.equal(ownPageRequest({ 'sec-fetch-site': 'cross-site' }, 'GET', host), false);
    assert.equal(cookieValue('a=1; b=2;c=3', 'c'), '3');
    assert.equal(cookieValue(undefined, 'c'), undefined);
  });
});

describe('the dashboard of planctl serve', () => {
  test('the login link sets an HttpOnly SameSite=Strict cookie and redirects to / ; the link then works no more', async () => {
    const link = new URL(server.loginUrl().url);
    assert.equal(link.origin, server.url);
    const r = await request('GET', `${link.pathname}${link.search}`);
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const [cookie] = r.headers['set-cookie']!;
    assert.match(cookie!, new RegExp(`^plan_session_${server.port}=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=/$`));
    assert.equal(r.headers['referrer-policy'], 'no-referrer');
    const again = await request('GET', `${link.pathname}${link.search}`);
    assert.equal(again.status, 410);
    assert.equal(again.headers['set-cookie'], undefined);
    assert.match(again.text, /already used/);
    assert.doesNotMatch(again.text, /\n\s+at |Error:/, 'no stack trace');
    const bogus = await request('GET', '/login?code=nothing');
    assert.equal(bogus.status, 400);
    assert.match(bogus.text, /not valid/);
    assert.equal((await request('GET', '/login')).status, 400);
  });

  test('/ is the dashboard page for a signed-in browser, under a strict content security policy, and a sign-in page otherwise', async () => {
    const out = await request('GET', '/');
    assert.equal(out.status, 401);
    assert.match(out.text, /Sign in/);
    assert.doesNotMatch(out.text, new RegExp(server.token));
    const cookie = await signIn();
    const page = await request('GET', '/', { cookie });
    assert.equal(page.status, 200);
    assert.match(page.text, /<script src="\/dashboard.js"><\/script>/);
    assert.doesNotMatch(page.text, /<script>|<style|\sstyle=|\son\w+=/, 'nothing inline');
    assert.doesNotMatch(page.text, new RegExp(server.token));
    const csp = String(page.headers['content-security-policy']);
    for (const rule of ["default-src 'none'", "script-src 'self'", "style-src 'self'", `connect-src 'self' ws://127.0.0.1:${server.port}`, "frame-ancestors 'none'"]) assert.ok(csp.includes(rule), csp);
    // The page's files need no sign-in, but still the Host check.
    const script = await request('GET', '/dashboard.js');
    assert.equal(script.status, 200);
    assert.match(String(script.headers['content-type']), /^text\/javascript/);
    assert.match(script.text, /acquireVsCodeApi/);
    assert.equal((await request('GET', '/dashboard.css', { host: `evil.example:${server.port}` })).status, 403);
  });

  test('GET /api/dashboard builds the cards from the watched status (as the VS Code dashboard does)', async () => {
    const cookie = await signIn();
    const r = await request('GET', '/api/dashboard', { cookie });
    assert.equal(r.status, 200);
    const data = JSON.parse(r.text);
    assertSchema('DashboardData', data);
    assert.ok(spec.paths['/api/dashboard']?.get && spec.paths['/api/login-codes']?.post, 'openapi.json describes both routes');
    assert.equal(data.trusted, true);
    // A card opens the plan's orchestrator log (/api/plans/{name}/logs) in a new tab.
    assert.equal(data.canOpen, true);
    const [notes] = data.plans;
    assert.equal(notes.key, 'notes');
    assert.equal(notes.where, 'main checkout');
    assert.deepEqual([notes.done, notes.total, notes.failed, notes.checks.total], [1, 3, 1, 0]);
    assert.deepEqual(notes.failedTasks.map((t: { id: string; error: string }) => [t.id, t.error]), [['1.2', 'tests are red']]);
    assert.ok(notes.failedTasks[0].title.length <= 80, 'a title on one line');
    assert.deepEqual(notes.activity.map((a: { id: string; status: string }) => `${a.id} ${a.status}`), ['1.2 failed', '1.1 completed', '1.1 in_progress']);
    assert.deepEqual(data.workspacePlans, [{ file: 'notes', title: 'Notes', path: 'docs/plans/notes.md' }]);
    assert.deepEqual(data.total, { done: 1, total: 3, running: 0, failed: 1, percent: 33, plans: 1 });
    // The bearer token works as everywhere.
    assert.equal((await request('GET', '/api/dashboard', { authorization: `Bearer ${server.token}` })).status, 200);
  });

  test('the cookie authenticates the own page only: not another origin, not a POST without Origin, not another local port', async () => {
    const cookie = await signIn();
    const own = `http://127.0.0.1:${server.port}`;
    // A state-changing request from the own page passes authentication (and then fails on its merits).
    const stop = await request('POST', '/api/plans/notes/stop', { cookie, origin: own, 'sec-fetch-site': 'same-origin' });
    assert.equal(stop.status, 409, stop.text);
    assert.equal((await request('POST', '/api/plans/notes/stop', { cookie })).status, 401);
    assert.equal((await request('POST', '/api/plans/notes/stop', { cookie, origin: 'http://127.0.0.1:5173' })).status, 403);
    assert.equal((await request('GET', '/api/dashboard', { cookie, 'sec-fetch-site': 'same-site' })).status, 401);
    assert.equal((await request('GET', '/api/dashboard', { cookie: `plan_session_${server.port}=forged` })).status, 401);
    // More login links need the token itself.
    assert.equal((await request('POST', '/api/login-codes', { cookie, origin: own })).status, 401);
    const made = await request('POST', '/api/login-codes', { authorization: `Bearer ${server.token}` });
    assert.equal(made.status, 201);
    assertSchema('LoginLink', JSON.parse(made.text));
  });

  test('the WebSocket takes the cookie from the own origin, and refuses it from another or without one', async () => {
    const cookie = await signIn();
    const open = (origin?: string): Promise<{ opened: boolean; status?: number; first?: string }> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, [WS_PROTOCOL], { headers: { cookie }, ...(origin ? { origin } : {}) });
        ws.on('message', (data) => {
          ws.close();
          resolve({ opened: true, first: JSON.parse(data.toString()).type });
        });
        ws.on('unexpected-response', (_req, res) => {
          res.resume();
          resolve({ opened: false, status: res.statusCode! });
        });
        ws.on('error', () => undefined);
      });
    assert.deepEqual(await open(`http://127.0.0.1:${server.port}`), { opened: true, first: 'snapshot' });
    assert.deepEqual(await open('http://127.0.0.1:5173'), { opened: false, status: 403 });
    assert.deepEqual(await open(), { opened: false, status: 401 });
  });
});
