/**
 * The plan API (`planctl serve`): a real server on loopback (port 0), real HTTP (fetch, node:http for
 * headers fetch will not set) and WebSocket (ws) clients, real temporary git repositories, and the
 * simulated agent for orchestrators started through the API. Every response and every WebSocket
 * message is validated against the schemas in openapi.json.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import WebSocket from 'ws';
import { startApiServer, WS_PROTOCOL, type ApiServer, type ApiServerOptions } from '../../src/server/api.js';
import type { OrchestratorMessage, PlanMessage, ServerMessage, TaskMessage } from '../../src/run/events/messages.js';
import { isPidAlive, listRegistry } from '../../src/run/orchestrator.js';
import { statusStoreFor } from '../../src/core/status.js';
import { makeTempRepo, removeTempRepos, tempDir, type TempRepo } from './helpers/tempRepo.js';
import { CLI_ENTRY, SIM_AGENT_ARGV, simEnv, sleep, waitFor } from './helpers/simAgent.js';
import { assertSchema, repoRoot, spec } from './helpers/openapiSchema.js';

const SIM = `# Implementation Plan: Sim

## Phase 1: Setup
- [ ] 1.1 Create config in \`src/config.ts\` (est: 10m)
- [ ] 1.2 Create models in \`src/models.ts\` (est: 60m)

## Phase 2: Build
- [ ] 2.1 Service (depends: 1.1, 1.2) (est: 10m)
- [ ] 2.2 Docs in \`docs/sim.md\` (est: 10m)
`;

const SLOW = `# Implementation Plan: Slow

## Phase 1: Long
- [ ] 1.1 Long one in \`src/slow1.ts\` (est: 8h)
- [ ] 1.2 Long two (depends: 1.1) (est: 2h)
`;

const MANUAL = `# Implementation Plan: Manual

## Phase 1: Hand work
- [ ] 1.1 First in \`src/m1.ts\` (est: 30m)
- [ ] 1.2 Second in \`src/m2.ts\` (est: 1h)
- [ ] 1.3 Third (depends: 1.1, 1.2)
- [ ] 1.4 Fourth (est: 20m)
`;

const WT = `# Implementation Plan: Worktree plan

## Phase 1: Only
- [ ] 1.1 Something (est: 10m)
`;

let repo: TempRepo;
let server: ApiServer;
let tokenFile: string;
const servers: ApiServer[] = [];

async function serve(extra: Partial<ApiServerOptions> = {}): Promise<ApiServer> {
  const s = await startApiServer({
    cwd: repo.dir,
    port: 0,
    tokenFile,
    agent: SIM_AGENT_ARGV,
    maxParallel: 2,
    env: simEnv(),
    entry: CLI_ENTRY,
    // Shorter than the defaults so that a test that relies on the backstops does not wait long.
    watch: { pollMs: 100, rescanMs: 500 },
    ...extra,
  });
  servers.push(s);
  return s;
}

async function api(method: string, route: string, body?: unknown, s = server): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${s.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${s.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

/** node:http, for the headers fetch does not let a caller set (Host) or sets itself. */
function raw(s: ApiServer, method: string, route: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    // A connection of its own (agent: false): never a pooled socket the server may be closing.
    const req = http.request({ host: '127.0.0.1', port: s.port, method, path: route, agent: false, headers: { host: `127.0.0.1:${s.port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function assertError(r: { status: number; json: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assertSchema('Error', r.json);
  assert.equal(r.json.error.code, code);
  assert.doesNotMatch(JSON.stringify(r.json), /\n\s+at /, 'no stack trace');
}

/** A WebSocket client that keeps every message, validated against ServerMessage. */
class Client {
  readonly messages: ServerMessage[] = [];
  private wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as ServerMessage;
      assertSchema('ServerMessage', m);
      this.messages.push(m);
      this.wake?.();
    });
  }

  static open(s: ApiServer, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<Client> {
    const { protocols, ...rest } = options;
    const ws = new WebSocket(`ws://127.0.0.1:${s.port}/api/events`, protocols ?? [], { headers: { authorization: `Bearer ${s.token}` }, ...rest });
    const client = new Client(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
    });
  }

  async next<T extends ServerMessage>(what: string, pred: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found as T;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${this.messages.map((m) => m.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** What an upgrade refused before the handshake answers: status and JSON body. */
function refusedUpgrade(url: string, options: WebSocket.ClientOptions, protocols: string[] = []): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, options);
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    ws.on('open', () => {
      ws.close();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  });
}

async function registry(): Promise<Array<{ pid: number; alive: boolean; name: string }>> {
  return listRegistry(path.join(repo.dir, '.git', 'plan-orchestrator', 'orchestrators'));
}

before(async () => {
  repo = await makeTempRepo({
    'README.md': '# t\n',
    '.gitignore': 'docs/plan-outputs/\n.claude-context/\n',
    'docs/plans/sim.md': SIM,
    'docs/plans/slow.md': SLOW,
    'docs/plans/manual.md': MANUAL,
    'docs/plans/wt.md': WT,
  });
  await repo.write('.claude-context/current-plan.txt', 'docs/plans/sim.md\n');
  // A status file makes a plan known in its worktree without being the active one.
  for (const name of ['slow', 'manual']) await statusStoreFor(path.join(repo.dir, 'docs/plans', `${name}.md`), { root: repo.dir }).update(() => undefined);
  tokenFile = path.join(await tempDir('planctl-api-'), 'config', 'plan-orchestrator', 'api-token');
  server = await serve();
});

after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  // Whatever a failed test left running: no orchestrator (or agent) may outlive the suite.
  for (const e of await registry().catch(() => [])) {
    if (e.alive) {
      try {
        process.kill(e.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
  await removeTempRepos();
});

describe('the token', () => {
  test('is created on first start in a private file and reused on restart', async () => {
    const st = await stat(tokenFile);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal((await stat(path.dirname(tokenFile))).mode & 0o777, 0o700);
    assert.equal((await readFile(tokenFile, 'utf8')).trim(), server.token);
    assert.match(server.token, /^[A-Za-z0-9_-]{43}$/);
    const again = await serve();
    assert.equal(again.token, server.token);
    assert.notEqual(again.port, server.port);
    await again.close();
  });

  test('a token file others can read is refused, not used', async () => {
    const loose = path.join(await tempDir('planctl-api-'), 'api-token');
    await writeFile(loose, `${'a'.repeat(43)}\n`, { mode: 0o644 });
    await chmod(loose, 0o644);
    await assert.rejects(serve({ tokenFile: loose }), /can be read by other users/);
  });
});

describe('access control', () => {
  test('no token or a wrong token: 401 with WWW-Authenticate, on every endpoint', async () => {
    for (const [method, route] of [
      ['GET', '/api/plans'],
      ['GET', '/api/openapi.json'],
      ['POST', '/api/plans/manual/tasks/1.1/complete'],
      ['GET', '/api/nothing-here'],
    ] as const) {
      const none = await raw(server, method, route, {});
      assert.equal(none.status, 401, `${method} ${route}`);
      assert.equal(none.headers['www-authenticate'], 'Bearer');
      assert.equal(JSON.parse(none.text).error.code, 'unauthorized');
      const wrong = await raw(server, method, route, { authorization: `Bearer ${server.token.slice(0, -1)}x` });
      assert.equal(wrong.status, 401);
      const short = await raw(server, method, route, { authorization: 'Bearer x' });
      assert.equal(short.status, 401);
    }
    // Nothing was written by the refused POST.
    const status = await api('GET', '/api/plans/manual/status');
    assert.equal(status.json.tasks.find((t: { id: string }) => t.id === '1.1').status, 'pending');
  });

  test('a foreign Host (DNS rebinding) or Origin is refused with 403 even with the token', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    const badHost = await raw(server, 'GET', '/api/plans', { ...auth, host: `evil.example:${server.port}` });
    assert.equal(badHost.status, 403);
    assert.equal(JSON.parse(badHost.text).error.code, 'bad-host');
    const otherPort = await raw(server, 'GET', '/api/plans', { ...auth, host: `127.0.0.1:${server.port + 1}` });
    assert.equal(otherPort.status, 403);
    const localhost = await raw(server, 'GET', '/api/plans', { ...auth, host: `localhost:${server.port}` });
    assert.equal(localhost.status, 200);
    const origin = await raw(server, 'GET', '/api/plans', { ...auth, origin: 'http://evil.example' });
    assert.equal(origin.status, 403);
    assert.equal(JSON.parse(origin.text).error.code, 'origin-not-allowed');
    // No CORS headers at all when no origin is configured.
    assert.equal(localhost.headers['access-control-allow-origin'], undefined);
    const preflight = await raw(server, 'OPTIONS', '/api/plans', { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' });
    assert.equal(preflight.status, 403);
  });

  test('an allowed origin gets CORS headers and a preflight answer; others still get 403', async () => {
    await assert.rejects(serve({ allowOrigins: ['http://localhost:5173/app'] }), /must be an origin/);
    const s = await serve({ allowOrigins: ['http://localhost:5173'] });
    try {
      const preflight = await raw(s, 'OPTIONS', '/api/plans', { origin: 'http://localhost:5173', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers['access-control-allow-origin'], 'http://localhost:5173');
      assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/);
      const get = await raw(s, 'GET', '/api/plans', { origin: 'http://localhost:5173', authorization: `Bearer ${s.token}` });
      assert.equal(get.status, 200);
      assert.equal(get.headers['access-control-allow-origin'], 'http://localhost:5173');
      const noToken = await raw(s, 'GET', '/api/plans', { origin: 'http://localhost:5173' });
      assert.equal(noToken.status, 401);
      const other = await raw(s, 'GET', '/api/plans', { origin: 'http://localhost:5174', authorization: `Bearer ${s.token}` });
      assert.equal(other.status, 403);
    } finally {
      await s.close();
    }
  });

  test('the WebSocket upgrade is refused without the token, with a wrong one, a foreign Origin or Host', async () => {
    const url = `ws://127.0.0.1:${server.port}/api/events`;
    const none = await refusedUpgrade(url, {});
    assert.equal(none.status, 401);
    assertSchema('Error', none.body);
    assert.equal((await refusedUpgrade(url, { headers: { authorization: 'Bearer nope' } })).status, 401);
    assert.equal((await refusedUpgrade(url, {}, [WS_PROTOCOL, 'bearer.nope'])).status, 401);
    const origin = await refusedUpgrade(url, { headers: { authorization: `Bearer ${server.token}` }, origin: 'http://evil.example' });
    assert.equal(origin.status, 403);
    assert.equal(origin.body.error.code, 'origin-not-allowed');
    const host = await refusedUpgrade(url, { headers: { authorization: `Bearer ${server.token}`, host: `evil.example:${server.port}` } });
    assert.equal(host.status, 403);
    assert.equal((await refusedUpgrade(`ws://127.0.0.1:${server.port}/api/other`, { headers: { authorization: `Bearer ${server.token}` } })).status, 404);
  });

  test('browsers authenticate the WebSocket with the bearer subprotocol; the token is not echoed', async () => {
    const c = await Client.open(server, { headers: {}, protocols: [WS_PROTOCOL, `bearer.${server.token}`] });
    assert.equal(c.ws.protocol, WS_PROTOCOL);
    await c.next('snapshot', (m) => m.type === 'snapshot');
    await c.close();
  });
});

describe('requests the server refuses', () => {
  test('malformed JSON, unknown fields, wrong types, other media types and oversize bodies: clear 4xx', async () => {
    assertError(await api('POST', '/api/plans/manual/tasks/1.2/fail', '{"error": '), 400, 'invalid-json');
    assertError(await api('POST', '/api/plans/manual/tasks/1.2/fail', { reason: 'x' }), 400, 'invalid-request');
    assertError(await api('POST', '/api/plans/manual/tasks/1.2/fail', { error: 42 }), 400, 'invalid-request');
    assertError(await api('POST', '/api/plans/manual/tasks/1.2/complete', [1, 2]), 400, 'invalid-request');
    assertError(await api('POST', '/api/plans/sim/start', { agent: ['rm', '-rf', '/'] }), 400, 'invalid-request');
    assertError(await api('POST', '/api/plans/sim/start', { maxParallel: 0 }), 400, 'invalid-request');
    const text = await raw(server, 'POST', '/api/plans/manual/tasks/1.2/fail', { authorization: `Bearer ${server.token}`, 'content-type': 'text/plain' }, 'boom');
    assert.equal(text.status, 415);
    assert.equal(JSON.parse(text.text).error.code, 'unsupported-media-type');
    const big = JSON.stringify({ error: 'x'.repeat(70 * 1024) });
    assertError(await api('POST', '/api/plans/manual/tasks/1.2/fail', big), 413, 'body-too-large');
    const proto = await api('POST', '/api/plans/manual/tasks/1.2/fail', '{"__proto__": {"x": 1}}');
    assert.equal(proto.status, 400);
    // None of them changed anything.
    const s = await api('GET', '/api/plans/manual/status');
    assert.equal(s.json.tasks.find((t: { id: string }) => t.id === '1.2').status, 'pending');
  });

  test('unknown plans, tasks, endpoints and bad query values: 404/400, and no path is built from them', async () => {
    assertError(await api('GET', '/api/plans/nope/status'), 404, 'unknown-plan');
    assertError(await api('GET', `/api/plans/${encodeURIComponent('../../etc/passwd')}/status`), 404, 'unknown-plan');
    assertError(await api('POST', '/api/plans/manual/tasks/9.9/complete'), 404, 'unknown-task');
    assertError(await api('GET', `/api/plans/manual/logs?task=${encodeURIComponent('../../../etc/passwd')}`), 404, 'unknown-task');
    assertError(await api('GET', '/api/plans/manual/logs?task=1.1'), 404, 'log-not-found');
    assertError(await api('GET', '/api/plans/manual/schedule?workers=0'), 400, 'invalid-request');
    assertError(await api('GET', '/api/plans/manual/schedule?workers=abc'), 400, 'invalid-request');
    assertError(await api('GET', '/api/plans/manual/nothing'), 404, 'not-found');
    assertError(await api('DELETE', '/api/plans'), 404, 'not-found');
    assertError(await api('GET', '/api/events'), 426, 'upgrade-required');
    assertError(await api('POST', '/api/plans/manual/stop'), 409, 'not-running');
  });
});

describe('reading plans', () => {
  test('the OpenAPI document is served as checked in, and covers every route', async () => {
    const r = await api('GET', '/api/openapi.json');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, spec);
    assert.equal(spec.openapi, '3.1.0');
    for (const route of ['/api/plans', '/api/plans/{name}/status', '/api/plans/{name}/start', '/api/plans/{name}/stop', '/api/plans/{name}/logs', '/api/plans/{name}/schedule', '/api/events']) {
      assert.ok(spec.paths[route], route);
    }
    for (const action of ['complete', 'fail', 'skip', 'reset']) assert.ok(spec.paths[`/api/plans/{name}/tasks/{id}/${action}`]?.post, action);
  });

  test('GET /api/plans lists every plan of every worktree with progress (as status --all-plans)', async () => {
    const r = await api('GET', '/api/plans');
    assert.equal(r.status, 200);
    assertSchema('PlanList', r.json);
    const names = r.json.plans.map((p: { name: string }) => p.name).sort();
    assert.deepEqual(names, ['manual', 'sim', 'slow']);
    const sim = r.json.plans.find((p: { name: string }) => p.name === 'sim');
    assert.equal(sim.active, true);
    assert.equal(sim.plan, 'docs/plans/sim.md');
    assert.equal(sim.total, 4);
    assert.equal(sim.orchestrator, null);
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });

  test('GET status gives progress and every task state; GET schedule gives the simulate result', async () => {
    const r = await api('GET', '/api/plans/manual/status');
    assert.equal(r.status, 200);
    assertSchema('PlanStatus', r.json);
    assert.equal(r.json.statusFile, 'docs/plan-outputs/manual/status.json');
    assert.deepEqual(
      r.json.tasks.map((t: { id: string; state: string }) => [t.id, t.state]),
      [
        ['1.1', 'ready'],
        ['1.2', 'ready'],
        ['1.3', 'blocked'],
        ['1.4', 'ready'],
      ],
    );
    const sched = await api('GET', '/api/plans/manual/schedule?workers=2');
    assert.equal(sched.status, 200);
    assertSchema('Schedule', sched.json);
    assert.equal(sched.json.workers, 2);
    assert.equal(sched.json.summary.makespan, 120);
    assert.deepEqual(sched.json.summary.criticalPath, ['1.2', '1.3']);
    const def = await api('GET', '/api/plans/manual/schedule');
    assert.equal(def.json.workers, 3);
  });
});

describe('changing task states', () => {
  test('complete, fail, skip and reset write status.json as planctl does, and the WebSocket reports each', async () => {
    const c = await Client.open(server);
    const snap = await c.next<Extract<ServerMessage, { type: 'snapshot' }>>('snapshot', (m) => m.type === 'snapshot');
    assert.equal(c.messages[0]!.type, 'snapshot');
    assert.ok(snap.plans.some((p) => p.name === 'manual' && p.tasks.length === 4));
    const steps: Array<[string, string, unknown, string]> = [
      ['1.1', 'complete', undefined, 'completed'],
      ['1.2', 'fail', { error: 'tests are red' }, 'failed'],
      ['1.4', 'skip', {}, 'skipped'],
      ['1.2', 'reset', undefined, 'pending'],
    ];
    for (const [id, action, body, status] of steps) {
      const r = await api('POST', `/api/plans/manual/tasks/${id}/${action}`, body);
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assertSchema('TaskUpdate', r.json);
      assert.equal(r.json.status, status);
      const ev = await c.next<TaskMessage>(`${id} ${status}`, (m) => m.type === 'task' && m.plan === 'manual' && m.task === id && m.status === status);
      if (status === 'failed') assert.equal(ev.error, 'tests are red');
    }
    const s = await api('GET', '/api/plans/manual/status');
    const state = Object.fromEntries(s.json.tasks.map((t: { id: string; status: string }) => [t.id, t.status]));
    assert.deepEqual(state, { '1.1': 'completed', '1.2': 'pending', '1.3': 'pending', '1.4': 'skipped' });
    const seqs = c.messages.slice(1).map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(new Set(seqs).size, seqs.length);
    await c.close();
  });

  test('a status.json write made outside the API (StatusStore, as planctl and agents do) reaches the WebSocket quickly', async () => {
    const c = await Client.open(server);
    await c.next('snapshot', (m) => m.type === 'snapshot');
    const store = statusStoreFor(path.join(repo.dir, 'docs/plans/manual.md'), { root: repo.dir });
    await store.setTaskStatus('1.3', 'in_progress', { agent: 'someone' });
    // How quickly is measured in npm run bench (API event latency), not here.
    const ev = await c.next<TaskMessage>('1.3 in_progress', (m) => m.type === 'task' && m.task === '1.3' && m.plan === 'manual');
    assert.equal(ev.status, 'in_progress');
    assert.equal(ev.previous, 'pending');
    assert.equal(ev.progress.running, 1);
    await store.setTaskStatus('1.3', 'pending');
    await c.next('1.3 pending', (m) => m.type === 'task' && m.task === '1.3' && (m as TaskMessage).status === 'pending');
    await c.close();
  });
});

describe('approving a denied tool', () => {
  test('approve saves the rule for the plan, puts the task back to pending to resume its session, and shows the agent in the task row', async () => {
    const store = statusStoreFor(path.join(repo.dir, 'docs/plans/manual.md'), { root: repo.dir });
    await store.setTaskStatuses([
      { taskId: '1.2', status: 'in_progress' },
      { taskId: '1.2', status: 'failed', error: 'permission denied: Bash(make deploy-prod)', run: { kind: 'claude', sessionId: 'abc-123', needsApproval: [{ tool: 'Bash', input: 'make deploy-prod', rule: 'Bash(make deploy-prod)' }] } },
    ]);
    const before = await api('GET', '/api/plans/manual/status');
    const row = before.json.tasks.find((t: { id: string }) => t.id === '1.2');
    assertSchema('PlanStatus', before.json);
    assert.deepEqual(row.agent.needsApproval, [{ tool: 'Bash', input: 'make deploy-prod', rule: 'Bash(make deploy-prod)' }]);

    assertError(await api('POST', '/api/plans/manual/tasks/1.1/approve', {}), 400, 'invalid-argument');
    assertError(await api('POST', '/api/plans/manual/tasks/1.2/approve', { tools: ['rm -rf /'] }), 400, 'invalid-argument');
    const r = await api('POST', '/api/plans/manual/tasks/1.2/approve', {});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assertSchema('ApproveResult', r.json);
    assert.deepEqual(r.json, { plan: 'manual', task: '1.2', approved: ['Bash(make deploy-prod)'], resume: true, status: 'pending' });
    const agentFile = JSON.parse(await readFile(path.join(repo.dir, 'docs/plan-outputs/manual/agent.json'), 'utf8'));
    assert.deepEqual(agentFile.allowedTools, ['Bash(make deploy-prod)']);
    const rec = (await store.read()).tasks['1.2']!;
    assert.equal(rec.status, 'pending');
    assert.equal(rec.run?.resume, true);
    assert.equal(rec.run?.needsApproval, undefined);
    await store.setTaskStatus('1.2', 'pending', { note: 'test cleanup' });
  });
});

describe('orchestrators through the API', () => {
  test('start runs the simulated agents; the WebSocket delivers started before completed for each task', async () => {
    const c = await Client.open(server);
    await c.next('snapshot', (m) => m.type === 'snapshot');
    // Two starts at once: one runs, the other sees it in the registry.
    const both = await Promise.all([api('POST', '/api/plans/sim/start', { maxParallel: 2, inPlace: true }), api('POST', '/api/plans/sim/start', { inPlace: true })]);
    const [first, second] = both.sort((a, b) => a.status - b.status);
    assert.equal(first.status, 202, JSON.stringify(first.json));
    assertSchema('StartResult', first.json);
    assertError(second, 409, 'orchestrator-running');
    assert.equal(first.json.logs, '/api/plans/sim/logs');
    const started = await c.next('orchestrator.started', (m) => m.type === 'orchestrator.started');
    assert.equal((started as OrchestratorMessage).orchestrator.plan, 'sim');
    await c.next('orchestrator.stopped', (m) => m.type === 'orchestrator.stopped', 60_000);
    // Every task: in_progress, then completed, and nothing after the completion.
    const byTask = new Map<string, string[]>();
    for (const m of c.messages) if (m.type === 'task' && m.plan === 'sim') byTask.set(m.task, [...(byTask.get(m.task) ?? []), m.status]);
    assert.deepEqual([...byTask.keys()].sort(), ['1.1', '1.2', '2.1', '2.2']);
    for (const [id, states] of byTask) assert.deepEqual(states, ['in_progress', 'completed'], id);
    // The dependency order shows in the event order too.
    const order = c.messages.filter((m): m is TaskMessage => m.type === 'task' && m.plan === 'sim').map((m) => `${m.task}:${m.status}`);
    assert.ok(order.indexOf('2.1:in_progress') > order.indexOf('1.2:completed'), order.join(' '));
    const last = c.messages.filter((m): m is TaskMessage => m.type === 'task' && m.plan === 'sim').at(-1)!;
    assert.equal(last.progress.done, 4);

    const status = await api('GET', '/api/plans/sim/status');
    assert.equal(status.json.done, 4);
    assert.equal(status.json.orchestrator?.alive ?? false, false);
    const taskLog = await api('GET', '/api/plans/sim/logs?task=2.1');
    assert.equal(taskLog.status, 200);
    assert.match(taskLog.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(taskLog.json, /sim-agent 2\.1: done/);
    // The summary line is printed after the registry record is gone: wait for the process itself.
    await waitFor('the orchestrator to exit', async () => !isPidAlive(first.json.pid));
    const orchestratorLog = await api('GET', '/api/plans/sim/logs');
    assert.equal(orchestratorLog.status, 200);
    assert.match(orchestratorLog.json, /4 done, 0 failed/);
    assert.match(repo.git(['log', '--oneline']), /task 2\.1: Service/);
    await c.close();
  });

  test('stop sends SIGTERM through the registry: running tasks finish, nothing new starts', async () => {
    const c = await Client.open(server);
    await c.next('snapshot', (m) => m.type === 'snapshot');
    const r = await api('POST', '/api/plans/slow/start', { inPlace: true });
    assert.equal(r.status, 202, JSON.stringify(r.json));
    assert.equal(r.json.registered, true);
    await c.next('1.1 in_progress', (m) => m.type === 'task' && m.plan === 'slow' && m.task === '1.1');
    const listed = await api('GET', '/api/plans');
    assert.equal(listed.json.plans.find((p: { name: string }) => p.name === 'slow').orchestrator.pid, r.json.pid);
    const stop = await api('POST', '/api/plans/slow/stop');
    assert.equal(stop.status, 202, JSON.stringify(stop.json));
    assertSchema('StopResult', stop.json);
    assert.equal(stop.json.pid, r.json.pid);
    await c.next('orchestrator.stopped', (m) => m.type === 'orchestrator.stopped' && (m as { orchestrator: { plan: string } }).orchestrator.plan === 'slow', 60_000);
    await waitFor('the orchestrator to exit', async () => !isPidAlive(r.json.pid));
    const s = await api('GET', '/api/plans/slow/status');
    assert.equal(s.json.tasks.find((t: { id: string }) => t.id === '1.1').status, 'completed');
    assert.equal(s.json.tasks.find((t: { id: string }) => t.id === '1.2').status, 'pending');
    assert.ok(!c.messages.some((m) => m.type === 'task' && m.plan === 'slow' && m.task === '1.2'));
    assertError(await api('POST', '/api/plans/slow/stop'), 409, 'not-running');
    await c.close();
  });

  test('a plan with errors is not started', async () => {
    await repo.write('docs/plans/manual.md', `${MANUAL}- [ ] 1.5 Broken (depends: 7.7)\n`);
    try {
      assertError(await api('POST', '/api/plans/manual/start'), 422, 'plan-has-errors');
    } finally {
      await repo.write('docs/plans/manual.md', MANUAL);
    }
  });
});

describe('logs', () => {
  test('follow streams appended bytes; a client that disconnects mid-stream is cleaned up and the server goes on', async () => {
    const logFile = path.join(repo.dir, 'docs/plan-outputs/manual/orchestrator-manual.log');
    const ac = new AbortController();
    const res = await fetch(`${server.url}/api/plans/manual/logs?follow=1`, { headers: { authorization: `Bearer ${server.token}` }, signal: ac.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let got = '';
    const readUntil = async (text: string): Promise<void> => {
      const end = Date.now() + 10_000;
      while (!got.includes(text)) {
        if (Date.now() > end) throw new Error(`no "${text}" in ${JSON.stringify(got)}`);
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        got += Buffer.from(value).toString('utf8');
      }
    };
    // The log does not exist yet: follow waits for it.
    await mkdir(path.dirname(logFile), { recursive: true });
    await appendFile(logFile, 'first line\n');
    await readUntil('first line');
    await appendFile(logFile, 'second line\n');
    await readUntil('second line');
    assert.equal(server.stats().followers, 1);
    ac.abort();
    await waitFor('the follower to be released', async () => server.stats().followers === 0);
    const after = await api('GET', '/api/plans/manual/logs');
    assert.equal(after.status, 200);
    assert.equal(after.json, 'first line\nsecond line\n');
    assert.equal((await api('GET', '/api/plans')).status, 200);
  });
});

describe('connection deadlines', () => {
  /** A raw TCP connection that sends `data` (maybe nothing) and resolves with what came back once the server closes it. */
  function closedByServer(s: ApiServer, data: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(s.port, '127.0.0.1', () => {
        if (data) socket.write(data);
      });
      let got = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (got += d));
      socket.on('error', reject);
      // 'end' (the server's FIN) or a reset both mean the server dropped us; we never end it ourselves.
      socket.on('close', () => resolve(got));
    });
  }

  test('an idle socket, half a request (slowloris), half a body and an idle keep-alive are closed; WebSockets and followed logs stay open', { timeout: 30_000 }, async () => {
    // Short deadlines so that the test is quick; the defaults are 10 s / 10 s / 5 s / 60 s. The idle one
    // (a handler that sends nothing) stays long: a plan's analysis may take that on a loaded machine.
    const s = await serve({ timeouts: { headersMs: 200, requestMs: 300, keepAliveMs: 200, idleMs: 5_000, checkIntervalMs: 50 } });
    const client = await Client.open(s);
    await client.next('snapshot', (m) => m.type === 'snapshot');
    const ac = new AbortController();
    const follow = await fetch(`${s.url}/api/plans/manual/logs?follow=1`, { headers: { authorization: `Bearer ${s.token}` }, signal: ac.signal });
    assert.equal(follow.status, 200);

    // Fresh connections for our own requests: with a 200 ms keep-alive, a pooled one can close under a
    // request sent on a loaded machine ("other side closed"), which is the point of the deadline.
    const auth = { authorization: `Bearer ${s.token}` };
    const state14 = async (): Promise<string> => JSON.parse((await raw(s, 'GET', '/api/plans/manual/status', auth)).text).tasks.find((t: { id: string }) => t.id === '1.4').status;
    const post = async (route: string, body?: unknown) => (await raw(s, 'POST', route, { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) }, body ? JSON.stringify(body) : undefined)).status;
    const before = await state14();
    const host = `Host: 127.0.0.1:${s.port}\r\nAuthorization: Bearer ${s.token}\r\n`;
    const [idle, halfHeaders, halfBody, keepAlive] = await Promise.all([
      closedByServer(s, ''),
      closedByServer(s, `GET /api/plans HTTP/1.1\r\n${host}X-Slow: `),
      closedByServer(s, `POST /api/plans/manual/tasks/1.4/fail HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"error":`),
      closedByServer(s, `GET /api/plans/manual/status HTTP/1.1\r\n${host}\r\n`),
    ]);
    assert.match(idle, /^$|^HTTP\/1\.1 408/);
    assert.match(halfHeaders, /^$|^HTTP\/1\.1 408/);
    assert.doesNotMatch(halfBody, /^HTTP\/1\.1 200/, 'half a body is never taken as a request');
    assert.match(keepAlive, /^HTTP\/1\.1 200 OK/, 'the complete request was answered before its idle connection was closed');
    assert.equal(await state14(), before, 'the half-sent fail was not applied');

    // Well past every deadline above, the WebSocket and the followed log are still served.
    await sleep(1_000);
    assert.equal(client.ws.readyState, WebSocket.OPEN);
    assert.equal(s.stats().followers, 1);
    assert.equal(await post('/api/plans/manual/tasks/1.4/fail', { error: 'deadline test' }), 200);
    await client.next('the failure over the old WebSocket', (m) => m.type === 'task' && (m as TaskMessage).task === '1.4' && (m as TaskMessage).status === 'failed');
    const restore = before === 'skipped' ? 'skip' : before === 'completed' ? 'complete' : 'reset';
    assert.equal(await post(`/api/plans/manual/tasks/1.4/${restore}`), 200);
    ac.abort();
    await client.close();
  });
});

describe('worktrees and plans appearing', () => {
  test('a new worktree and its plan give worktree.created and plan.added; removing them gives the removals', async () => {
    const c = await Client.open(server);
    await c.next('snapshot', (m) => m.type === 'snapshot');
    const wt = path.join(path.dirname(repo.dir), 'wt-plan');
    repo.git(['worktree', 'add', '-q', '-b', 'plan/wt', wt]);
    await c.next('worktree.created', (m) => m.type === 'worktree.created' && (m as { worktree: { path: string } }).worktree.path === wt);
    await repo.write('.claude-context/current-plan.txt', 'docs/plans/wt.md\n', wt);
    const added = await c.next<PlanMessage>('plan.added', (m) => m.type === 'plan.added');
    assert.equal(added.plan.name, 'wt');
    assert.equal(added.plan.branch, 'plan/wt');
    assert.equal((await api('GET', '/api/plans/wt/status')).status, 200);
    repo.git(['worktree', 'remove', '--force', wt]);
    await c.next('plan.removed', (m) => m.type === 'plan.removed' && (m as { plan: string }).plan === 'wt');
    await c.next('worktree.removed', (m) => m.type === 'worktree.removed');
    assertError(await api('GET', '/api/plans/wt/status'), 404, 'unknown-plan');
    await c.close();
  });
});

describe('planctl serve', () => {
  for (const [label, entry] of [
    ['compiled', path.join(repoRoot(), 'out', 'src', 'cli', 'main.js')],
    ['bundled dist/planctl.mjs', path.join(repoRoot(), 'dist', 'planctl.mjs')],
  ] as const) {
    test(`${label}: --port 0 prints the port, serves, and stops on SIGTERM`, async (t) => {
      if (!existsSync(entry)) return t.skip(`${entry} not built (npm run build)`);
      const child = spawn(process.execPath, [entry, 'serve', '--port', '0', '--token-file', tokenFile], { cwd: repo.dir, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      try {
        await waitFor('the port', async () => /port (\d+)/.test(out), 20_000).catch((e) => {
          throw new Error(`${(e as Error).message}: ${out} ${err}`);
        });
        const port = Number(/port (\d+)/.exec(out)![1]);
        const res = await fetch(`http://127.0.0.1:${port}/api/plans`, { headers: { authorization: `Bearer ${server.token}` } });
        assert.equal(res.status, 200);
        assertSchema('PlanList', await res.json());
      } finally {
        child.kill('SIGTERM');
      }
      assert.equal(await exited, 0, err);
      assert.equal(err, '');
      assert.match(out, /SIGTERM: stopping/);
    });
  }
});

test('planctl serve started with PLAN_SERVE_PARENT_PID ends when that process is gone (as when the VS Code host dies)', async () => {
  const entry = path.join(repoRoot(), 'out', 'src', 'cli', 'main.js');
  const parent = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  const child = spawn(process.execPath, [entry, 'serve', '--port', '0', '--token-file', tokenFile], {
    cwd: repo.dir,
    env: { ...process.env, PLAN_SERVE_PARENT_PID: String(parent.pid) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    await waitFor('the port', async () => /port (\d+)/.test(out), 20_000);
    parent.kill('SIGKILL');
    assert.equal(await exited, 0);
    assert.match(out, new RegExp(`parent process ${parent.pid} is gone: stopping`));
  } finally {
    parent.kill('SIGKILL');
    child.kill('SIGTERM');
  }
});

test('closing the server ends its WebSocket clients and leaves nothing running', async () => {
  const s = await serve();
  const c = await Client.open(s);
  await c.next('snapshot', (m) => m.type === 'snapshot');
  const closed = new Promise<void>((resolve) => c.ws.once('close', () => resolve()));
  await s.close();
  await closed;
  await sleep(50);
  assert.equal(s.stats().websockets, 0);
  for (const e of await registry()) assert.equal(e.alive, false, `orchestrator ${e.name} (pid ${e.pid}) still runs`);
});
