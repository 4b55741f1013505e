/**
 * A task attempt in flight, as its orchestrator keeps it from launch to outcome: the agent process
 * (or the queued job), what the agent said it edited, what it has cost so far. Launching, outcome
 * recording and the scheduler all read and update the same record.
 */
import type { Task } from '../core/model.js';
import type { AgentProcess } from './agentProcess.js';
import type { WorktreeSnapshot } from './taskChanges.js';

export interface RunningTask {
  task: Task;
  proc: AgentProcess | undefined;
  startedAt: number;
  attempt: number;
  /** Paths the agent said it edited (absolute): its own, whoever ends first. */
  files: Set<string>;
  before: WorktreeSnapshot | undefined;
  costUsd: number;
  sessionId?: string;
  stopped: boolean;
  /** Runs on a worker (the queue), not as a local process. */
  remote?: boolean;
}
