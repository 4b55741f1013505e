/**
 * The shapes the API sends: plan summaries, per-task rows, and the versioned WebSocket messages.
 * openapi.json describes the same shapes (components/schemas); the tests validate real responses and
 * messages against it, so a change here that is not made there fails a test.
 */
import type { PlanLocation } from '../allPlans.js';
import type { AgentRun } from '../../core/status.js';
import type { TaskStatus } from '../../core/status.js';
import type { TaskDisplayState } from '../../core/taskStates.js';
import type { WaitState } from '../../core/schedule.js';
import type { PlanProgress } from '../../core/progress.js';

/** Bumped only for changes a client could trip over (a field removed or changing meaning); new fields do not bump it. */
export const EVENT_VERSION = 1 as const;

/** A plan as the API names it: the file name without `.md`, suffixed with `@<worktree folder>` when two worktrees have one of that name. */
export interface KnownPlan extends PlanLocation {
  name: string;
}

export interface OrchestratorInfo {
  /** The registry record's name (the plan file name without `.md`). */
  name: string;
  /** The API name of the plan it runs, when that plan is known. */
  plan: string | null;
  planFile: string;
  worktree: string;
  pid: number;
  host: string;
  startedAt: string;
  alive: boolean;
  /** Agent processes running right now. */
  tasks: string[];
}

export interface Progress {
  total: number;
  done: number;
  running: number;
  failed: number;
  percent: number;
}

export interface PlanInfo extends Progress {
  name: string;
  /** The plan path relative to its worktree. */
  plan: string;
  worktree: string;
  branch?: string;
  active: boolean;
  title: string;
  /** Set when the plan or its status file cannot be read; the counts are 0 then. */
  error?: string;
  orchestrator: OrchestratorInfo | null;
}

export interface TaskRow {
  id: string;
  title: string;
  kind: 'task' | 'verify';
  phase: string;
  /** What status.json records (`pending` when it records nothing). */
  status: TaskStatus;
  /** What the tree shows: the recorded status combined with the markdown checkbox and the dependencies. */
  state: TaskDisplayState;
  waitsFor: Array<{ id: string; state: WaitState }>;
  dependsOn: string[];
  attempts: number;
  lastError?: string;
  startedAt?: string;
  completedAt?: string;
  updatedAt?: string;
  /** The task's agent: kind, session, latest action, turn, cost, denied calls waiting for approval, commit. */
  agent?: AgentRun;
}

/** A plan's status in full (GET /api/plans/{name}/status): progress per phase and every task. */
export interface PlanStatus extends PlanProgress {
  name: string;
  plan: string;
  worktree: string;
  branch?: string;
  active: boolean;
  /** status.json, relative to the worktree. */
  statusFile: string;
  version: number;
  updatedAt: string;
  tasks: TaskRow[];
  orchestrator: OrchestratorInfo | null;
}

export interface WorktreeInfo {
  path: string;
  branch?: string;
}

interface Envelope<T extends string> {
  v: typeof EVENT_VERSION;
  type: T;
  /** Increases by one per event of this server; a snapshot carries the seq of the last event before it. */
  seq: number;
  /** When the server sent it (ISO 8601). */
  at: string;
}

export type SnapshotMessage = Envelope<'snapshot'> & {
  plans: Array<PlanInfo & { tasks: TaskRow[] }>;
  orchestrators: OrchestratorInfo[];
  worktrees: WorktreeInfo[];
};

export type TaskMessage = Envelope<'task'> & {
  plan: string;
  task: string;
  title: string;
  status: TaskStatus;
  previous: TaskStatus;
  /** When status.json recorded the change. */
  changedAt: string;
  note?: string;
  attempts?: number;
  error?: string;
  /** The task's agent cost on its latest attempt, when the record has one (the final cost once the task ended). */
  costUsd?: number;
  /** The plan's progress after the status file version that carried this change. */
  progress: Progress;
};

/** A running task's agent did something (throttled to about one a second per plan by the orchestrator's writes). */
export type TaskActivityMessage = Envelope<'task.activity'> & {
  plan: string;
  task: string;
  activity: string;
  turn?: number;
  costUsd?: number;
};

/**
 * A new version of the plan's status file was read (or it became unreadable). Comes after the `task`
 * and `task.activity` events of that read, and also when the write changed nothing they describe
 * (an agent's denied calls, a commit, a cost): a consumer that keeps whole task records re-reads
 * them then (`GET /api/plans/{name}/status`; in process, PlanEventStream.planState).
 */
export type PlanStatusMessage = Envelope<'plan.status'> & {
  plan: string;
  /** The plan file (absolute). */
  file: string;
  /** status.json's own version counter (0: there is no status file). */
  statusVersion: number;
  /** When status.json says it was written ('' when there is none). */
  updatedAt: string;
  progress: Progress;
  /** The status file cannot be used; the plan keeps its last readable state. */
  error?: string;
};

export type OrchestratorMessage = Envelope<'orchestrator.started' | 'orchestrator.stopped'> & { orchestrator: OrchestratorInfo };
export type PlanMessage = Envelope<'plan.added' | 'plan.changed'> & { plan: PlanInfo };
export type PlanRemovedMessage = Envelope<'plan.removed'> & { plan: string; file: string };
export type WorktreeMessage = Envelope<'worktree.created' | 'worktree.removed'> & { worktree: WorktreeInfo };

export type EventMessage = TaskMessage | TaskActivityMessage | PlanStatusMessage | OrchestratorMessage | PlanMessage | PlanRemovedMessage | WorktreeMessage;
export type ServerMessage = SnapshotMessage | EventMessage;

/** Distributes over the union, so each message type keeps its own fields. */
type WithoutEnvelope<T> = T extends unknown ? Omit<T, 'v' | 'seq' | 'at'> : never;
export type EventBody = WithoutEnvelope<EventMessage>;
