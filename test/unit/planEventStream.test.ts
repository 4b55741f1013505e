/**
 * The plan event stream's contract (src/run/events/stream.ts), in process, over a real temporary git
 * repository and real status writes through core's StatusStore (as planctl and the orchestrator
 * write them): seq numbers without gaps, a snapshot for late subscribers, no event lost or repeated
 * between a snapshot and its subscription, and the in-process plan state.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PlanWatcher } from '../../src/run/events/planWatcher.js';
import { EVENT_VERSION, type EventMessage, type SnapshotMessage, type TaskMessage } from '../../src/run/events/messages.js';
import type { PlanEventStream, StreamSubscription } from '../../src/run/events/stream.js';
import { statusStoreFor, type StatusStore } from '../../src/core/status.js';
import { makeTempRepo, removeTempRepos, type TempRepo } from './helpers/tempRepo.js';
import { waitFor } from './helpers/simAgent.js';

const PLAN = `# Implementation Plan: Stream

## Phase 1: Work
- [ ] 1.1 One (est: 10m)
- [ ] 1.2 Two (est: 10m)
- [ ] 1.3 Three (est: 10m)
- [ ] 1.4 Four (depends: 1.1) (est: 10m)
`;

/** A plan no worktree names: no pointer to it and no status file yet. */
const LOOSE = `# Implementation Plan: Loose

## Phase 1: Work
- [ ] 1.1 Only (est: 10m)
`;

let repo: TempRepo;
let watcher: PlanWatcher;
let store: StatusStore;
const planFile = (): string => path.join(repo.dir, 'docs/plans/stream.md');
const statusFile = (): string => path.join(repo.dir, 'docs/plan-outputs/stream/status.json');

/** Every event a subscriber received, after its snapshot. */
interface Recording {
  sub: StreamSubscription;
  events: EventMessage[];
}

function record(stream: PlanEventStream): Recording {
  const events: EventMessage[] = [];
  const sub = stream.subscribe((e) => events.push(e));
  return { sub, events };
}

/** The task statuses a consumer holds after applying its events to its snapshot. */
function replay(snapshot: SnapshotMessage, events: readonly EventMessage[], plan: string): Record<string, string> {
  const state = Object.fromEntries((snapshot.plans.find((p) => p.name === plan)?.tasks ?? []).map((t) => [t.id, t.status as string]));
  for (const e of events) if (e.type === 'task' && e.plan === plan) state[e.task] = e.status;
  return state;
}

function statuses(snapshot: SnapshotMessage, plan: string): Record<string, string> {
  return replay(snapshot, [], plan);
}

/** The stream has read the status file's latest version. */
async function caughtUp(): Promise<void> {
  const version = (await store.read()).version;
  await waitFor(`the stream to read status version ${version}`, async () => watcher.planState(planFile())?.status.version === version);
}

before(async () => {
  repo = await makeTempRepo({ 'README.md': '# r\n', 'docs/plans/stream.md': PLAN, 'docs/plans/loose.md': LOOSE, '.claude-context/current-plan.txt': 'docs/plans/stream.md\n' });
  store = statusStoreFor(planFile(), { root: repo.dir });
  // Slow backstops: what these tests see comes from fs.watch, as it does in the extension.
  watcher = new PlanWatcher({ cwd: repo.dir, pollMs: 1000, rescanMs: 5000 });
  await watcher.start();
});

after(async () => {
  watcher.close();
  await removeTempRepos();
});

describe('the plan event stream', () => {
  test('every event carries the format version and a seq one more than the event before it', async () => {
    const r = record(watcher);
    await store.setTaskStatus('1.1', 'in_progress');
    await store.setTaskStatus('1.1', 'completed');
    await waitFor('1.1 completed', async () => r.events.some((e) => e.type === 'task' && e.task === '1.1' && e.status === 'completed'));
    r.sub.unsubscribe();
    const seqs = r.events.map((e) => e.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => r.sub.snapshot.seq + 1 + i), 'consecutive from the snapshot on');
    assert.ok(r.events.every((e) => e.v === EVENT_VERSION));
    assert.equal(watcher.seq, seqs.at(-1));
    // The task events of a read come before that read's plan.status.
    const lastTask = r.events.map((e) => e.type).lastIndexOf('task');
    assert.ok(r.events.slice(lastTask + 1).some((e) => e.type === 'plan.status'), r.events.map((e) => e.type).join(' '));
    const status = [...r.events].reverse().find((e) => e.type === 'plan.status');
    assert.equal(status?.type === 'plan.status' && status.statusVersion, (await store.read()).version);
  });

  test('a late subscriber gets a snapshot holding what happened before it, then only what follows', async () => {
    await store.setTaskStatus('1.2', 'in_progress');
    await caughtUp();
    const late = record(watcher);
    assert.equal(late.sub.snapshot.seq, watcher.seq, 'the snapshot is as of the last event');
    assert.equal(late.sub.snapshot.v, EVENT_VERSION);
    const rows = statuses(late.sub.snapshot, 'stream');
    assert.equal(rows['1.1'], 'completed');
    assert.equal(rows['1.2'], 'in_progress');
    await store.setTaskStatus('1.2', 'failed', { error: 'red' });
    const failed = await waitForEvent(late, (e) => e.type === 'task' && e.task === '1.2' && e.status === 'failed');
    late.sub.unsubscribe();
    assert.equal(late.events[0]!.seq, late.sub.snapshot.seq + 1);
    assert.ok(!late.events.some((e) => e.type === 'task' && e.task === '1.2' && e.status === 'in_progress'), 'nothing from before the snapshot again');
    assert.equal((failed as TaskMessage).error, 'red');
  });

  test('no event is lost or repeated between a snapshot and its subscription, while writes keep coming', async () => {
    const subscribers: Recording[] = [];
    const ids = ['1.1', '1.2', '1.3', '1.4'];
    const cycle = ['in_progress', 'completed', 'pending'] as const;
    // Subscribers join at every point of a stream of writes: before, between and during reads.
    const joining = (async () => {
      for (let i = 0; i < 40; i++) {
        subscribers.push(record(watcher));
        await new Promise((r) => setTimeout(r, i % 3));
      }
    })();
    for (let i = 0; i < 24; i++) await store.setTaskStatus(ids[i % ids.length]!, cycle[Math.floor(i / ids.length) % cycle.length]!);
    await joining;
    await caughtUp();
    const final = watcher.snapshot();
    for (const s of subscribers) s.sub.unsubscribe();
    for (const [n, s] of subscribers.entries()) {
      const seqs = s.events.map((e) => e.seq);
      assert.deepEqual(seqs, seqs.map((_, i) => s.sub.snapshot.seq + 1 + i), `subscriber ${n}: no gap, no repeat`);
      assert.equal(s.sub.snapshot.seq + s.events.length, final.seq, `subscriber ${n} received every event up to the end`);
      assert.deepEqual(replay(s.sub.snapshot, s.events, 'stream'), statuses(final, 'stream'), `subscriber ${n}: snapshot + events = the final state`);
    }
  });

  test('in process: the plan state is the status as read, unreadable files are reported, task events carry the cost', async () => {
    const r = record(watcher);
    await store.setTaskStatuses([{ taskId: '1.3', status: 'in_progress' }, { taskId: '1.3', status: 'completed', run: { kind: 'claude', costUsd: 0.42 } }]);
    const done = (await waitForEvent(r, (e) => e.type === 'task' && e.task === '1.3' && e.status === 'completed')) as TaskMessage;
    assert.equal(done.costUsd, 0.42);
    await caughtUp();
    const state = watcher.planState(planFile())!;
    assert.deepEqual(state.status, await store.read());
    assert.equal(state.statusPath, statusFile());
    assert.equal(state.analysis?.plan.title, 'Stream');

    const good = await store.read();
    await writeFile(statusFile(), '{ not json');
    const broken = await waitForEvent(r, (e) => e.type === 'plan.status' && e.error !== undefined);
    assert.equal(broken.type === 'plan.status' && broken.statusVersion, good.version, 'the last readable version is kept');
    assert.match(watcher.planState(planFile())!.statusError ?? '', /status/);
    assert.deepEqual(watcher.planState(planFile())!.status, good);
    await writeFile(statusFile(), JSON.stringify(good));
    await waitForEvent(r, (e) => e.type === 'plan.status' && e.seq > broken.seq && e.error === undefined);
    assert.equal(watcher.planState(planFile())!.statusError, undefined);
    r.sub.unsubscribe();
  });

  test('trackPlans adds a plan no worktree names, and its status writes become events', async () => {
    const loose = path.join(repo.dir, 'docs/plans/loose.md');
    assert.equal(watcher.planState(loose), undefined, 'no pointer, no status file: not watched');
    const r = record(watcher);
    await watcher.trackPlans([{ file: loose, worktree: repo.dir }]);
    assert.ok(r.events.some((e) => e.type === 'plan.added' && e.plan.plan === 'docs/plans/loose.md'));
    const state = watcher.planState(loose)!;
    assert.equal(state.status.version, 0);
    assert.ok(state.statusPath, 'its status file is known before it exists');
    await statusStoreFor(loose, { root: repo.dir }).setTaskStatus('1.1', 'in_progress');
    await waitForEvent(r, (e) => e.type === 'task' && e.plan === 'loose' && e.task === '1.1' && e.status === 'in_progress');
    await watcher.trackPlans([]);
    // It has a status file now, so the worktree names it: it stays.
    assert.ok(watcher.planState(loose));
    r.sub.unsubscribe();
  });
});

async function waitForEvent(r: Recording, pred: (e: EventMessage) => boolean): Promise<EventMessage> {
  let hit: EventMessage | undefined;
  await waitFor('an event', async () => (hit = r.events.find(pred)) !== undefined);
  return hit!;
}
