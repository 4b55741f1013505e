/**
 * Ordering for the plan watcher's checks: one job at a time, in the order asked for, with repeated
 * requests for a job that has not started yet joining it.
 */

/**
 * Every check that emits events runs here, one at a time, so that events keep the order in which
 * things happened on disk (a task's last status write before its orchestrator's registry record goes
 * away). A job requested while the same job waits to start joins it: a burst of fs events costs one
 * run, and every caller still gets a run that started after it asked.
 */
export class Pipeline {
  private tail: Promise<void> = Promise.resolve();
  private readonly queued = new Map<string, Promise<void>>();

  run(key: string, job: () => Promise<void>): Promise<void> {
    const waiting = this.queued.get(key);
    if (waiting) return waiting;
    const next = this.tail.then(() => {
      this.queued.delete(key);
      return job();
    });
    this.queued.set(key, next);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Runs one job at a time; a request made while a run waits to start joins it. */
export class Serial {
  private readonly pipeline = new Pipeline();

  run(job: () => Promise<void>): Promise<void> {
    return this.pipeline.run('', job);
  }
}
