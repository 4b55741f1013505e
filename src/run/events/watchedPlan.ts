/**
 * A plan as an event source holds it (its analysis, its last status file, what it last reported of
 * each task) and the events a new status file means. Shared by the plan watcher, which reads status
 * files from disk, and the mock data of `planctl serve --mock`, which changes them in memory: both
 * report a change the same way because the same code compares the two states.
 *
 * Task events come from the status file's per-task history, not from comparing two statuses, so a
 * task that started and completed between two reads still gives `in_progress` then `completed`.
 */
import type { Analysis } from '../../core/analyzer.js';
import type { StatusFile, TaskStatus } from '../../core/status.js';
import type { EventBody, KnownPlan, OrchestratorInfo, PlanInfo, Progress, SnapshotMessage } from './messages.js';
import { NO_PROGRESS, progressOf, taskRows } from './views.js';
import { memoOf, newEntries, type HistoryEntry, type TaskMemo } from './taskMemo.js';

export interface WatchedPlan {
  loc: KnownPlan;
  analysis?: Analysis;
  status: StatusFile;
  /** Why the plan or its status file cannot be read right now. */
  error?: string;
  memo: Map<string, TaskMemo>;
  progress: Progress;
  title: string;
}

export function newWatchedPlan(loc: KnownPlan, status: StatusFile): WatchedPlan {
  return { loc, status, memo: new Map(), progress: NO_PROGRESS, title: '' };
}

/** Takes the new status as the plan's state; returns the task events for what changed since the last one. */
export function applyStatus(w: WatchedPlan, status: StatusFile): EventBody[] {
  const titles = new Map((w.analysis?.plan.tasks ?? []).map((t) => [t.id, t.title]));
  const changes: Array<{ id: string; entry: HistoryEntry; previous: TaskStatus; last: boolean }> = [];
  const activities: EventBody[] = [];
  const memo = new Map<string, TaskMemo>();
  for (const [id, rec] of Object.entries(status.tasks)) {
    const old = w.memo.get(id);
    const now = memoOf(rec);
    if (rec.status === 'in_progress' && rec.run?.activity && now.activity !== old?.activity) {
      activities.push({
        type: 'task.activity',
        plan: w.loc.name,
        task: id,
        activity: rec.run.activity,
        ...(rec.run.turn !== undefined ? { turn: rec.run.turn } : {}),
        ...(rec.run.costUsd !== undefined ? { costUsd: rec.run.costUsd } : {}),
      });
    }
    let previous = old?.status ?? 'pending';
    const entries = newEntries(old, rec);
    entries.forEach((entry, i) => {
      changes.push({ id, entry, previous, last: i === entries.length - 1 });
      previous = entry.status;
    });
    memo.set(id, now);
  }
  // A record that disappeared (status file deleted or replaced) means the task is pending again.
  for (const [id, old] of w.memo) {
    if (!memo.has(id) && old.status !== 'pending') changes.push({ id, entry: { status: 'pending', at: status.updatedAt || new Date().toISOString(), note: 'no longer recorded' }, previous: old.status, last: true });
  }
  w.memo = memo;
  w.status = status;
  w.title = w.analysis?.plan.title ?? '';
  w.progress = w.analysis ? progressOf(w.analysis, status) : NO_PROGRESS;
  const taskEvents: EventBody[] = changes.map((c) => {
    const rec = status.tasks[c.id];
    return {
      type: 'task',
      plan: w.loc.name,
      task: c.id,
      title: titles.get(c.id) ?? '',
      status: c.entry.status,
      previous: c.previous,
      changedAt: c.entry.at,
      ...(c.entry.note ? { note: c.entry.note } : {}),
      // Attempts and the error belong to the record as it is now, i.e. to its latest change.
      ...(c.last && rec ? { attempts: rec.attempts } : {}),
      ...(c.last && rec?.lastError && c.entry.status === 'failed' ? { error: rec.lastError } : {}),
      ...(c.last && rec?.run?.costUsd !== undefined ? { costUsd: rec.run.costUsd } : {}),
      progress: w.progress,
    };
  });
  return [...taskEvents, ...activities];
}

/** The plan's summary as plan events and the snapshot carry it. */
export function planInfo(w: WatchedPlan, orchestrator: OrchestratorInfo | null): PlanInfo {
  return {
    name: w.loc.name,
    plan: w.loc.plan,
    worktree: w.loc.worktree,
    ...(w.loc.branch ? { branch: w.loc.branch } : {}),
    active: w.loc.active,
    title: w.title,
    ...w.progress,
    ...(w.error ? { error: w.error } : {}),
    orchestrator,
  };
}

export function snapshotPlan(w: WatchedPlan, orchestrator: OrchestratorInfo | null): SnapshotMessage['plans'][number] {
  return { ...planInfo(w, orchestrator), tasks: w.analysis ? taskRows(w.analysis, w.status) : [] };
}
