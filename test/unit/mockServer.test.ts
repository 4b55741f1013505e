/**
 * `planctl serve --mock`: made-up plans through the real routes, checked through the typed client
 * against the spec like the real server; a scripted stream of events that keeps going; auth as on
 * the real server; and nothing in the folder it is started in is read or changed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { MockPlans, startApiServer, type ApiServer } from '../../src/server/api.js';
import type { ServerMessage } from '../../src/run/events/messages.js';
import { makeTempRepo, removeTempRepos, tempDir, type TempRepo } from './helpers/tempRepo.js';
import { waitFor } from './helpers/simAgent.js';
import { repoRoot } from './helpers/openapiSpec.js';
import { assertEveryOperationCalled, checkedClient, openEvents } from './helpers/specClient.js';
import { spawnServe } from './helpers/serveProcess.js';

let repo: TempRepo;
let tokenFile: string;
let server: ApiServer;
let filesBefore: string;
let gitBefore: string;

/** Every path under `dir` with its size and modification time. */
async function listing(dir: string): Promise<string> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const s = await stat(p);
    out.push(`${path.relative(dir, p)} ${s.size} ${s.mtimeMs}`);
  }
  return out.sort().join('\n');
}

before(async () => {
  // A real repository with a plan: the mock must not show it, nor touch it.
  repo = await makeTempRepo({ 'README.md': '# t\n', 'docs/plans/real.md': '# Plan: Real\n\n## Phase 1: A\n- [ ] 1.1 Something\n' });
  await repo.write('.claude-context/current-plan.txt', 'docs/plans/real.md\n');
  // git status first: it refreshes the index file.
  gitBefore = repo.git(['status', '--porcelain', '--ignored']);
  filesBefore = await listing(repo.dir);
  tokenFile = path.join(await tempDir('planctl-mock-'), 'api-token');
  server = await startApiServer({ cwd: repo.dir, port: 0, tokenFile, source: new MockPlans({ tickMs: 20 }) });
});

after(async () => {
  await server?.close();
  await removeTempRepos();
});

const isType =
  <T extends ServerMessage['type']>(type: T, extra: (m: ServerMessage & { type: T }) => boolean = () => true) =>
  (m: ServerMessage): boolean =>
    m.type === type && extra(m as ServerMessage & { type: T });

describe('planctl serve --mock', () => {
  test('the WebSocket gives a snapshot of every kind of state, then task, activity and orchestrator events in a loop', { timeout: 60_000 }, async () => {
    const events = openEvents(server.url, server.token);
    await events.opened;
    const snapshot = await events.next('the snapshot', isType('snapshot'));
    assert.ok(snapshot.type === 'snapshot');
    assert.deepEqual(snapshot.plans.map((p) => p.name), ['notes-api', 'search-tuning', 'billing-export', 'onboarding-docs']);
    assert.equal(snapshot.worktrees.length, 3);
    const states = new Set(snapshot.plans.flatMap((p) => p.tasks.map((t) => t.state)));
    for (const s of ['done', 'running', 'failed', 'skipped', 'ready', 'blocked'] as const) assert.ok(states.has(s), `a task is ${s}`);
    const rows = snapshot.plans.flatMap((p) => p.tasks);
    assert.ok(rows.some((t) => t.agent?.needsApproval?.length), 'a task waits for an approval');
    assert.ok(rows.some((t) => t.state === 'running' && t.agent?.activity && t.agent.costUsd), 'a running agent reports activity and cost');
    assert.ok(snapshot.orchestrators.some((o) => o.alive) && snapshot.orchestrators.some((o) => !o.alive));

    await events.next('an activity', isType('task.activity', (m) => m.plan === 'notes-api' && m.costUsd !== undefined));
    await events.next('a task completed', isType('task', (m) => m.status === 'completed'));
    await events.next('a failure with its error', isType('task', (m) => m.status === 'failed' && m.error !== undefined));
    await events.next('the plan finished', isType('orchestrator.stopped', (m) => m.orchestrator.plan === 'notes-api'));
    // …and it starts over: the stream does not run dry.
    await events.next('the replay', isType('orchestrator.started', (m) => m.orchestrator.plan === 'notes-api'));
    await events.next('a task of the replay', (m) => m.type === 'task' && m.note === 'mock: the plan starts over');
    const seqs = events.messages.map((m) => m.seq);
    assert.deepEqual(seqs.slice(1), seqs.slice(1).map((_, i) => seqs[0]! + 1 + i), 'every event once, in order');
    assert.equal(events.gaps.length, 0);
    events.close();
  });

  test('every endpoint through the typed client, answered with the real shapes and errors', { timeout: 30_000 }, async () => {
    const { api, called } = checkedClient(server.url, server.token);
    assert.equal(((await api.GET('/api/openapi.json')).data as { openapi: string }).openapi, '3.1.0');
    const dashboard = (await api.GET('/api/dashboard')).data!;
    assert.equal(dashboard.total.plans, dashboard.plans.length);
    assert.match((await api.POST('/api/login-codes')).data!.url, /\/login\?code=/);
    const plans = (await api.GET('/api/plans')).data!.plans;
    assert.deepEqual(plans.map((p) => p.name), ['notes-api', 'search-tuning', 'billing-export', 'onboarding-docs']);
    assert.ok(plans.every((p) => p.worktree.startsWith('/home/dev/')), 'made-up plans only: not the repository it runs in');

    const status = (await api.GET('/api/plans/{name}/status', { params: { path: { name: 'search-tuning' } } })).data!;
    assert.equal(status.tasks.find((t) => t.id === 'T007')?.state, 'blocked');
    assert.equal(status.orchestrator?.alive, false);
    const schedule = (await api.GET('/api/plans/{name}/schedule', { params: { path: { name: 'notes-api' }, query: { workers: '3' } } })).data!;
    assert.ok(schedule.rows.length > 0 && schedule.summary);

    const billing = (id: string) => ({ params: { path: { name: 'billing-export', id } } });
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/complete', billing('1.1'))).data?.status, 'completed');
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/fail', { ...billing('1.3'), body: { error: 'upload refused: 403' } })).data?.status, 'failed');
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/skip', billing('2.1'))).data?.status, 'skipped');
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/reset', billing('1.3'))).data?.status, 'pending');
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/complete', billing('9.9'))).error?.error.code, 'unknown-task');

    const approve = await api.POST('/api/plans/{name}/tasks/{id}/approve', { params: { path: { name: 'search-tuning', id: 'T006' } } });
    assert.deepEqual(approve.data, { plan: 'search-tuning', task: 'T006', approved: ['Bash(npm run bench:search:*)'], resume: true, status: 'pending' });

    const gated = await api.POST('/api/plans/{name}/start', { params: { path: { name: 'billing-export' } }, body: {} });
    assert.equal(gated.error?.error.code, 'commands-not-approved');
    assert.deepEqual(gated.error?.error.commands, ['npm test']);
    const started = await api.POST('/api/plans/{name}/start', { params: { path: { name: 'billing-export' } }, body: { approveCommands: ['npm test'] } });
    assert.equal(started.response.status, 202);
    assert.equal(started.data?.registered, true);
    assert.equal((await api.POST('/api/plans/{name}/start', { params: { path: { name: 'billing-export' } } })).error?.error.code, 'orchestrator-running');

    const log = await api.GET('/api/plans/{name}/logs', { params: { path: { name: 'search-tuning' } }, parseAs: 'text' });
    assert.match(String(log.data), /T006 needs approval/);
    assert.equal((await api.GET('/api/plans/{name}/logs', { params: { path: { name: 'onboarding-docs' }, query: { task: '1.3' } }, parseAs: 'text' })).error?.error.code, 'log-not-found');
    const follow = await api.GET('/api/plans/{name}/logs', { params: { path: { name: 'notes-api' }, query: { follow: '1' } }, parseAs: 'stream' });
    const reader = (follow.data as ReadableStream<Uint8Array>).getReader();
    let text = '';
    // What the log holds, then lines as the scripted agents go on.
    while ((text.match(/ · /g) ?? []).length < 3) {
      const chunk = await reader.read();
      assert.ok(!chunk.done, 'the followed log ended');
      text += Buffer.from(chunk.value).toString('utf8');
    }
    await reader.cancel();

    await waitFor('billing-export to finish', async () => (await api.GET('/api/plans/{name}/status', { params: { path: { name: 'billing-export' } } })).data?.orchestrator?.alive === false);
    assert.equal((await api.POST('/api/plans/{name}/stop', { params: { path: { name: 'billing-export' } } })).error?.error.code, 'not-running');
    // notes-api rests a few ticks between its runs: a stop then is a 409 like any other.
    await waitFor('a stop of a running notes-api', async () => (await api.POST('/api/plans/{name}/stop', { params: { path: { name: 'notes-api' } } })).data?.signal === 'SIGTERM');
    assert.equal((await api.GET('/api/plans/{name}/status', { params: { path: { name: 'nope' } } })).error?.error.code, 'unknown-plan');

    assertEveryOperationCalled(called);
    await waitFor('the followed log to be let go', async () => server.stats().followers === 0);
  });

  test('the same auth as the real server', async () => {
    const { api } = checkedClient(server.url, 'wrong');
    assert.equal((await api.GET('/api/plans')).error?.error.code, 'unauthorized');
    const events = openEvents(server.url, 'wrong');
    await assert.rejects(events.opened);
    events.close();
  });

  test('the repository it was started in is not changed', async () => {
    assert.equal(await listing(repo.dir), filesBefore);
    assert.equal(repo.git(['status', '--porcelain', '--ignored']), gitBefore);
  });

  test('the built planctl: serve --mock outside any repository prints its port and serves the mock until SIGTERM', async (t) => {
    const entry = path.join(repoRoot(), 'dist', 'planctl.mjs');
    if (!existsSync(entry)) return t.skip(`${entry} not built (npm run build)`);
    const cwd = await tempDir('planctl-mock-cwd-');
    const serve = spawnServe(entry, ['--mock', '--port', '0', '--token-file', tokenFile], { cwd });
    try {
      const url = `http://127.0.0.1:${await serve.port()}`;
      assert.match(serve.out(), /Mock plan API/);
      const { api } = checkedClient(url, server.token);
      assert.equal((await api.GET('/api/plans')).data?.plans.length, 4);
      const events = openEvents(url, server.token);
      await events.next('the snapshot', isType('snapshot'));
      events.close();
    } finally {
      serve.child.kill('SIGTERM');
    }
    assert.equal(await serve.exited, 0, serve.err());
    assert.deepEqual(await readdir(cwd), []);
  });
});
