/**
 * The display state of each task (done, running, failed, skipped, ready, blocked) and what it waits
 * for, computed once per plan change from core and shared by the tree, decorations and CodeLens.
 */
import type { Task } from '../core/model.js';
import { nodeStates, type NodeState, type WaitState } from '../core/schedule.js';
import { taskCounts, type TaskCounts } from '../core/progress.js';
import { displayState, type TaskDisplayState } from '../core/taskStates.js';
import type { PlanEntry, PlanWorkspace } from './planWorkspace.js';

export type { TaskDisplayState } from '../core/taskStates.js';

export interface TaskView {
  task: Task;
  state: TaskDisplayState;
  /** Unfinished predecessors, expanded through phase barriers to real tasks. */
  waitsFor: Array<{ id: string; state: WaitState }>;
  /** Task IDs that wait directly for this task. */
  dependents: string[];
  /** Direct predecessors that are tasks (explicit, sequential, group). */
  dependsOn: string[];
}

/** Per analysis object (replaced, never mutated, on every change): the views for one status version. */
const cache = new WeakMap<object, { statusKey: string; views: Map<string, TaskView>; states: NodeState[] }>();

export function taskViews(workspace: PlanWorkspace, entry: PlanEntry): Map<string, TaskView> {
  return computed(workspace, entry)?.views ?? new Map();
}

/**
 * The plan's progress as every view shows it (core's taskCounts, from the same states as the rows),
 * optionally of some tasks only (a phase).
 */
export function countsOf(workspace: PlanWorkspace, entry: PlanEntry, only?: (t: Task) => boolean): TaskCounts | undefined {
  const c = computed(workspace, entry);
  if (!c || !entry.analysis) return undefined;
  return taskCounts(entry.analysis.plan, entry.analysis.graph, workspace.statusOf(entry), { states: c.states, only });
}

function computed(workspace: PlanWorkspace, entry: PlanEntry): { views: Map<string, TaskView>; states: NodeState[] } | undefined {
  const analysis = entry.analysis;
  if (!analysis) return undefined;
  const statusKey = entry.status ? `${entry.status.version}@${entry.status.updatedAt}` : 'none';
  const cached = cache.get(analysis);
  if (cached?.statusKey === statusKey) return cached;
  const memo = new Map<string, TaskView>();
  const { plan, graph } = analysis;
  const statusOf = workspace.statusOf(entry);
  const states = nodeStates(plan, graph, statusOf);
  const result = { statusKey, views: memo, states };
  cache.set(analysis, result);
  const dependents = new Map<number, string[]>();
  for (const t of plan.tasks) {
    for (const p of graph.preds[t.index]!) {
      if (p < graph.taskCount && plan.tasks[p]!.parentId !== t.id) {
        const list = dependents.get(p);
        if (list) list.push(t.id);
        else dependents.set(p, [t.id]);
      }
    }
  }
  for (const t of plan.tasks) {
    if (memo.has(t.id)) continue; // duplicate IDs: the first one wins, as in the graph
    const { state, waitsFor: waits } = displayState(plan, graph, states, statusOf, t);
    memo.set(t.id, {
      task: t,
      state,
      waitsFor: waits,
      dependents: dependents.get(t.index) ?? [],
      // A group's children are its parts, shown under it, not tasks it waits for.
      dependsOn: graph.preds[t.index]!.filter((p) => p < graph.taskCount && plan.tasks[p]!.parentId !== t.id).map((p) => plan.tasks[p]!.id),
    });
  }
  return result;
}

export const STATE_LABEL: Record<TaskDisplayState, string> = {
  done: 'done',
  running: 'running',
  failed: 'failed',
  skipped: 'skipped',
  ready: 'ready',
  blocked: 'blocked',
};
