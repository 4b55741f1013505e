/**
 * The dependency graph of plan-format.md ("Execution semantics").
 *
 * Nodes 0..n-1 are the plan's tasks and VERIFY items (same order as plan.tasks). Each phase adds
 * two zero-length virtual nodes, so that a phase barrier costs O(tasks) edges instead of
 * O(tasks of k-1 × tasks of k):
 *   tasksDone(k) — every task of phase k is done;
 *   gate(k)      — tasksDone(k) and the phase's blocking VERIFY items are done.
 * A task that waits for "the phase before" waits for gate(k-1).
 *
 * A percentage pipeline (`pipeline-start: 60% of Phase 1`, or the plan-wide `phase_overlap`) adds a
 * quota node after those: it is done once `need` of its counted predecessors (the tasks of the earlier
 * phase) are done, plus all of its other predecessors. It is a node rather than edges because "any 3
 * of these 5" cannot be written as edges; schedule.ts honours the quota in nodeStates and simulate.
 */
import type { Phase, Plan, Task } from './model.js';

export type EdgeKind = 'explicit' | 'barrier' | 'sequential' | 'verify' | 'group' | 'pipeline' | 'phase-dependency';

export interface UnresolvedDependency {
  task: number;
  /** Index into task.dependsOn. */
  ref: number;
}

export interface PlanGraph {
  /** Tasks plus 2 virtual nodes per phase. */
  nodeCount: number;
  taskCount: number;
  preds: number[][];
  succs: number[][];
  /** Why each edge exists, keyed `${from}>${to}`; used for messages (cycles, tooltips). */
  edgeKinds: Map<string, EdgeKind>;
  /** Duration in minutes (estimate, or the defaults: 60 for a task, 0 for VERIFY items, groups and virtual nodes). */
  duration: number[];
  /** First occurrence of each ID. */
  indexById: Map<string, number>;
  unresolved: UnresolvedDependency[];
  selfDependencies: UnresolvedDependency[];
  /** Task IDs named by `pipeline-start` or sequential notes that do not exist. */
  unknownAnnotationIds: Array<{ phase: number; id: string; where: 'pipeline-start' | 'execution-note' }>;
  /** Quota nodes (percentage pipelines), keyed by node; every other node needs all of its predecessors. */
  quotas: Map<number, QuotaNode>;
}

export interface QuotaNode {
  /** The predecessors that count towards the quota (the earlier phase's tasks); the others are all required. */
  counted: Set<number>;
  /** How many of `counted` must be done: ceil(percent × counted.size). */
  need: number;
  percent: number;
  /** The phase (index) named in messages: the last of `phases`. */
  phase: number;
  /** The phases (indices) whose tasks are counted. */
  phases: number[];
}

export interface GraphOptions {
  /**
   * Plan-wide phase overlap (git-workflow.json `plans.phase_overlap`, 0 < x ≤ 1): a phase that would
   * wait for the whole phase before it starts once this share of that phase's tasks is done (the
   * seeds' status-cli.js used 0.8). Phases with their own annotation keep it.
   */
  phaseOverlap?: number;
}

/** ceil(percent% × count), without 0.7 × 10 = 7.000000000000001 rounding up to 8. */
export function quotaNeed(count: number, percent: number): number {
  return Math.min(count, Math.max(0, Math.ceil((count * percent) / 100 - 1e-9)));
}

export const DEFAULT_TASK_MINUTES = 60;

export function tasksDoneNode(graph: Pick<PlanGraph, 'taskCount'>, phaseIndex: number): number {
  return graph.taskCount + 2 * phaseIndex;
}

export function gateNode(graph: Pick<PlanGraph, 'taskCount'>, phaseIndex: number): number {
  return graph.taskCount + 2 * phaseIndex + 1;
}

/** Describes a node for people: a task ID, or "the end of Phase 2". */
export function describeNode(plan: Plan, graph: PlanGraph, node: number): string {
  if (node < graph.taskCount) return plan.tasks[node]!.id;
  const quota = graph.quotas.get(node);
  if (quota) return `${quota.percent}% of Phase ${plan.phases[quota.phase]!.id}`;
  const phase = plan.phases[(node - graph.taskCount) >> 1]!;
  const name = phase.implicit ? 'the task list' : `Phase ${phase.id}`;
  return (node - graph.taskCount) % 2 === 0 ? `the tasks of ${name}` : `the end of ${name}`;
}

export function isSequentialDialect(plan: Plan): boolean {
  return plan.dialect !== 'seeds';
}

export function buildGraph(plan: Plan, options: GraphOptions = {}): PlanGraph {
  const n = plan.tasks.length;
  const nodeCount = n + 2 * plan.phases.length;
  const preds: number[][] = Array.from({ length: nodeCount }, () => []);
  const edgeKinds = new Map<string, EdgeKind>();
  const indexById = new Map<string, number>();
  for (const t of plan.tasks) if (!indexById.has(t.id)) indexById.set(t.id, t.index);
  const graph: PlanGraph = {
    nodeCount,
    taskCount: n,
    preds,
    succs: [],
    edgeKinds,
    duration: new Array<number>(nodeCount).fill(0),
    indexById,
    unresolved: [],
    selfDependencies: [],
    unknownAnnotationIds: [],
    quotas: new Map(),
  };
  const addEdge = (from: number, to: number, kind: EdgeKind): void => {
    if (from === to) return;
    const key = `${from}>${to}`;
    if (edgeKinds.has(key)) return;
    preds[to]!.push(from);
    edgeKinds.set(key, kind);
  };

  const phaseByNumber = new Map<string, number>();
  plan.phases.forEach((p, i) => {
    if (!phaseByNumber.has(p.id)) phaseByNumber.set(p.id, i);
  });

  for (const t of plan.tasks) {
    const hasChildren = t.childIds.length > 0;
    graph.duration[t.index] = t.estimateMinutes ?? (t.kind === 'verify' || hasChildren ? 0 : DEFAULT_TASK_MINUTES);
  }

  const quotaCache = new Map<string, number>();
  const quotaNode = (phases: number[], percent: number, required: number[]): number => {
    const key = `${phases.join(',')}@${percent}`;
    const cached = quotaCache.get(key);
    if (cached !== undefined) return cached;
    const v = graph.nodeCount++;
    preds.push([]);
    graph.duration.push(0);
    // Leaf tasks only: a group task is done with its children and would count them twice.
    const counted = phases.flatMap((p) => plan.phases[p]!.taskIndices.filter((i) => plan.tasks[i]!.childIds.length === 0));
    for (const r of required) addEdge(r, v, 'barrier');
    for (const c of counted) addEdge(c, v, 'pipeline');
    graph.quotas.set(v, { counted: new Set(counted), need: quotaNeed(counted.length, percent), percent, phase: phases[phases.length - 1]!, phases });
    quotaCache.set(key, v);
    return v;
  };
  const entries = phaseEntries(plan, graph, phaseByNumber, quotaNode, options);
  const sequential = isSequentialDialect(plan);

  for (let k = 0; k < plan.phases.length; k++) {
    const phase = plan.phases[k]!;
    const tasks = phase.taskIndices.map((i) => plan.tasks[i]!);
    const inScope = scopePredecessors(plan, phase, tasks, sequential, graph);

    // Explicit dependencies.
    const explicit = new Map<number, number[]>();
    for (const t of tasks.concat(phase.verifyIndices.map((i) => plan.tasks[i]!))) {
      const list: number[] = [];
      t.dependsOn.forEach((d, ref) => {
        if (d.kind === 'phase') {
          const p = phaseByNumber.get(d.target);
          if (p === undefined) graph.unresolved.push({ task: t.index, ref });
          else list.push(gateNode(graph, p));
          return;
        }
        const target = indexById.get(d.target);
        if (target === undefined) graph.unresolved.push({ task: t.index, ref });
        else if (target === t.index) graph.selfDependencies.push({ task: t.index, ref });
        else list.push(target);
      });
      explicit.set(t.index, list);
    }

    const hasExplicit = (t: Task): boolean => t.explicitNoDependencies || (explicit.get(t.index)?.length ?? 0) > 0;
    const entryCache = new Map<number, number[]>();
    // What a task waits for when nothing in its own scope orders it: its explicit dependencies,
    // else the group it belongs to waits for, else the phase entry (barrier or pipeline-start).
    const entryOf = (t: Task): number[] => {
      const cached = entryCache.get(t.index);
      if (cached) return cached;
      let result: number[];
      if (hasExplicit(t)) result = explicit.get(t.index)!;
      else if ((inScope.get(t.index)?.length ?? 0) > 0) result = inScope.get(t.index)!;
      else if (t.parentId !== undefined && indexById.has(t.parentId)) result = entryOf(plan.tasks[indexById.get(t.parentId)!]!);
      else result = entries[k]!;
      entryCache.set(t.index, result);
      return result;
    };

    for (const t of tasks) {
      for (const p of explicit.get(t.index)!) addEdge(p, t.index, p >= n ? 'phase-dependency' : 'explicit');
      for (const p of inScope.get(t.index) ?? []) addEdge(p, t.index, 'sequential');
      for (const c of t.childIds) {
        const ci = indexById.get(c);
        if (ci !== undefined) addEdge(ci, t.index, 'group');
      }
      const isGroup = t.childIds.length > 0;
      if (!hasExplicit(t) && (inScope.get(t.index)?.length ?? 0) === 0 && !isGroup) {
        const fallback = t.parentId !== undefined && indexById.has(t.parentId) ? entryOf(plan.tasks[indexById.get(t.parentId)!]!) : entries[k]!;
        const pipelined = phase.annotations.pipelineStart.length > 0 || phase.annotations.pipelineStartShare !== undefined;
        const kind: EdgeKind = pipelined && t.parentId === undefined ? 'pipeline' : 'barrier';
        for (const p of fallback) addEdge(p, t.index, kind);
      }
      addEdge(t.index, tasksDoneNode(graph, k), 'barrier');
    }
    for (const p of entries[k]!) {
      addEdge(p, tasksDoneNode(graph, k), 'barrier');
      // A phase that started during the one before it is not finished before that one is: so what
      // waits for the end of this phase also waits for the end of the phase it overlapped.
      for (const q of graph.quotas.get(p)?.phases ?? []) addEdge(gateNode(graph, q), tasksDoneNode(graph, k), 'barrier');
    }
    addEdge(tasksDoneNode(graph, k), gateNode(graph, k), 'barrier');
    for (const vi of phase.verifyIndices) {
      addEdge(tasksDoneNode(graph, k), vi, 'verify');
      for (const p of explicit.get(vi)!) addEdge(p, vi, 'explicit');
      if (phase.verifyBlocking) addEdge(vi, gateNode(graph, k), 'verify');
    }
  }

  graph.succs = Array.from({ length: graph.nodeCount }, () => []);
  for (let v = 0; v < graph.nodeCount; v++) for (const p of preds[v]!) graph.succs[p]!.push(v);
  return graph;
}

/**
 * What the tasks of each phase wait for by default. Phases joined by `[PARALLEL]` or
 * `(parallel-with: Phase N)` start together, so they share the entry of the earliest of them;
 * the phase after such a group waits for the end of every member before it.
 *
 * A percentage (`pipeline-start: 60% of Phase 1`, or `phaseOverlap`) replaces "the end of the phase
 * before" by a quota node over that phase's tasks. The quota node also requires everything the counted
 * phase itself waited for in full (the gates of the group before it): phases overlap with their
 * neighbour only, so a VERIFY failure two phases back still holds the plan.
 */
function phaseEntries(
  plan: Plan,
  graph: PlanGraph,
  phaseByNumber: Map<string, number>,
  quotaNode: (phases: number[], percent: number, required: number[]) => number,
  options: GraphOptions,
): number[][] {
  const m = plan.phases.length;
  const group = Array.from({ length: m }, (_, i) => i);
  const find = (i: number): number => (group[i] === i ? i : (group[i] = find(group[i]!)));
  const union = (a: number, b: number): void => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) group[Math.max(ra, rb)] = Math.min(ra, rb);
  };
  plan.phases.forEach((p, i) => {
    if (p.annotations.parallel && i > 0) union(i, i - 1);
    for (const w of p.annotations.parallelWith) {
      const j = phaseByNumber.get(w);
      if (j !== undefined) union(i, j);
    }
  });
  /** The members (before `k`) of the group before phase k's group: what phase k waits for in full. */
  const previousGroup = (k: number): number[] => {
    const root = find(k);
    if (root === 0) return [];
    const prevGroup = find(root - 1);
    const members: number[] = [];
    for (let j = 0; j < root; j++) if (find(j) === prevGroup) members.push(j);
    return members;
  };
  const gatesOf = (phases: number[]): number[] => phases.map((j) => gateNode(graph, j));
  const overlap = options.phaseOverlap;
  const overlapPercent = overlap !== undefined && overlap > 0 && overlap < 1 ? Math.round(overlap * 1e6) / 1e4 : undefined;
  const entries: number[][] = [];
  for (let k = 0; k < m; k++) {
    const phase = plan.phases[k]!;
    const share = phase.annotations.pipelineStartShare;
    if (share) {
      const target = phaseByNumber.get(share.phase);
      if (target !== undefined && target < k) {
        entries.push([quotaNode([target], share.percent, gatesOf(previousGroup(target)))]);
        continue;
      }
      // A phase that does not exist, or this one or a later one: keep the ordinary barrier.
      graph.unknownAnnotationIds.push({ phase: k, id: `Phase ${share.phase}`, where: 'pipeline-start' });
    }
    if (phase.annotations.pipelineStart.length > 0) {
      const ids: number[] = [];
      for (const id of phase.annotations.pipelineStart) {
        const idx = graph.indexById.get(id);
        if (idx === undefined) graph.unknownAnnotationIds.push({ phase: k, id, where: 'pipeline-start' });
        else ids.push(idx);
      }
      // With no ID that exists (a typo), keep the ordinary barrier rather than starting at once.
      if (ids.length > 0) {
        entries.push(ids);
        continue;
      }
    }
    const root = find(k);
    if (root < k) {
      entries.push(entries[root]!);
      continue;
    }
    if (k === 0) {
      entries.push([]);
      continue;
    }
    const before = previousGroup(k);
    entries.push(overlapPercent !== undefined ? [quotaNode(before, overlapPercent, gatesOf(previousGroup(before[0]!)))] : gatesOf(before));
  }
  return entries;
}

/**
 * Edges that order tasks within one scope (the top level of a phase, or the children of a group):
 * `[SEQUENTIAL]` on a task or phase, execution notes, and the sequential-by-default rule of the
 * spec-kit/Kiro/cc-sdd dialects (a marked task waits for the nearest unmarked one before it,
 * an unmarked task for every task before it).
 */
function scopePredecessors(plan: Plan, phase: Phase, tasks: Task[], sequentialDialect: boolean, graph: PlanGraph): Map<number, number[]> {
  const result = new Map<number, number[]>();
  const add = (t: number, p: number): void => {
    const list = result.get(t);
    if (list) {
      if (!list.includes(p)) list.push(p);
    } else result.set(t, [p]);
  };
  const scopes = new Map<string, Task[]>();
  for (const t of tasks) {
    const key = t.parentId ?? '';
    const list = scopes.get(key);
    if (list) list.push(t);
    else scopes.set(key, [t]);
  }
  for (const scope of scopes.values()) {
    let lastUnmarked = -1;
    const sinceUnmarked: number[] = [];
    scope.forEach((t, i) => {
      if (sequentialDialect) {
        if (t.parallelMarker) {
          if (lastUnmarked >= 0) add(t.index, lastUnmarked);
          sinceUnmarked.push(t.index);
        } else {
          if (lastUnmarked >= 0) add(t.index, lastUnmarked);
          for (const s of sinceUnmarked) add(t.index, s);
          lastUnmarked = t.index;
          sinceUnmarked.length = 0;
        }
      } else if ((t.sequentialMarker || phase.annotations.sequential) && i > 0) {
        add(t.index, scope[i - 1]!.index);
      }
    });
  }
  // `**Execution Note:** Tasks 3.1-3.4 are [SEQUENTIAL]`: each task of the range waits for the one before.
  for (const r of phase.sequentialRanges) {
    let ids: string[];
    if (r.isRange) {
      const from = tasks.findIndex((t) => t.id === r.ids[0]);
      const to = tasks.findIndex((t) => t.id === r.ids[1]);
      for (const [id, pos] of [[r.ids[0]!, from], [r.ids[1]!, to]] as const) {
        if (pos < 0) graph.unknownAnnotationIds.push({ phase: plan.phases.indexOf(phase), id, where: 'execution-note' });
      }
      ids = from >= 0 && to >= from ? tasks.slice(from, to + 1).map((t) => t.id) : [];
    } else {
      ids = r.ids;
    }
    for (let i = 1; i < ids.length; i++) {
      const a = graph.indexById.get(ids[i - 1]!);
      const b = graph.indexById.get(ids[i]!);
      if (a !== undefined && b !== undefined) add(b, a);
    }
  }
  return result;
}
