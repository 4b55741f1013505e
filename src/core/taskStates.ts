/**
 * The display state of a task (done, running, failed, skipped, ready, blocked) and what it waits
 * for: what the extension's tree and the API's status endpoint show, computed the same way for both.
 */
import type { Plan, Task } from './model.js';
import type { PlanGraph } from './graph.js';
import { waitingFor, type NodeState, type StatusLookup, type WaitState } from './schedule.js';

export type TaskDisplayState = 'done' | 'running' | 'failed' | 'skipped' | 'ready' | 'blocked';

/** `states` is `nodeStates(plan, graph, statusOf)`, computed once per plan and status version. */
export function displayState(
  plan: Plan,
  graph: PlanGraph,
  states: NodeState[],
  statusOf: StatusLookup,
  task: Task,
): { state: TaskDisplayState; waitsFor: Array<{ id: string; state: WaitState }> } {
  const s = states[task.index]!;
  const waitsFor = s === 'done' || s === 'running' ? [] : waitingFor(plan, graph, states, task.index);
  const state: TaskDisplayState =
    s === 'done' ? (statusOf(task.id) === 'skipped' ? 'skipped' : 'done') : s === 'running' ? 'running' : s === 'failed' ? 'failed' : waitsFor.length === 0 ? 'ready' : 'blocked';
  return { state, waitsFor };
}
