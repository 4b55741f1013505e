/**
 * The orchestrator's view of status.json: transitions are recorded in memory first (scheduling reads
 * through them, so a finished task frees its dependents at once) and written in batches, so that a
 * finished task and the tasks it unblocks cost one lock and one fsync. Live agent activity (run
 * updates) rides along with the next write, or goes out on its own at most once a second.
 */
import type { TaskStatus } from '../core/schedule.js';
import type { RunPatch, RunUpdate, StatusFile, StatusStore, StatusTransition } from '../core/status.js';

const ACTIVITY_WRITE_MS = 1_000;

interface Queued {
  batch: Array<{ t: StatusTransition; seq: number }>;
  written: Promise<void>;
  settle: (error?: unknown) => void;
}

export class StatusBatch {
  /** The latest status.json we read or wrote; `local` holds what we decided since. */
  status: StatusFile;
  private readonly local = new Map<string, { status: TaskStatus; seq: number }>();
  private localSeq = 0;
  private writes: Promise<unknown> = Promise.resolve();
  private queued: Queued | undefined;
  private runUpdates = new Map<string, RunPatch>();
  private activityTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: StatusStore,
    initial: StatusFile,
    private readonly warn: (message: string) => void,
  ) {
    this.status = initial;
  }

  /** A task's status as scheduling must see it: ours if we decided one, else the file's. */
  statusOf(id: string): TaskStatus | undefined {
    return this.local.get(id)?.status ?? (this.status.tasks[id]?.status as TaskStatus | undefined);
  }

  /** Whether a transition of ours for this task is recorded but not yet written. */
  hasLocal(id: string): boolean {
    return this.local.has(id);
  }

  /** Picks up changes made by others (planctl skip, approve, the editor) without losing ours in flight. */
  async refresh(): Promise<void> {
    const read = await this.store.read();
    if (read.version >= this.status.version) this.status = read;
  }

  /** Records a transition: visible to scheduling at once, written by the next flush(). Resolves when on disk. */
  record(t: StatusTransition): Promise<void> {
    const seq = ++this.localSeq;
    this.local.set(t.taskId, { status: t.status, seq });
    const queue = this.queue();
    queue.batch.push({ t, seq });
    return queue.written;
  }

  /** Merges a change to a task's agent record; written with the next flush, or within a second. */
  updateRun(taskId: string, patch: RunPatch): void {
    this.runUpdates.set(taskId, { ...(this.runUpdates.get(taskId) ?? {}), ...patch });
    if (this.activityTimer) return;
    this.activityTimer = setTimeout(() => {
      this.activityTimer = undefined;
      this.flush().catch(() => undefined);
    }, ACTIVITY_WRITE_MS);
    this.activityTimer.unref();
  }

  /** Forgets a transition that was recorded but must not be written (its write failed). */
  unrecord(taskId: string): void {
    const entry = this.local.get(taskId);
    if (!entry) return;
    this.local.delete(taskId);
    if (this.queued) this.queued.batch = this.queued.batch.filter((b) => b.seq !== entry.seq);
  }

  private queue(): Queued {
    if (!this.queued) {
      let settle!: (error?: unknown) => void;
      const written = new Promise<void>((resolve, reject) => {
        settle = (error) => (error === undefined ? resolve() : reject(error));
      });
      // Whoever recorded awaits it; a failure nobody awaits must not become an unhandled rejection.
      written.catch(() => undefined);
      this.queued = { batch: [], written, settle };
    }
    return this.queued;
  }

  /** Writes what has been recorded, after the write in flight if there is one. */
  flush(): Promise<void> {
    if (this.runUpdates.size > 0 && !this.queued) this.queue();
    const q = this.queued;
    if (!q) return Promise.resolve();
    this.queued = undefined;
    const updates: RunUpdate[] = [...this.runUpdates].map(([taskId, run]) => ({ taskId, run }));
    this.runUpdates = new Map();
    if (this.activityTimer) {
      clearTimeout(this.activityTimer);
      this.activityTimer = undefined;
    }
    const write = this.writes.then(async () => {
      const status = await this.store.setTaskStatuses(
        q.batch.map((b) => b.t),
        updates,
      );
      if (status.version >= this.status.version) this.status = status;
      // A task recorded again since this batch was taken keeps its newer entry until that is written.
      for (const b of q.batch) if (this.local.get(b.t.taskId)?.seq === b.seq) this.local.delete(b.t.taskId);
    });
    write.then(
      () => q.settle(),
      (e: unknown) => {
        // Still current entries go back into the queue: the next flush tries them again, so an
        // outcome is never only in memory while the file says otherwise. Activity is not worth a retry.
        const current = q.batch.filter((b) => this.local.get(b.t.taskId)?.seq === b.seq);
        if (current.length > 0) this.queue().batch.unshift(...current);
        this.warn(`status.json not written (${e instanceof Error ? e.message : String(e)}); will retry`);
        q.settle(e ?? new Error('status write failed'));
      },
    );
    this.writes = write.catch(() => undefined);
    return q.written;
  }

  /** Resolves when no write is in flight. */
  idle(): Promise<unknown> {
    return this.writes;
  }

  dispose(): void {
    if (this.activityTimer) clearTimeout(this.activityTimer);
    this.activityTimer = undefined;
  }
}
