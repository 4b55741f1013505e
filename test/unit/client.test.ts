/**
 * The typed client (packages/client): its generated types are those of the checked-in openapi.json,
 * they fit what the server's code builds, and every endpoint of a real server (in process, over a
 * real temporary git repository, with the simulated agent) answered through it fits the spec.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { startApiServer, type ApiServer } from '../../src/server/api.js';
import type { OrchestratorMessage, PlanStatus, ServerMessage, TaskMessage } from '../../src/run/events/messages.js';
import type { ApproveResult, PlanListEntry, PlanSchedule, StartResult, StopResult, TaskUpdate } from '../../src/server/planSource.js';
import { statusStoreFor } from '../../src/core/status.js';
import type * as Client from '../../packages/client/src/index.js';
import { makeTempRepo, removeTempRepos, tempDir, type TempRepo } from './helpers/tempRepo.js';
import { CLI_ENTRY, SIM_AGENT_ARGV, simEnv, waitFor } from './helpers/simAgent.js';
import { repoRoot } from './helpers/openapiSpec.js';
import { assertEveryOperationCalled, checkedClient, openEvents } from './helpers/specClient.js';

/** Compile time: what the server's code builds fits the client's generated types, or the build fails. */
type Fits<Built extends Declared, Declared> = Built;
export type ServerFitsClient = [
  Fits<PlanListEntry, Client.Plan>,
  Fits<PlanStatus, Client.PlanStatus>,
  Fits<PlanSchedule, Client.Schedule>,
  Fits<StartResult, Client.StartResult>,
  Fits<StopResult, Client.StopResult>,
  Fits<TaskUpdate, Client.TaskUpdate>,
  Fits<ApproveResult, Client.ApproveResult>,
  Fits<ServerMessage, Client.ServerMessage>,
];

const SLOW = `# Implementation Plan: Slow

## Phase 1: Long
- [ ] 1.1 Long one in \`src/slow.ts\` (est: 8h)
- [ ] 1.2 After it (depends: 1.1) (est: 10m)
`;

const MANUAL = `# Implementation Plan: Manual

## Phase 1: Hand work
- [ ] 1.1 Deploy script in \`scripts/deploy.sh\` (est: 30m)
- [ ] 1.2 Second in \`src/m2.ts\` (est: 1h)
- [ ] 1.3 Third (depends: 1.1, 1.2)
- [ ] 1.4 Fourth (est: 20m)
`;

const GATED = `# Implementation Plan: Gated

## Phase 1: Build
- [ ] 1.1 Build it in \`src/gated.ts\` (est: 10m)

**VERIFY Phase 1:**
- [ ] \`$ node --version\` runs
`;

let repo: TempRepo;
let server: ApiServer;

before(async () => {
  repo = await makeTempRepo({
    'README.md': '# t\n',
    '.gitignore': 'docs/plan-outputs/\n.claude-context/\n',
    'docs/plans/slow.md': SLOW,
    'docs/plans/manual.md': MANUAL,
    'docs/plans/gated.md': GATED,
  });
  await repo.write('.claude-context/current-plan.txt', 'docs/plans/slow.md\n');
  for (const name of ['manual', 'gated']) await statusStoreFor(path.join(repo.dir, 'docs/plans', `${name}.md`), { root: repo.dir }).update(() => undefined);
  // A task whose agent was denied a tool call, as the orchestrator records it.
  await statusStoreFor(path.join(repo.dir, 'docs/plans/manual.md'), { root: repo.dir }).setTaskStatuses([
    { taskId: '1.1', status: 'in_progress' },
    { taskId: '1.1', status: 'failed', error: 'the agent was denied 1 tool call', run: { kind: 'claude', sessionId: 'session-1', needsApproval: [{ tool: 'Bash', input: 'make deploy', rule: 'Bash(make deploy)' }] } },
  ]);
  const tokenFile = path.join(await tempDir('planctl-client-'), 'api-token');
  server = await startApiServer({ cwd: repo.dir, port: 0, tokenFile, agent: SIM_AGENT_ARGV, maxParallel: 1, env: simEnv(), entry: CLI_ENTRY, watch: { pollMs: 100, rescanMs: 500 } });
});

after(async () => {
  await server?.close();
  await removeTempRepos();
});

describe('the generated client', () => {
  test('packages/client/src/schema.ts is what openapi-typescript makes of openapi.json', () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot(), 'packages/client/scripts/generate.mjs'), '--check'], { cwd: repoRoot(), encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});

describe('every endpoint through the typed client, against a real server', () => {
  test('answers fit the spec: plans, status, schedule, task changes, approve, start, logs, stop, events, errors', { timeout: 60_000 }, async () => {
    const { api, called } = checkedClient(server.url, server.token);
    const events = openEvents(server.url, server.token);
    await events.opened;
    const snapshot = await events.next('the snapshot', (m) => m.type === 'snapshot');
    assert.equal(snapshot.type === 'snapshot' && snapshot.plans.length, 3);

    const doc = await api.GET('/api/openapi.json');
    assert.equal((doc.data as { openapi?: string } | undefined)?.openapi, '3.1.0');

    const dashboard = (await api.GET('/api/dashboard')).data!;
    assert.deepEqual(dashboard.plans.map((p) => p.key).sort(), dashboard.workspacePlans.map((p) => p.file).sort(), 'every plan is a card and can be started');
    const link = (await api.POST('/api/login-codes')).data!;
    assert.match(link.url, /\/login\?code=[\w-]{20,}$/);
    const plans = await api.GET('/api/plans');
    assert.deepEqual(plans.data?.plans.map((p) => p.name).sort(), ['gated', 'manual', 'slow']);

    const manual = { params: { path: { name: 'manual' } } };
    const status = await api.GET('/api/plans/{name}/status', manual);
    assert.equal(status.data?.tasks.find((t) => t.id === '1.1')?.agent?.needsApproval?.[0]?.rule, 'Bash(make deploy)');

    const schedule = await api.GET('/api/plans/{name}/schedule', { params: { path: { name: 'manual' }, query: { workers: '2' } } });
    assert.equal(schedule.data?.workers, 2);

    const task = (id: string) => ({ params: { path: { name: 'manual', id } } });
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/complete', task('1.2'))).data?.status, 'completed');
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/fail', { ...task('1.4'), body: { error: 'tests are red' } })).data?.status, 'failed');
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/skip', task('1.4'))).data?.status, 'skipped');
    assert.equal((await api.POST('/api/plans/{name}/tasks/{id}/reset', task('1.4'))).data?.status, 'pending');
    const approved = await api.POST('/api/plans/{name}/tasks/{id}/approve', task('1.1'));
    assert.deepEqual(approved.data, { plan: 'manual', task: '1.1', approved: ['Bash(make deploy)'], resume: true, status: 'pending' });
    const notWaiting = await api.POST('/api/plans/{name}/tasks/{id}/approve', task('1.2'));
    assert.equal(notWaiting.error?.error.code, 'invalid-argument');

    const gated = await api.POST('/api/plans/{name}/start', { params: { path: { name: 'gated' } }, body: {} });
    assert.equal(gated.response.status, 409);
    assert.deepEqual(gated.error?.error, { code: 'commands-not-approved', message: gated.error?.error.message, commands: ['node --version'] });

    const slow = { params: { path: { name: 'slow' } } };
    const started = await api.POST('/api/plans/{name}/start', { ...slow, body: { inPlace: true, maxParallel: 1 } });
    assert.equal(started.response.status, 202, JSON.stringify(started.error));
    assert.equal(started.data?.registered, true);
    await events.next('orchestrator.started', (m) => m.type === 'orchestrator.started' && m.orchestrator.plan === 'slow');
    await events.next('1.1 started', (m) => m.type === 'task' && m.plan === 'slow' && m.task === '1.1' && m.status === 'in_progress');

    // The task's log, followed: its first bytes, then the client goes away.
    const follow = await api.GET('/api/plans/{name}/logs', { params: { path: { name: 'slow' }, query: { task: '1.1', follow: '1' } }, parseAs: 'stream' });
    const reader = (follow.data as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('sim-agent 1.1')) {
      const chunk = await reader.read();
      assert.ok(!chunk.done, 'the followed log ended');
      text += Buffer.from(chunk.value).toString('utf8');
    }
    await reader.cancel();

    const stopped = await api.POST('/api/plans/{name}/stop', slow);
    assert.equal(stopped.data?.signal, 'SIGTERM');
    const end = (await events.next('orchestrator.stopped', (m) => m.type === 'orchestrator.stopped' && m.orchestrator.plan === 'slow', 30_000)) as OrchestratorMessage;
    assert.equal(end.orchestrator.alive, false);
    const done = events.messages.find((m) => m.type === 'task' && m.plan === 'slow' && m.task === '1.1' && m.status === 'completed') as TaskMessage | undefined;
    assert.ok(done, 'the running task finished before the orchestrator stopped');
    assert.equal(events.gaps.length, 0);

    const log = await api.GET('/api/plans/{name}/logs', { ...slow, parseAs: 'text' });
    assert.match(String(log.data), /1\.1/);
    const noLog = await api.GET('/api/plans/{name}/logs', { params: { path: { name: 'manual' }, query: { task: '1.3' } }, parseAs: 'text' });
    assert.equal(noLog.response.status, 404);
    const notRunning = await api.POST('/api/plans/{name}/stop', slow);
    assert.equal(notRunning.error?.error.code, 'not-running');
    const unknown = await api.GET('/api/plans/{name}/status', { params: { path: { name: 'nope' } } });
    assert.equal(unknown.error?.error.code, 'unknown-plan');

    assertEveryOperationCalled(called);
    events.close();
    await waitFor('the followed log to be let go', async () => server.stats().followers === 0);
  });

  test('a wrong token: 401 through the client too, and the WebSocket is refused', async () => {
    const { api } = checkedClient(server.url, 'not-the-token');
    const r = await api.GET('/api/plans');
    assert.equal(r.response.status, 401);
    assert.equal(r.error?.error.code, 'unauthorized');
    const events = openEvents(server.url, 'not-the-token');
    await assert.rejects(events.opened);
    events.close();
  });
});
