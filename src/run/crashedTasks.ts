/**
 * Tasks a dead orchestrator on this host left in_progress go back to pending when a run of their
 * plan starts; a live holder's stay. Another host's holders are never judged from here.
 */
import os from 'node:os';
import type { PlanSession } from '../core/session.js';
import { isHolderLive, type StatusFile, type StatusTransition } from '../core/status.js';
import type { OrchestratorEvent } from './orchestratorEvents.js';

export interface CrashedTasksReset {
  /** status.json after the resets (the session's own status when there were none). */
  status: StatusFile;
  /**
   * The attempt each reset task had, for tasks whose jobs a dead coordinator had on the queue: they
   * are followed, not queued again. Empty without `followJobs`.
   */
  earlierAttempts: Map<string, number>;
}

/** Resets the plan's crashed tasks; `followJobs` (with --queue) keeps the attempt each had, for its job. */
export async function resetCrashedTasks(session: PlanSession, agentName: string, followJobs: boolean, emit: (event: OrchestratorEvent) => void): Promise<CrashedTasksReset> {
  const host = os.hostname();
  const resets: Array<StatusTransition & { reason: string }> = [];
  const earlierAttempts = new Map<string, number>();
  for (const [id, rec] of Object.entries(session.status.tasks)) {
    if (rec.status !== 'in_progress' || !rec.holder || rec.holder.host !== host) continue;
    // Live means the same process (its recorded start time): a reused PID does not hold the task.
    if (rec.holder.pid !== process.pid && isHolderLive(rec.holder)) continue;
    const reason = `holder pid ${rec.holder.pid} is gone`;
    resets.push({ taskId: id, status: 'pending', agent: agentName, note: `${reason}; reset for resume`, reason });
    // Its job may still be queued, running, or finished with a commit not integrated yet.
    if (followJobs && rec.run?.kind !== 'gate') earlierAttempts.set(id, rec.attempts);
  }
  if (resets.length === 0) return { status: session.status, earlierAttempts };
  const written = await session.store.setTaskStatuses(resets);
  for (const r of resets) emit({ type: 'reset', id: r.taskId, reason: r.reason });
  return { status: written, earlierAttempts };
}
