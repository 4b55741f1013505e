/**
 * The numbered stream of API messages: the envelope (`v`, `seq`, `at`) every message carries, and the
 * listeners they go to. One feed per event source (the plan watcher of a repository, the mock data of
 * `planctl serve --mock`), so that `seq` means the same thing whichever one a client talks to.
 */
import { EVENT_VERSION, type EventBody, type EventMessage, type SnapshotMessage } from './messages.js';

export type EventListener = (message: EventMessage, json: string) => void;

export class EventFeed {
  private readonly listeners = new Set<EventListener>();
  private seq = 0;
  private closed = false;

  /** `onError` gets what a listener threw: one failing listener must not stop the others. */
  constructor(private readonly onError: (err: unknown) => void = () => undefined) {}

  /** `json` is the message already serialised once, for listeners that send it to many clients. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The seq of the last event sent (0 before the first). */
  get lastSeq(): number {
    return this.seq;
  }

  emit(body: EventBody): void {
    if (this.closed) return;
    const message = { v: EVENT_VERSION, seq: ++this.seq, at: new Date().toISOString(), ...body } as EventMessage;
    const json = JSON.stringify(message);
    for (const l of this.listeners) {
      try {
        l(message, json);
      } catch (e) {
        this.onError(e);
      }
    }
  }

  /** What a client gets first: everything, with the seq of the last event sent before it. */
  snapshot(body: Pick<SnapshotMessage, 'plans' | 'orchestrators' | 'worktrees'>): SnapshotMessage {
    return { v: EVENT_VERSION, type: 'snapshot', seq: this.seq, at: new Date().toISOString(), ...body };
  }

  close(): void {
    this.closed = true;
    this.listeners.clear();
  }
}
