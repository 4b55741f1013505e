/**
 * The dashboard's data: the PlanWatcher's snapshot, taken again after each burst of events (the
 * watcher computes the rows and the progress; the dashboard only draws them), and the activity feeds
 * built from the same events. Listeners hear once per burst, not once per event.
 */
import path from 'node:path';
import type { PlanWatcher } from '../run/events/planWatcher.js';
import type { EventMessage, SnapshotMessage } from '../run/events/messages.js';
import { DIR_PREFIX } from '../git/worktreeNames.js';
import { Feeds, feedLineOf, type Tone } from './model.js';

/** Lines of `planctl orchestrate` that the watcher's task events already tell. */
const TOLD_BY_EVENTS = /^(▶ |✓ |✗ |\s+\S+ · )/;

export class DashboardSource {
  readonly feeds = new Feeds();
  private current: SnapshotMessage;
  private readonly listeners = new Set<() => void>();
  private refreshQueued = false;
  private readonly unsubscribe: () => void;
  private readonly eventListeners = new Set<(e: EventMessage) => void>();

  /** `watcher` has been started; the source takes its snapshot now and follows its events. */
  constructor(readonly watcher: PlanWatcher) {
    this.unsubscribe = watcher.onEvent((e) => {
      const f = feedLineOf(e);
      if (f) this.feeds.add(f.plan, f.line);
      for (const l of this.eventListeners) l(e);
      this.refreshSoon();
    });
    this.current = watcher.snapshot();
  }

  get snapshot(): SnapshotMessage {
    return this.current;
  }

  /** Called after each change (a new snapshot, a new feed line); returns the unsubscribe. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every raw event, as it comes (the plain output prints each). */
  onEvent(listener: (e: EventMessage) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** A line of our own (an action's outcome) in a plan's feed, or in the general one. */
  note(plan: string | undefined, text: string, tone: Tone): void {
    this.feeds.add(plan, { at: new Date().toISOString(), text, tone });
    this.changed();
  }

  /**
   * A line of `orchestrate --all` (`[worktree name] text`): into the feed of the plan in that
   * worktree, unless the watcher's events already said the same.
   */
  runLine(line: string): void {
    const m = /^\[([^\]]+)\] (.*)$/.exec(line);
    if (m && TOLD_BY_EVENTS.test(m[2]!)) return;
    const plan = m ? this.current.plans.find((p) => [m[1], `${DIR_PREFIX}${m[1]}`].includes(path.basename(p.worktree))) : undefined;
    const text = m && plan ? m[2]! : line;
    this.note(plan?.name, text, /failed|skipped|killed|could not/.test(text) ? 'bad' : /succeeded/.test(text) ? 'ok' : 'info');
  }

  /** Takes a new snapshot now (after an action the watcher may not have seen yet). */
  async refresh(): Promise<void> {
    await this.watcher.rescan();
    this.current = this.watcher.snapshot();
    this.changed();
  }

  private refreshSoon(): void {
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    // The events of one check of the watcher arrive in the same tick: one snapshot for all of them.
    setImmediate(() => {
      this.refreshQueued = false;
      this.current = this.watcher.snapshot();
      this.changed();
    });
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  close(): void {
    this.unsubscribe();
    this.listeners.clear();
    this.eventListeners.clear();
  }
}
