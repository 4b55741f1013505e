/**
 * What the plan watcher remembers of each task between two reads of a status file, and how it finds
 * what is new in the next read: from the task's history, so that a task that started and finished
 * between two reads still reports both changes, in order.
 */
import { stat } from 'node:fs/promises';
import type { StatusFile, TaskStatus } from '../../core/status.js';

export interface HistoryEntry {
  status: TaskStatus;
  at: string;
  note?: string;
}

/** What was last seen of a task: enough to find the history entries that are new in the next read. */
export interface TaskMemo {
  status: TaskStatus;
  historyLength: number;
  last?: HistoryEntry;
  /** The agent's latest action as last reported, to send each new one once. */
  activity?: string;
}

/** A file's identity for "has it changed": mtime, size and inode; `missing` when absent, '' for no file. */
export async function stamp(file: string | undefined): Promise<string> {
  if (!file) return '';
  try {
    const s = await stat(file);
    // The inode too: an atomic rewrite of the same size within the same millisecond still differs.
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  } catch {
    return 'missing';
  }
}

function sameEntry(a: HistoryEntry | undefined, b: HistoryEntry | undefined): boolean {
  return !!a && !!b && a.at === b.at && a.status === b.status && (a.note ?? '') === (b.note ?? '');
}

/** The history entries of `rec` that were not there when `memo` was taken. */
export function newEntries(memo: TaskMemo | undefined, rec: StatusFile['tasks'][string]): HistoryEntry[] {
  const h = rec.history;
  const changedStatus = (): HistoryEntry[] => (rec.status !== (memo?.status ?? 'pending') ? [{ status: rec.status, at: rec.updatedAt }] : []);
  if (!memo || memo.historyLength === 0) return h.length > 0 ? h : changedStatus();
  if (memo.historyLength <= h.length && sameEntry(h[memo.historyLength - 1], memo.last)) return h.slice(memo.historyLength);
  // The history is capped, so old entries drop off the front: find where we were.
  for (let i = h.length - 1; i >= 0; i--) if (sameEntry(h[i], memo.last)) return h.slice(i + 1);
  // The record was rewritten by something else (a legacy file, a hand edit): report the status.
  return changedStatus();
}

export function memoOf(rec: StatusFile['tasks'][string]): TaskMemo {
  const last = rec.history[rec.history.length - 1];
  const activity = rec.run?.activity ? `${rec.run.activity}|${rec.run.turn ?? ''}|${rec.run.costUsd ?? ''}` : undefined;
  return { status: rec.status, historyLength: rec.history.length, ...(last ? { last } : {}), ...(activity ? { activity } : {}) };
}
