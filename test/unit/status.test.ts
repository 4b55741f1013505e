import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PlanError } from '../../src/core/source.js';
import { findRepoRoot, readStatusFile, statusPathFor, StatusStore, statusStoreFor, type StatusFile } from '../../src/core/status.js';
import { processStartTime } from '../../src/core/processIdentity.js';

let tmp: string;
let counter = 0;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'planctl-status-'));
});

after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh status path per test, so tests never see each other's files. */
function freshStatusPath(): string {
  counter += 1;
  return path.join(tmp, `case-${counter}`, 'docs', 'plan-outputs', 'demo', 'status.json');
}

function isPlanError(code: string, statusPath: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof PlanError, `expected a PlanError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.equal(err.path, statusPath);
    assert.ok(err.message.includes(statusPath), `message names the file: ${err.message}`);
    return true;
  };
}

describe('status location', () => {
  test('defaults to docs/plan-outputs/<plan-name>/status.json under the repo root', async () => {
    const root = path.join(tmp, 'repo');
    await mkdir(path.join(root, '.git'), { recursive: true });
    await mkdir(path.join(root, 'docs', 'plans'), { recursive: true });
    const plan = path.join(root, 'docs', 'plans', 'my-plan.md');

    assert.equal(findRepoRoot(path.join(root, 'docs', 'plans')), root);
    assert.equal(statusPathFor(plan), path.join(root, 'docs', 'plan-outputs', 'my-plan', 'status.json'));
    assert.equal(
      statusPathFor(plan, { output: 'docs/plan-outputs/other' }),
      path.join(root, 'docs', 'plan-outputs', 'other', 'status.json'),
    );
    assert.equal(statusPathFor(plan, { root: '/r' }), path.resolve('/r/docs/plan-outputs/my-plan/status.json'));

    const store = statusStoreFor(plan);
    assert.equal(store.planRelPath, 'docs/plans/my-plan.md');
  });

  test('without a .git ancestor the start folder is the root', async () => {
    const lone = await mkdtemp(path.join(os.tmpdir(), 'planctl-nogit-'));
    try {
      // Only meaningful when the temp folder itself is not inside a repository.
      if (findRepoRoot(path.dirname(lone)) === path.dirname(lone)) assert.equal(findRepoRoot(lone), lone);
    } finally {
      await rm(lone, { recursive: true, force: true });
    }
  });
});

describe('StatusStore', () => {
  test('reading a missing file gives an empty status with version 0', async () => {
    const p = freshStatusPath();
    const store = new StatusStore(p, 'docs/plans/demo.md');
    assert.equal(await readStatusFile(p), undefined);
    const s = await store.read();
    assert.equal(s.version, 0);
    assert.equal(s.schemaVersion, 1);
    assert.equal(s.plan, 'docs/plans/demo.md');
    assert.deepEqual(s.tasks, {});
  });

  test('task transitions set their fields, and every write bumps the version', async () => {
    const p = freshStatusPath();
    const store = new StatusStore(p, 'docs/plans/demo.md');

    let s = await store.setTaskStatus('1.1', 'in_progress', { agent: 'claude-1' });
    assert.equal(s.version, 1);
    let t = s.tasks['1.1']!;
    assert.equal(t.status, 'in_progress');
    assert.equal(t.attempts, 1);
    assert.ok(t.startedAt);
    const startTime = processStartTime(process.pid);
    assert.deepEqual(t.holder, { pid: process.pid, host: os.hostname(), agent: 'claude-1', ...(startTime ? { startTime } : {}) });

    s = await store.setTaskStatus('1.1', 'failed', { error: 'tests failed' });
    t = s.tasks['1.1']!;
    assert.equal(s.version, 2);
    assert.equal(t.status, 'failed');
    assert.equal(t.lastError, 'tests failed');
    assert.equal(t.holder, undefined);

    s = await store.setTaskStatus('1.1', 'pending', { note: 'retry' });
    t = s.tasks['1.1']!;
    assert.equal(t.status, 'pending');
    assert.equal(t.attempts, 1, 'a reset keeps the attempt count');
    assert.equal(t.startedAt, undefined);
    assert.equal(t.lastError, undefined);

    await store.setTaskStatus('1.1', 'in_progress');
    s = await store.setTaskStatus('1.1', 'completed');
    t = s.tasks['1.1']!;
    assert.equal(s.version, 5);
    assert.equal(t.status, 'completed');
    assert.equal(t.attempts, 2);
    assert.ok(t.completedAt);
    assert.equal(t.holder, undefined);
    assert.deepEqual(
      t.history.map((h) => h.status),
      ['in_progress', 'failed', 'pending', 'in_progress', 'completed'],
    );
    assert.equal(t.history[2]!.note, 'retry');

    s = await store.setTaskStatus('2.1', 'skipped');
    assert.equal(s.tasks['2.1']!.status, 'skipped');
    assert.ok(s.tasks['2.1']!.completedAt);
    assert.equal(s.tasks['2.1']!.attempts, 0);

    // What is on disk is what was returned, in the documented layout.
    const text = await readFile(p, 'utf8');
    assert.ok(text.endsWith('}\n'));
    assert.ok(text.startsWith('{\n  "schemaVersion": 1,'));
    assert.deepEqual(JSON.parse(text), s);
    assert.deepEqual(await store.read(), s);
  });

  test('update() passes the current content to the mutator and writes its changes', async () => {
    const p = freshStatusPath();
    const store = new StatusStore(p, 'docs/plans/demo.md');
    await store.setTaskStatus('1.1', 'completed');
    const s = await store.update((st) => {
      assert.equal(st.version, 1);
      st.tasks['1.1']!.lastError = 'noted';
    });
    assert.equal(s.version, 2);
    assert.equal((await store.read()).tasks['1.1']!.lastError, 'noted');
  });

  test('history keeps the last 50 entries', async () => {
    const p = freshStatusPath();
    const store = new StatusStore(p, 'docs/plans/demo.md');
    for (let i = 0; i < 30; i++) {
      await store.setTaskStatus('1.1', 'in_progress');
      await store.setTaskStatus('1.1', 'pending', { note: `n${i}` });
    }
    const t = (await store.read()).tasks['1.1']!;
    assert.equal(t.history.length, 50);
    assert.equal(t.history.at(-1)!.note, 'n29');
    assert.equal(t.attempts, 30);
  });

  test('corrupt JSON is reported with the path and the file is left untouched', async () => {
    const p = freshStatusPath();
    await mkdir(path.dirname(p), { recursive: true });
    const bytes = '{ "schemaVersion": 1, "tasks": { oops';
    await writeFile(p, bytes);
    const store = new StatusStore(p, 'docs/plans/demo.md');

    await assert.rejects(store.read(), isPlanError('status-corrupt', p));
    await assert.rejects(store.setTaskStatus('1.1', 'completed'), isPlanError('status-corrupt', p));
    assert.equal(await readFile(p, 'utf8'), bytes);
  });

  test('a file that fails the schema is reported with the failing field and left untouched', async () => {
    const p = freshStatusPath();
    await mkdir(path.dirname(p), { recursive: true });
    const bytes = JSON.stringify({
      schemaVersion: 1,
      plan: 'docs/plans/demo.md',
      version: 3,
      updatedAt: '2025-01-01T00:00:00.000Z',
      tasks: { '1.1': { status: 'done', updatedAt: 'x', attempts: 1, history: [] } },
    });
    await writeFile(p, bytes);
    const store = new StatusStore(p, 'docs/plans/demo.md');

    await assert.rejects(store.read(), (err: unknown) => {
      isPlanError('status-corrupt', p)(err);
      assert.match((err as Error).message, /tasks\.1\.1\.status/);
      return true;
    });
    await assert.rejects(store.update(() => {}), isPlanError('status-corrupt', p));
    assert.equal(await readFile(p, 'utf8'), bytes);
  });

  test('a status path that cannot be read is reported as unreadable', async () => {
    const p = freshStatusPath();
    await mkdir(p, { recursive: true }); // a folder where the file should be: EISDIR
    await assert.rejects(new StatusStore(p, 'x.md').read(), isPlanError('status-unreadable', p));
  });

  test("the old tool's array format is read, and written back in it: their fields kept, summary current, a backup of their original", async () => {
    const p = freshStatusPath();
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(
      p,
      JSON.stringify({
        planPath: 'docs/plans/demo.md',
        planName: 'demo',
        summary: { total: 3, completed: 1, pending: 1, in_progress: 1 },
        tasks: [
          { id: '1.1', description: 'A', phase: 1, status: 'completed', completedAt: '2025-01-02T00:00:00.000Z' },
          { id: '1.2', description: 'B', status: 'in_progress', startedAt: '2025-01-03T00:00:00.000Z' },
          { id: '1.3', description: 'C', status: 'pending', error: null },
        ],
      }),
    );
    const store = new StatusStore(p, 'docs/plans/demo.md');
    const s = await store.read();
    assert.deepEqual(Object.keys(s.tasks), ['1.1', '1.2', '1.3']);
    assert.equal(s.tasks['1.1']!.status, 'completed');
    assert.equal(s.tasks['1.1']!.completedAt, '2025-01-02T00:00:00.000Z');
    assert.equal(s.tasks['1.2']!.status, 'in_progress');
    assert.equal(s.tasks['1.2']!.attempts, 1);
    assert.equal(s.tasks['1.3']!.status, 'pending');
    assert.equal(s.version, 0);

    const original = await readFile(p, 'utf8');
    await store.setTaskStatus('1.3', 'in_progress');
    const written = JSON.parse(await readFile(p, 'utf8'));
    assert.equal(written.schemaVersion, 1);
    assert.equal(written.version, 1);
    // The seeds' scripts read this file too: it keeps their layout and fields, and the counts are current.
    assert.equal(Array.isArray(written.tasks), true);
    assert.deepEqual(written.summary, { total: 3, completed: 1, pending: 0, in_progress: 2, failed: 0, skipped: 0 });
    assert.equal(written.planPath, 'docs/plans/demo.md');
    assert.equal(written.planName, 'demo');
    assert.deepEqual(written.tasks.map((t: { id: string }) => t.id), ['1.1', '1.2', '1.3']);
    assert.equal(written.tasks[0].description, 'A');
    assert.equal(written.tasks[0].phase, 1);
    assert.equal(written.tasks[0].status, 'completed');
    assert.equal(written.tasks[2].status, 'in_progress');
    assert.equal(written.tasks[2].error, null, 'an old field name keeps being written, with the current value');
    // Their original is kept, once.
    assert.equal(await readFile(`${p}.bak`, 'utf8'), original);
    await store.setTaskStatus('1.3', 'completed');
    assert.equal((await readFile(`${p}.bak`, 'utf8')), original);
    const again = await store.read();
    assert.equal(again.tasks['1.3']!.status, 'completed');
    assert.equal(again.tasks['1.3']!.history.length, 2, 'our own fields survive the array layout');
  });

  test('a file of an unknown shape or schema version is refused, named, and never rewritten', async () => {
    const shapes = [
      '{"schemaVersion":2,"tasks":[]}',
      '{"schemaVersion":"1","plan":"x","version":1,"updatedAt":"","tasks":{}}',
      '{"tasks":{"1.1":{"status":"completed"}}}',
      '{"plan":"docs/plans/demo.md"}',
      '[]',
      '42',
    ];
    for (const bytes of shapes) {
      const p = freshStatusPath();
      await mkdir(path.dirname(p), { recursive: true });
      await writeFile(p, bytes);
      const store = new StatusStore(p, 'docs/plans/demo.md');
      await assert.rejects(store.read(), (err: unknown) => {
        isPlanError('status-corrupt', p)(err);
        assert.match((err as Error).message, /is kept as it is/);
        return true;
      }, bytes);
      await assert.rejects(store.setTaskStatus('1.1', 'completed'), isPlanError('status-corrupt', p), bytes);
      await assert.rejects(store.claimTask('1.1'), isPlanError('status-corrupt', p), bytes);
      assert.equal(await readFile(p, 'utf8'), bytes, `${bytes} is kept byte for byte`);
    }
    const p = freshStatusPath();
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, '{"schemaVersion":2,"tasks":[]}');
    await assert.rejects(new StatusStore(p, 'x.md').read(), /schemaVersion 2 is not one this version/);
  });

  test('a status.json that is a symbolic link is refused and its target never written', async () => {
    const p = freshStatusPath();
    await mkdir(path.dirname(p), { recursive: true });
    const target = path.join(path.dirname(p), 'elsewhere.json');
    const bytes = JSON.stringify({ schemaVersion: 1, plan: 'x.md', version: 1, updatedAt: '', tasks: {} });
    await writeFile(target, bytes);
    await symlink(target, p);
    const store = new StatusStore(p, 'docs/plans/demo.md');
    const refused = (err: unknown): boolean => {
      isPlanError('status-unreadable', p)(err);
      assert.match((err as Error).message, /symbolic link/);
      return true;
    };
    await assert.rejects(store.read(), refused);
    await assert.rejects(readStatusFile(p), refused);
    await assert.rejects(store.setTaskStatus('1.1', 'completed'), refused);
    await assert.rejects(store.claimTask('1.1'), refused);
    assert.equal(await readFile(target, 'utf8'), bytes);
    assert.ok((await lstat(p)).isSymbolicLink());

    // A dangling link too: writing would create its target.
    const q = freshStatusPath();
    await mkdir(path.dirname(q), { recursive: true });
    const missing = path.join(path.dirname(q), 'not-there.json');
    await symlink(missing, q);
    await assert.rejects(new StatusStore(q, 'x.md').setTaskStatus('1.1', 'completed'), isPlanError('status-unreadable', q));
    await assert.rejects(stat(missing), { code: 'ENOENT' });
  });

  test('a lock left by a dead process is recovered once stale', async () => {
    const p = freshStatusPath();
    const lockDir = `${p}.lock`;
    await mkdir(lockDir, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    await utimes(lockDir, old, old);

    const store = new StatusStore(p, 'docs/plans/demo.md');
    const s = await store.setTaskStatus('1.1', 'completed');
    assert.equal(s.version, 1);
    await assert.rejects(stat(lockDir), { code: 'ENOENT' });
  });

  test('a live lock that is never released ends in status-locked, without writing', async () => {
    const p = freshStatusPath();
    await mkdir(`${p}.lock`, { recursive: true }); // fresh mtime: a holder that is still alive
    const store = new StatusStore(p, 'docs/plans/demo.md', {
      lockRetries: { retries: 2, minTimeout: 5, maxTimeout: 10 },
    });
    await assert.rejects(store.setTaskStatus('1.1', 'completed'), isPlanError('status-locked', p));
    assert.equal(await readStatusFile(p), undefined);
  });

  test('concurrent updates from one process are all kept', async () => {
    const p = freshStatusPath();
    const store = new StatusStore(p, 'docs/plans/demo.md');
    const ids = Array.from({ length: 20 }, (_, i) => `1.${i + 1}`);
    await Promise.all(ids.map((id) => store.setTaskStatus(id, 'completed')));
    const s = await store.read();
    assert.equal(s.version, 20);
    assert.equal(Object.keys(s.tasks).length, 20);
  });
});

describe('claiming a task', () => {
  /** A status file whose task 1.1 is in progress, held by `holder`. */
  async function heldBy(holder: NonNullable<StatusFile['tasks'][string]['holder']>): Promise<{ p: string; store: StatusStore }> {
    const p = freshStatusPath();
    await mkdir(path.dirname(p), { recursive: true });
    const at = '2025-01-01T00:00:00.000Z';
    const file: StatusFile = {
      schemaVersion: 1,
      plan: 'docs/plans/demo.md',
      version: 1,
      updatedAt: at,
      tasks: { '1.1': { status: 'in_progress', startedAt: at, updatedAt: at, attempts: 1, holder, history: [{ status: 'in_progress', at }] } },
    };
    await writeFile(p, JSON.stringify(file));
    return { p, store: new StatusStore(p, 'docs/plans/demo.md') };
  }

  function isClaimed(p: string, holderPid: number) {
    return (err: unknown): boolean => {
      assert.ok(err instanceof PlanError, `expected a PlanError, got ${String(err)}`);
      assert.equal(err.code, 'task-claimed');
      assert.equal(err.path, p);
      assert.match(err.message, new RegExp(`task 1\\.1 of docs/plans/demo\\.md is already in progress, held by pid ${holderPid} `));
      assert.match((err as Error).message, /--force/);
      return true;
    };
  }

  test('a task held by a live process is refused without writing; --force takes it over', async () => {
    const p = freshStatusPath();
    const store = new StatusStore(p, 'docs/plans/demo.md');
    const first = await store.claimTask('1.1', { agent: 'claude-1' });
    assert.equal(first.tasks['1.1']!.holder!.pid, process.pid);
    assert.equal(first.tasks['1.1']!.holder!.startTime, processStartTime(process.pid));
    await assert.rejects(store.claimTask('1.1', { agent: 'claude-2' }), isClaimed(p, process.pid));
    assert.equal((await store.read()).version, 1, 'a refused claim writes nothing');
    const forced = await store.claimTask('1.1', { agent: 'claude-2', force: true });
    assert.equal(forced.tasks['1.1']!.holder!.agent, 'claude-2');
    assert.equal(forced.tasks['1.1']!.attempts, 2);
    assert.match(forced.tasks['1.1']!.history.at(-1)!.note!, /took over from pid \d+ .*\(forced\)/);
    // Any other state can be claimed: a completed task is started again.
    await store.setTaskStatus('1.1', 'completed');
    assert.equal((await store.claimTask('1.1')).tasks['1.1']!.status, 'in_progress');
  });

  test('a holder that is gone, or whose PID now names another process, does not block', async () => {
    const exited = spawnSync(process.execPath, ['-e', '']);
    const dead = await heldBy({ pid: exited.pid!, host: os.hostname() });
    const s = await dead.store.claimTask('1.1');
    assert.equal(s.tasks['1.1']!.holder!.pid, process.pid);
    assert.match(s.tasks['1.1']!.history.at(-1)!.note!, /which is gone/);

    // Our own PID, but recorded with another start time: the PID was reused. Needs /proc to tell.
    if (processStartTime(process.pid) !== undefined) {
      const reused = await heldBy({ pid: process.pid, host: os.hostname(), startTime: 'not-this-process' });
      assert.equal((await reused.store.claimTask('1.1')).tasks['1.1']!.holder!.startTime, processStartTime(process.pid));
    }
  });

  test('a live holder on this host, or any holder on another host, blocks', async () => {
    const live = await heldBy({ pid: process.pid, host: os.hostname(), agent: 'a', startTime: processStartTime(process.pid) });
    await assert.rejects(live.store.claimTask('1.1'), isClaimed(live.p, process.pid));
    const remote = await heldBy({ pid: 1, host: `not-${os.hostname()}`, agent: 'b' });
    await assert.rejects(remote.store.claimTask('1.1'), (err: unknown) => {
      isClaimed(remote.p, 1)(err);
      assert.match((err as Error).message, new RegExp(`on not-${os.hostname()} \\(agent b\\)`));
      return true;
    });
    // An older record without a start time: a live PID counts as the holder.
    const older = await heldBy({ pid: process.pid, host: os.hostname() });
    await assert.rejects(older.store.claimTask('1.1'), isClaimed(older.p, process.pid));
  });
});

describe('StatusStore across processes', () => {
  const here = fileURLToPath(import.meta.url);
  // Under tsx the test runs from its .ts source; compiled by tsc it runs from out/…/*.js.
  const fromSource = here.endsWith('.ts');
  const worker = path.join(path.dirname(here), 'helpers', fromSource ? 'status-worker.ts' : 'status-worker.js');
  const nodeArgs = fromSource ? ['--import', import.meta.resolve('tsx')] : [];

  function runWorker(statusPath: string, taskIds: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [...nodeArgs, worker, statusPath, ...taskIds], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('error', reject);
      child.on('exit', (code, signal) =>
        code === 0 ? resolve() : reject(new Error(`worker exited with ${code ?? signal}: ${stderr}`)),
      );
    });
  }

  test('8 processes × 25 tasks × 2 writes on one file lose nothing', { timeout: 60_000 }, async (t) => {
    const p = freshStatusPath();
    const workers = 8;
    const perWorker = 25;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: workers }, (_, w) =>
        runWorker(
          p,
          Array.from({ length: perWorker }, (_, i) => `${w + 1}.${i + 1}`),
        ),
      ),
    );
    const elapsed = Date.now() - started;

    const s = (await readStatusFile(p))!;
    assert.equal(Object.keys(s.tasks).length, workers * perWorker);
    for (const [id, t] of Object.entries(s.tasks)) {
      assert.equal(t.status, 'completed', `task ${id}`);
      assert.equal(t.attempts, 1, `task ${id}`);
      assert.equal(t.holder, undefined, `task ${id}`);
    }
    assert.equal(s.version, workers * perWorker * 2);
    await assert.rejects(stat(`${p}.lock`), { code: 'ENOENT' });
    t.diagnostic(`concurrency: ${workers * perWorker * 2} writes from ${workers} processes in ${elapsed} ms`);
  });
});
