/**
 * Scheduling over the dependency graph: the ready set (`next`), list-scheduling simulation
 * (`simulate`), the critical path, and the seeds' batched pattern as a baseline.
 */
import type { FileRef, Plan, Task } from './model.js';
import type { PlanGraph } from './graph.js';
import { refsOverlap, stronglyConnected } from './diagnostics.js';
import { PlanError } from './source.js';

export type TaskStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'skipped';

/** The recorded status of a task, if any (usually from status.json). */
export type StatusLookup = (taskId: string) => TaskStatus | undefined;

export type NodeState = 'done' | 'running' | 'failed' | 'pending';

/** What a task waits for: a node state, or `missing` for a dependency on an ID the plan does not have. */
export type WaitState = NodeState | 'missing';

interface GraphFacts {
  order: number[];
  /** Longest path in minutes from a node to the end of the plan, including the node itself. */
  bottomLevel: Float64Array;
  cyclic: boolean;
}

const factsCache = new WeakMap<PlanGraph, GraphFacts>();

/** Topological order and bottom levels, computed once per graph. */
export function graphFacts(graph: PlanGraph): GraphFacts {
  const cached = factsCache.get(graph);
  if (cached) return cached;
  const n = graph.nodeCount;
  const indeg = new Int32Array(n);
  for (let v = 0; v < n; v++) indeg[v] = graph.preds[v]!.length;
  const order: number[] = [];
  for (let v = 0; v < n; v++) if (indeg[v] === 0) order.push(v);
  for (let i = 0; i < order.length; i++) {
    for (const s of graph.succs[order[i]!]!) if (--indeg[s]! === 0) order.push(s);
  }
  const bottomLevel = new Float64Array(n);
  for (let i = order.length - 1; i >= 0; i--) {
    const v = order[i]!;
    let best = 0;
    for (const s of graph.succs[v]!) if (bottomLevel[s]! > best) best = bottomLevel[s]!;
    bottomLevel[v] = graph.duration[v]! + best;
  }
  const facts = { order, bottomLevel, cyclic: order.length < n };
  factsCache.set(graph, facts);
  return facts;
}

function isGroup(task: Task): boolean {
  return task.childIds.length > 0;
}

/**
 * Rule 6 of plan-format.md: done = completed in the status file or checked in the markdown;
 * skipped counts as done; a group task is done when all its children are.
 */
export function nodeStates(plan: Plan, graph: PlanGraph, statusOf: StatusLookup): NodeState[] {
  const n = graph.nodeCount;
  const state: NodeState[] = new Array(n).fill('pending');
  for (const t of plan.tasks) {
    const s = statusOf(t.id);
    // Markdown ticks stay authoritative even after a reset in the status file: rule 6 says "or".
    if (t.checkbox === 'checked' || s === 'completed' || s === 'skipped') state[t.index] = 'done';
    else if (s === 'in_progress' || (s === undefined && t.checkbox === 'in-progress')) state[t.index] = 'running';
    else if (s === 'failed') state[t.index] = 'failed';
  }
  const { order } = graphFacts(graph);
  for (const v of order) {
    if (v < graph.taskCount) {
      const t = plan.tasks[v]!;
      if (isGroup(t) && state[v] === 'pending') {
        const children = graph.preds[v]!.filter((p) => graph.edgeKinds.get(`${p}>${v}`) === 'group');
        if (children.length > 0 && children.every((c) => state[c] === 'done')) state[v] = 'done';
      }
    } else if (virtualDone(graph, v, (p) => state[p] === 'done')) {
      state[v] = 'done';
    }
  }
  return state;
}

/**
 * Whether a virtual node (phase barrier, gate, quota) is done: all of its predecessors, except that a
 * quota node needs only `need` of its counted ones (a percentage pipeline, see graph.ts).
 */
function virtualDone(graph: PlanGraph, v: number, isDone: (p: number) => boolean): boolean {
  const quota = graph.quotas.get(v);
  if (!quota) return graph.preds[v]!.every(isDone);
  let counted = 0;
  for (const p of graph.preds[v]!) {
    if (quota.counted.has(p)) {
      if (isDone(p)) counted++;
    } else if (!isDone(p)) return false;
  }
  return counted >= quota.need;
}

export interface ReadyTask {
  id: string;
  title: string;
  phase: string;
  kind: Task['kind'];
  /** `failed` when the task is offered again for a retry. */
  status: TaskStatus;
  /** Longest remaining path through this task, in minutes: the order `next` uses. */
  priority: number;
  estimateMinutes: number;
  files: string[];
  line: number;
}

export interface Blocker {
  id: string;
  waitsFor: Array<{ id: string; state: NodeState }>;
}

function filesOverlap(a: FileRef[], b: FileRef[]): boolean {
  for (const x of a) for (const y of b) if (refsOverlap(x, y)) return true;
  return false;
}

/**
 * Rule 7: tasks not done and not running, whose predecessors are all done, not in file conflict
 * with a running task or with one picked before them, longest remaining path first, at most `limit`.
 */
export function readyTasks(plan: Plan, graph: PlanGraph, statusOf: StatusLookup, limit = 5): ReadyTask[] {
  const state = nodeStates(plan, graph, statusOf);
  const { bottomLevel } = graphFacts(graph);
  const candidates: Task[] = [];
  const running: Task[] = [];
  // A dependency on an ID that does not exist is an error in the plan: the task waits until it is fixed.
  const broken = new Set(graph.unresolved.map((u) => u.task));
  for (const t of plan.tasks) {
    const s = state[t.index];
    if (s === 'running') running.push(t);
    if ((s !== 'pending' && s !== 'failed') || isGroup(t) || broken.has(t.index)) continue;
    if (graph.preds[t.index]!.every((p) => state[p] === 'done')) candidates.push(t);
  }
  candidates.sort((a, b) => bottomLevel[b.index]! - bottomLevel[a.index]! || a.index - b.index);
  const picked: Task[] = [];
  for (const t of candidates) {
    if (picked.length >= limit) break;
    if (t.files.length > 0 && (filesOverlap(t.files, running.flatMap((r) => r.files)) || picked.some((p) => filesOverlap(t.files, p.files)))) {
      continue;
    }
    picked.push(t);
  }
  return picked.map((t) => ({
    id: t.id,
    title: t.title,
    phase: plan.phases[t.phaseIndex]!.id,
    kind: t.kind,
    status: state[t.index] === 'failed' ? 'failed' : 'pending',
    priority: bottomLevel[t.index]!,
    estimateMinutes: graph.duration[t.index]!,
    files: t.files.map((f) => f.path),
    line: t.range.start.line,
  }));
}

/** What a task is waiting for, expanded through phase barriers to real tasks (for "waits for 1.2 (running)"). */
export function waitingFor(plan: Plan, graph: PlanGraph, state: NodeState[], taskIndex: number): Array<{ id: string; state: WaitState }> {
  const out = new Map<string, WaitState>();
  for (const u of graph.unresolved) {
    if (u.task === taskIndex) {
      const ref = plan.tasks[taskIndex]!.dependsOn[u.ref]!;
      out.set(ref.kind === 'phase' ? `Phase ${ref.target}` : ref.target, 'missing');
    }
  }
  const seen = new Set<number>();
  const visit = (v: number): void => {
    for (const p of graph.preds[v]!) {
      if (state[p] === 'done' || seen.has(p)) continue;
      seen.add(p);
      if (p < graph.taskCount) out.set(plan.tasks[p]!.id, state[p]!);
      else visit(p);
    }
  };
  visit(taskIndex);
  return [...out].map(([id, s]) => ({ id, state: s }));
}

export interface ScheduledTask {
  id: string;
  start: number;
  end: number;
  /** null for zero-length items (VERIFY checks without estimate, group tasks) that need no worker. */
  worker: number | null;
}

export interface Simulation {
  workers: number;
  makespan: number;
  lowerBound: number;
  criticalPath: string[];
  criticalPathMinutes: number;
  totalWork: number;
  schedule: ScheduledTask[];
}

export interface SimulateOptions {
  workers: number;
  /** Leave out work already done according to this lookup (default: simulate the whole plan). */
  statusOf?: StatusLookup;
}

/** A binary max-heap of node indices by priority, ties broken by document order. */
class ReadyHeap {
  private items: number[] = [];
  constructor(private readonly priority: Float64Array) {}
  get size(): number {
    return this.items.length;
  }
  private before(a: number, b: number): boolean {
    const pa = this.priority[a]!;
    const pb = this.priority[b]!;
    return pa > pb || (pa === pb && a < b);
  }
  push(v: number): void {
    const h = this.items;
    h.push(v);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }
  pop(): number | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < h.length && this.before(h[l]!, h[best]!)) best = l;
        if (r < h.length && this.before(h[r]!, h[best]!)) best = r;
        if (best === i) break;
        [h[i], h[best]] = [h[best]!, h[i]!];
        i = best;
      }
    }
    return top;
  }
}

/**
 * Tracks which nodes have all predecessors finished. Zero-length nodes (phase barriers, VERIFY
 * checks without estimate, group tasks) finish the moment they become ready, without a worker.
 */
class Frontier {
  private readonly remaining: Int32Array;
  readonly ready: ReadyHeap;
  readonly finishedAt: Float64Array;

  constructor(
    private readonly graph: PlanGraph,
    private readonly duration: Float64Array,
    priority: Float64Array,
    private readonly onInstant: (v: number, at: number) => void,
  ) {
    this.remaining = new Int32Array(graph.nodeCount);
    this.finishedAt = new Float64Array(graph.nodeCount).fill(-1);
    this.ready = new ReadyHeap(priority);
    this.quotaLeft = new Int32Array(graph.nodeCount);
    for (let v = 0; v < graph.nodeCount; v++) {
      const quota = graph.quotas.get(v);
      // A quota node waits for its required predecessors plus `need` of the counted ones.
      this.remaining[v] = quota ? graph.preds[v]!.length - quota.counted.size + quota.need : graph.preds[v]!.length;
      if (quota) this.quotaLeft[v] = quota.need;
    }
  }

  /** Counted predecessors a quota node still needs; those finishing after it is met change nothing. */
  private readonly quotaLeft: Int32Array;

  private counts(u: number, s: number): boolean {
    const quota = this.graph.quotas.get(s);
    if (!quota || !quota.counted.has(u)) return true;
    if (this.quotaLeft[s]! <= 0) return false;
    this.quotaLeft[s]!--;
    return true;
  }

  start(at: number): void {
    for (let v = 0; v < this.graph.nodeCount; v++) if (this.remaining[v] === 0) this.release(v, at);
  }

  /** Iterative on purpose: a long chain of zero-length nodes must not grow the call stack. */
  finish(v: number, at: number): void {
    const stack = [v];
    while (stack.length > 0) {
      const u = stack.pop()!;
      this.finishedAt[u] = at;
      for (const s of this.graph.succs[u]!) {
        if (!this.counts(u, s) || --this.remaining[s]! !== 0) continue;
        if (this.duration[s] === 0) {
          this.onInstant(s, at);
          stack.push(s);
        } else this.ready.push(s);
      }
    }
  }

  private release(v: number, at: number): void {
    if (this.duration[v] === 0) {
      this.onInstant(v, at);
      this.finish(v, at);
    } else {
      this.ready.push(v);
    }
  }
}

function prepare(plan: Plan, graph: PlanGraph, statusOf?: StatusLookup): { duration: Float64Array; priority: Float64Array } {
  const facts = graphFacts(graph);
  if (facts.cyclic) {
    const cycle = stronglyConnected(graph)[0] ?? [];
    const ids = cycle.filter((v) => v < graph.taskCount).sort((a, b) => a - b).map((v) => plan.tasks[v]!.id);
    throw new PlanError('plan-has-errors', `cannot schedule this plan: it has a dependency cycle (${ids.join(', ')}); run planctl validate`);
  }
  const duration = Float64Array.from(graph.duration);
  if (statusOf) {
    const state = nodeStates(plan, graph, statusOf);
    for (let v = 0; v < graph.taskCount; v++) if (state[v] === 'done') duration[v] = 0;
  }
  for (const t of plan.tasks) if (isGroup(t)) duration[t.index] = 0;
  // Priorities follow the durations actually simulated.
  const priority = new Float64Array(graph.nodeCount);
  for (let i = facts.order.length - 1; i >= 0; i--) {
    const v = facts.order[i]!;
    let best = 0;
    for (const s of graph.succs[v]!) if (priority[s]! > best) best = priority[s]!;
    priority[v] = duration[v]! + best;
  }
  return { duration, priority };
}

function criticalPathOf(plan: Plan, graph: PlanGraph, duration: Float64Array, priority: Float64Array): { ids: string[]; minutes: number } {
  if (graph.quotas.size > 0) return quotaCriticalPath(plan, graph, duration);
  let best = -1;
  for (let v = 0; v < graph.nodeCount; v++) if (graph.preds[v]!.length === 0 && (best < 0 || priority[v]! > priority[best]!)) best = v;
  const ids: string[] = [];
  let minutes = best >= 0 ? priority[best]! : 0;
  let v = best;
  while (v >= 0) {
    if (v < graph.taskCount && duration[v]! > 0) ids.push(plan.tasks[v]!.id);
    let next = -1;
    for (const s of graph.succs[v]!) if (next < 0 || priority[s]! > priority[next]!) next = s;
    v = next;
  }
  if (ids.length === 0) minutes = 0;
  return { ids, minutes };
}

/**
 * The critical path of a plan with quota nodes: the longest chain with unlimited workers, where a quota
 * node is reached when its need-th counted predecessor ends (the backward bottom levels would count
 * the slowest task of the earlier phase, which the overlap does not wait for, and overstate the lower bound).
 */
function quotaCriticalPath(plan: Plan, graph: PlanGraph, duration: Float64Array): { ids: string[]; minutes: number } {
  const { order } = graphFacts(graph);
  const finish = new Float64Array(graph.nodeCount);
  const via = new Int32Array(graph.nodeCount).fill(-1);
  for (const v of order) {
    let start = 0;
    let from = -1;
    const quota = graph.quotas.get(v);
    const consider = (p: number): void => {
      if (from < 0 || finish[p]! > start) {
        start = finish[p]!;
        from = p;
      }
    };
    if (quota) {
      const counted = graph.preds[v]!.filter((p) => quota.counted.has(p)).sort((a, b) => finish[a]! - finish[b]! || a - b);
      if (quota.need > 0) consider(counted[quota.need - 1]!);
      for (const p of graph.preds[v]!) if (!quota.counted.has(p)) consider(p);
    } else {
      for (const p of graph.preds[v]!) consider(p);
    }
    finish[v] = start + duration[v]!;
    via[v] = from;
  }
  let end = -1;
  for (let v = 0; v < graph.nodeCount; v++) if (end < 0 || finish[v]! > finish[end]!) end = v;
  const ids: string[] = [];
  for (let v = end; v >= 0; v = via[v]!) if (v < graph.taskCount && duration[v]! > 0) ids.push(plan.tasks[v]!.id);
  ids.reverse();
  return { ids, minutes: ids.length > 0 && end >= 0 ? finish[end]! : 0 };
}

function summarise(plan: Plan, graph: PlanGraph, workers: number, duration: Float64Array, priority: Float64Array, schedule: ScheduledTask[]): Simulation {
  let total = 0;
  for (let v = 0; v < graph.taskCount; v++) total += duration[v]!;
  const cp = criticalPathOf(plan, graph, duration, priority);
  const makespan = schedule.reduce((m, s) => Math.max(m, s.end), 0);
  schedule.sort((a, b) => a.start - b.start || (a.worker ?? -1) - (b.worker ?? -1));
  return {
    workers,
    makespan,
    lowerBound: Math.max(cp.minutes, total / workers),
    criticalPath: cp.ids,
    criticalPathMinutes: cp.minutes,
    totalWork: total,
    schedule,
  };
}

/** What both simulations start from; zero-length items go straight into the schedule without a worker. */
function startSimulation(plan: Plan, graph: PlanGraph, options: SimulateOptions) {
  const workers = Math.max(1, Math.floor(options.workers));
  const { duration, priority } = prepare(plan, graph, options.statusOf);
  const schedule: ScheduledTask[] = [];
  const frontier = new Frontier(graph, duration, priority, (v, at) => {
    if (v < graph.taskCount) schedule.push({ id: plan.tasks[v]!.id, start: at, end: at, worker: null });
  });
  return { workers, duration, priority, schedule, frontier };
}

/**
 * List scheduling on `workers` workers: whenever a worker is free, start the ready task with the
 * longest remaining path whose files do not overlap a running task's (rule 5 at run time).
 */
export function simulate(plan: Plan, graph: PlanGraph, options: SimulateOptions): Simulation {
  const { workers, duration, priority, schedule, frontier } = startSimulation(plan, graph, options);
  const running: Array<{ v: number; end: number; worker: number }> = [];
  const freeWorkers = Array.from({ length: workers }, (_, i) => workers - 1 - i);
  let now = 0;
  frontier.start(0);
  const deferred: number[] = [];
  for (;;) {
    while (freeWorkers.length > 0 && frontier.ready.size > 0) {
      const v = frontier.ready.pop()!;
      const files = v < graph.taskCount ? plan.tasks[v]!.files : [];
      if (files.length > 0 && running.some((r) => r.v < graph.taskCount && filesOverlap(files, plan.tasks[r.v]!.files))) {
        deferred.push(v);
        continue;
      }
      const worker = freeWorkers.pop()!;
      running.push({ v, end: now + duration[v]!, worker });
      schedule.push({ id: plan.tasks[v]!.id, start: now, end: now + duration[v]!, worker });
    }
    for (const v of deferred) frontier.ready.push(v);
    deferred.length = 0;
    if (running.length === 0) break;
    now = Math.min(...running.map((r) => r.end));
    for (let i = running.length - 1; i >= 0; i--) {
      const r = running[i]!;
      if (r.end !== now) continue;
      running.splice(i, 1);
      freeWorkers.push(r.worker);
      frontier.finish(r.v, now);
    }
  }
  return summarise(plan, graph, workers, duration, priority, schedule);
}

/**
 * The seeds' batched pattern, run on the same graph for comparison: take up to `workers` ready
 * tasks (same order and conflict rule), wait for all of them, repeat.
 */
export function simulateBatched(plan: Plan, graph: PlanGraph, options: SimulateOptions): Simulation {
  const { workers, duration, priority, schedule, frontier } = startSimulation(plan, graph, options);
  let now = 0;
  frontier.start(0);
  while (frontier.ready.size > 0) {
    const batch: number[] = [];
    const deferred: number[] = [];
    while (batch.length < workers && frontier.ready.size > 0) {
      const v = frontier.ready.pop()!;
      const files = plan.tasks[v]?.files ?? [];
      if (files.length > 0 && batch.some((b) => filesOverlap(files, plan.tasks[b]!.files))) deferred.push(v);
      else batch.push(v);
    }
    for (const v of deferred) frontier.ready.push(v);
    let end = now;
    batch.forEach((v, worker) => {
      schedule.push({ id: plan.tasks[v]!.id, start: now, end: now + duration[v]!, worker });
      end = Math.max(end, now + duration[v]!);
    });
    now = end;
    for (const v of batch) frontier.finish(v, now);
  }
  return summarise(plan, graph, workers, duration, priority, schedule);
}
