/**
 * The plan event stream: the one source of live plan data for every view. The API's WebSocket, the
 * VS Code views, the terminal dashboard and the browser dashboard all consume it; none of them
 * watches status files, the registry or the worktree list itself. PlanWatcher (planWatcher.ts) is
 * the implementation; this file is the contract a consumer relies on.
 *
 * What a consumer can count on:
 * - Every event has a `seq`, one more than the event before it (1, 2, 3, … per stream).
 * - `subscribe` returns the snapshot and registers the listener in the same tick: the snapshot
 *   holds everything up to and including event `snapshot.seq`, and the listener receives exactly the
 *   events after it, `snapshot.seq + 1`, `+ 2`, … in order. Nothing falls between the two, and no
 *   event is delivered twice. A consumer that relays events (over a socket) and sees a gap in `seq`
 *   has lost messages and should subscribe again.
 * - Events come in the order things happened on disk: a task's last status change before its
 *   orchestrator's `orchestrator.stopped`; the `task` and `task.activity` events of one read of a
 *   status file before that read's `plan.status`.
 *
 * In-process hosts (the extension) also read the stream's own copy of each plan (`planState`): the
 * status file as last read and the plan's analysis, so that a view never reads or parses a file the
 * stream has already read.
 */
import type { Analysis } from '../../core/analyzer.js';
import type { StatusFile } from '../../core/status.js';
import type { PlanLocation } from '../allPlans.js';
import type { EventMessage, KnownPlan, OrchestratorInfo, SnapshotMessage } from './messages.js';

/** `json` is the event serialised once, for listeners that send it on to many clients. */
export type StreamListener = (event: EventMessage, json: string) => void;

export interface StreamSubscription {
  /** Everything up to and including event `snapshot.seq`; the listener gets the events after it. */
  readonly snapshot: SnapshotMessage;
  /** Stops the listener; calling it again does nothing. */
  unsubscribe(): void;
}

/** A plan as the stream last read it. Shared with the stream: read it, never change it. */
export interface PlanState {
  plan: KnownPlan;
  /** Where its status file is (known once the plan could be read). */
  statusPath?: string;
  /** The status file as last read; the last readable one while `statusError` is set; empty when there is none. */
  status: StatusFile;
  /** Whether the status file exists (`status` is empty when it does not). */
  statusExists: boolean;
  /** The status file exists but cannot be used (corrupt, unreadable, a symbolic link). */
  statusError?: string;
  /** Absent while the plan cannot be read (`error` says why). */
  analysis?: Analysis;
  /** The plan or its status file cannot be read. */
  error?: string;
}

/** A plan a host wants watched besides the worktrees' own (their active plan and those with a status file). */
export type TrackedPlan = Pick<PlanLocation, 'file' | 'worktree'>;

export interface PlanEventStream {
  /** The seq of the last event sent (0 before the first). */
  readonly seq: number;
  /**
   * Registers `listener` and returns the snapshot it starts from (see the file comment for the
   * guarantee). Subscribe once the stream has started: its first scan sends no events.
   */
  subscribe(listener: StreamListener): StreamSubscription;
  /** The current state, as a late subscriber would get it (its `seq` is that of the last event). */
  snapshot(): SnapshotMessage;
  /** The stream's copy of one plan, by its absolute file path; undefined for a plan it does not watch. */
  planState(file: string): PlanState | undefined;
  /** Every watched plan's state. */
  planStates(): PlanState[];
  /**
   * Also watch these plans (the extension's workspace plans, including ones without a status file
   * yet, or with it outside docs/plan-outputs). Replaces the previous list; resolves once the stream
   * has applied it (`plan.added` / `plan.removed` for the difference).
   */
  trackPlans(plans: readonly TrackedPlan[]): Promise<void>;
  /** The live record of the orchestrator running this plan file, or else its last (dead) record. */
  orchestratorFor(file: string): OrchestratorInfo | null;
  /** Every known orchestrator record; `refresh` re-reads the registry first. */
  listOrchestrators(refresh?: boolean): Promise<OrchestratorInfo[]>;
}
