/**
 * Diagnostics with the stable codes of plan-format.md. Each names the exact text to fix,
 * the task IDs involved, and says what to do in the author's terms.
 */
import { globBase, lowerBound, matcher, refsOverlap } from './globs.js';
import type { FileRef, Plan, SourceRange, Task } from './model.js';

export { refsOverlap } from './globs.js';
import { describeNode, isSequentialDialect, type PlanGraph } from './graph.js';

export type Severity = 'error' | 'warning' | 'info';

export interface Diagnostic {
  code: string;
  severity: Severity;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  message: string;
  tasks: string[];
  range: SourceRange;
  /** Extra facts for quick fixes (e.g. the conflicting file, the earlier task). */
  data?: Record<string, string>;
}

/** More file-conflict warnings than this on one plan helps nobody; the rest is summarised. */
export const MAX_FILE_CONFLICTS = 200;
/**
 * Candidate pairs are quadratic in the tasks that share a file (10,000 tasks naming one file are 50 M
 * pairs: minutes, then a crash). Past this many the rest are not examined and the summary says "at least".
 */
export const MAX_CANDIDATE_PAIRS = 100_000;

function diag(code: string, severity: Severity, range: SourceRange, message: string, tasks: string[], data?: Record<string, string>): Diagnostic {
  return {
    code,
    severity,
    line: range.start.line,
    column: range.start.column,
    endLine: range.end.line,
    endColumn: range.end.column,
    message,
    tasks,
    range,
    ...(data ? { data } : {}),
  };
}

export function computeDiagnostics(plan: Plan, graph: PlanGraph): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const note of plan.notes) out.push(diag(note.code, note.severity, note.range, note.message, note.tasks));
  duplicateIds(plan, out);
  unknownDependencies(plan, graph, out);
  cycles(plan, graph, out);
  fileConflicts(plan, graph, out);
  structure(plan, out);
  out.sort((a, b) => a.range.start.offset - b.range.start.offset || a.code.localeCompare(b.code));
  return out;
}

function duplicateIds(plan: Plan, out: Diagnostic[]): void {
  const first = new Map<string, Task>();
  for (const t of plan.tasks) {
    const prev = first.get(t.id);
    if (!prev) {
      first.set(t.id, t);
      continue;
    }
    out.push(
      diag(
        'duplicate-task-id',
        'error',
        t.idRange,
        `Task ID ${t.id} is already used on line ${prev.idRange.start.line}; give this task a new ID (dependencies on ${t.id} point to the first one)`,
        [t.id],
        { firstLine: String(prev.idRange.start.line) },
      ),
    );
  }
}

function unknownDependencies(plan: Plan, graph: PlanGraph, out: Diagnostic[]): void {
  const ids = [...graph.indexById.keys()];
  for (const u of graph.unresolved) {
    const t = plan.tasks[u.task]!;
    const ref = t.dependsOn[u.ref]!;
    const what = ref.kind === 'phase' ? `Phase ${ref.target}` : ref.target;
    const near = ref.kind === 'task' ? closestId(ref.target, ids) : undefined;
    const hint = near ? `; did you mean ${near}?` : '; fix the ID or remove it';
    out.push(
      diag('unknown-dependency', 'error', ref.range, `${t.id} depends on ${what}, which is not in this plan${hint}`, [t.id], {
        target: ref.target,
        ...(near ? { suggestion: near } : {}),
      }),
    );
  }
  for (const u of graph.selfDependencies) {
    const t = plan.tasks[u.task]!;
    out.push(diag('self-dependency', 'error', t.dependsOn[u.ref]!.range, `${t.id} depends on itself; remove ${t.id} from its dependencies`, [t.id]));
  }
  for (const u of graph.unknownAnnotationIds) {
    const phase = plan.phases[u.phase]!;
    const range = (u.where === 'pipeline-start' ? phase.annotations.pipelineStartRange : phase.sequentialRanges[0]?.range) ?? phase.range;
    out.push(
      diag('unknown-dependency', 'error', range, `${u.where} in Phase ${phase.id} names ${u.id}, which is not a task in this plan`, [], {
        target: u.id,
      }),
    );
  }
}

/** Closest existing ID by edit distance (at most 2), for "did you mean". */
function closestId(target: string, ids: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const id of ids) {
    if (Math.abs(id.length - target.length) > 2) continue;
    const d = editDistance(target, id);
    if (d < bestDistance) {
      bestDistance = d;
      best = id;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

/** Strongly connected components (iterative Tarjan: plans of 10,000 tasks must not overflow the stack). */
export function stronglyConnected(graph: PlanGraph): number[][] {
  const n = graph.nodeCount;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const components: number[][] = [];
  let counter = 0;
  const work: Array<[number, number]> = [];
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    work.push([root, 0]);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, i] = frame;
      if (i === 0 && index[v] === -1) {
        index[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = 1;
      }
      const succ = graph.succs[v]!;
      if (i < succ.length) {
        frame[1] = i + 1;
        const w = succ[i]!;
        if (index[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v]!, index[w]!);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]![0];
        low[parent] = Math.min(low[parent]!, low[v]!);
      }
      if (low[v] === index[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1) components.push(comp);
      }
    }
  }
  return components;
}

function cycles(plan: Plan, graph: PlanGraph, out: Diagnostic[]): void {
  for (const comp of stronglyConnected(graph)) {
    const members = new Set(comp);
    const tasks = comp.filter((v) => v < graph.taskCount).sort((a, b) => a - b);
    if (tasks.length === 0) continue;
    const start = tasks[0]!;
    const path = cyclePath(graph, start, members);
    // Read the cycle in the direction people write dependencies: "A waits for B, which waits for C …".
    const words = path.map((v) => describeNode(plan, graph, v));
    const message = `Dependency cycle: ${words[0]} waits for ${words.slice(1).join(', which waits for ')}, which waits for ${words[0]}; none of these can ever start — remove one of these dependencies`;
    const t = plan.tasks[start]!;
    out.push(diag('dependency-cycle', 'error', t.idRange, message, tasks.map((v) => plan.tasks[v]!.id)));
  }
}

/** A shortest cycle through `start` inside its component, following predecessor edges (BFS). */
function cyclePath(graph: PlanGraph, start: number, members: Set<number>): number[] {
  const prev = new Map<number, number>();
  const queue = [start];
  let found = false;
  for (let qi = 0; qi < queue.length && !found; qi++) {
    const v = queue[qi]!;
    for (const p of graph.preds[v]!) {
      if (!members.has(p)) continue;
      if (p === start) {
        prev.set(start, v);
        found = true;
        break;
      }
      if (!prev.has(p)) {
        prev.set(p, v);
        queue.push(p);
      }
    }
  }
  // Walk back from start's predecessor to rebuild start → … (in "waits for" order).
  const path = [start];
  let v = prev.get(start);
  const chain: number[] = [];
  while (v !== undefined && v !== start && chain.length <= members.size) {
    chain.push(v);
    v = prev.get(v);
  }
  // The walk went from the last link back towards start; reversed it reads start → … in "waits for" order.
  return path.concat(chain.reverse());
}

interface FileKey {
  task: number;
  ref: FileRef;
}

/** Candidate pairs (earlier task, later task, file) whose references overlap. */
function overlappingPairs(plan: Plan): { pairs: Array<{ a: number; b: number; file: string; refB: FileRef }>; truncated: boolean } {
  // Every reference, grouped by its exact text: identical paths (and identical globs) overlap.
  const byPath = new Map<string, FileKey[]>();
  for (const t of plan.tasks) {
    if (t.kind !== 'task') continue;
    for (const ref of t.files) {
      const key = `${ref.kind}:${ref.path}`;
      const list = byPath.get(key);
      if (list) list.push({ task: t.index, ref });
      else byPath.set(key, [{ task: t.index, ref }]);
    }
  }
  const pairs: Array<{ a: number; b: number; file: string; refB: FileRef }> = [];
  // Pairs as numbers (earlier × count + later): a string key per pair is most of the time on big plans.
  const seen = new Set<number>();
  const count = plan.tasks.length;
  let truncated = false;
  const push = (x: FileKey, y: FileKey): void => {
    if (x.task === y.task) return;
    if (pairs.length >= MAX_CANDIDATE_PAIRS) {
      truncated = true;
      return;
    }
    const [first, second] = x.task < y.task ? [x, y] : [y, x];
    const key = first.task * count + second.task;
    if (seen.has(key)) return;
    seen.add(key);
    const file = first.ref.path === second.ref.path ? first.ref.path : first.ref.isGlob ? second.ref.path : first.ref.path;
    pairs.push({ a: first.task, b: second.task, file, refB: second.ref });
  };
  for (const list of byPath.values()) {
    for (let j = 1; j < list.length && !truncated; j++) for (let i = 0; i < j; i++) push(list[i]!, list[j]!);
  }
  const globs = [...byPath.values()].filter((l) => l[0]!.ref.kind === 'path' && l[0]!.ref.isGlob);
  if (globs.length === 0 || truncated) return { pairs, truncated };
  const literals = [...byPath.values()].filter((l) => l[0]!.ref.kind === 'path' && !l[0]!.ref.isGlob);
  literals.sort((x, y) => (x[0]!.ref.path < y[0]!.ref.path ? -1 : x[0]!.ref.path > y[0]!.ref.path ? 1 : 0));
  const paths = literals.map((l) => l[0]!.ref.path);
  for (const g of globs) {
    const pattern = g[0]!.ref.path;
    const base = globBase(pattern);
    const match = matcher(pattern);
    for (let i = lowerBound(paths, base); i < paths.length && paths[i]!.startsWith(base); i++) {
      if (!match(paths[i]!)) continue;
      for (const x of g) for (const y of literals[i]!) push(x, y);
    }
  }
  for (let i = 0; i < globs.length; i++) {
    for (let j = i + 1; j < globs.length; j++) {
      const a = globs[i]![0]!.ref;
      const b = globs[j]![0]!.ref;
      const ba = globBase(a.path);
      const bb = globBase(b.path);
      if (!ba.startsWith(bb) && !bb.startsWith(ba)) continue;
      if (refsOverlap(a, b)) for (const x of globs[i]!) for (const y of globs[j]!) push(x, y);
    }
  }
  return { pairs, truncated };
}

function fileConflicts(plan: Plan, graph: PlanGraph, out: Diagnostic[]): void {
  const { pairs, truncated } = overlappingPairs(plan);
  if (pairs.length === 0) return;
  const reach = new Reachability(graph, pairs.flatMap((p) => [p.a, p.b]));
  let reported = 0;
  let suppressed = 0;
  pairs.sort((x, y) => x.b - y.b || x.a - y.a);
  for (const p of pairs) {
    if (!reach.unordered(p.a, p.b)) continue;
    if (reported >= MAX_FILE_CONFLICTS) {
      suppressed++;
      continue;
    }
    reported++;
    const a = plan.tasks[p.a]!;
    const b = plan.tasks[p.b]!;
    const fix = isSequentialDialect(plan) && b.parallelMarker
      ? `remove the parallel marker from ${b.id} or add (depends on ${a.id})`
      : `add (depends: ${a.id}) to ${b.id} or mark it [SEQUENTIAL]`;
    const range = b.files.includes(p.refB) ? p.refB.range : b.idRange;
    out.push(
      diag('file-conflict', 'warning', range, `${a.id} and ${b.id} both touch ${p.file} and may run at the same time; ${fix}`, [a.id, b.id], {
        file: p.file,
        first: a.id,
        second: b.id,
      }),
    );
  }
  if (suppressed > 0 || truncated) {
    const first = plan.tasks[pairs[0]!.b]!;
    const more = truncated ? `At least ${suppressed} more file conflicts (too many tasks share files to check them all)` : `${suppressed} more file conflicts`;
    out.push(diag('file-conflict', 'info', first.idRange, `${more} are not listed`, []));
  }
}

/**
 * Ancestor sets as bitsets over the tasks that appear in some candidate pair, filled in
 * topological order: O(edges × candidates / 32) words, fine for 10,000-task plans.
 */
class Reachability {
  private readonly bit = new Map<number, number>();
  private readonly words: number;
  private readonly anc: Array<Uint32Array | undefined>;

  constructor(graph: PlanGraph, candidates: number[]) {
    for (const c of candidates) if (!this.bit.has(c)) this.bit.set(c, this.bit.size);
    this.words = (this.bit.size + 31) >>> 5;
    this.anc = new Array(graph.nodeCount);
    const indeg = graph.preds.map((p) => p.length);
    const queue: number[] = [];
    for (let v = 0; v < graph.nodeCount; v++) if (indeg[v] === 0) queue.push(v);
    for (let qi = 0; qi < queue.length; qi++) {
      const v = queue[qi]!;
      let set: Uint32Array | undefined;
      // A quota node below 100% guarantees none of its counted predecessors in particular: a task after
      // the overlap may run beside any one of them, so they are no ancestors through it.
      const quota = graph.quotas.get(v);
      const partial = quota !== undefined && quota.need < quota.counted.size;
      for (const p of graph.preds[v]!) {
        if (partial && quota.counted.has(p)) continue;
        const from = this.anc[p];
        const pb = this.bit.get(p);
        if (!from && pb === undefined) continue;
        set ??= new Uint32Array(this.words);
        if (from) for (let w = 0; w < this.words; w++) set[w]! |= from[w]!;
        if (pb !== undefined) set[pb >>> 5]! |= 1 << (pb & 31);
      }
      this.anc[v] = set;
      for (const s of graph.succs[v]!) if (--indeg[s]! === 0) queue.push(s);
    }
    // Nodes on or after a cycle were never reached; they have no order to reason about.
    this.ordered = new Uint8Array(graph.nodeCount);
    for (const v of queue) this.ordered[v] = 1;
  }

  private readonly ordered: Uint8Array;

  private isAncestor(a: number, b: number): boolean {
    const set = this.anc[b];
    const ab = this.bit.get(a)!;
    return set !== undefined && (set[ab >>> 5]! & (1 << (ab & 31))) !== 0;
  }

  /** No path either way (and both outside cycles, which are reported separately). */
  unordered(a: number, b: number): boolean {
    if (!this.ordered[a] || !this.ordered[b]) return false;
    return !this.isAncestor(a, b) && !this.isAncestor(b, a);
  }
}

function structure(plan: Plan, out: Diagnostic[]): void {
  if (plan.tasks.every((t) => t.kind !== 'task')) {
    const range = plan.titleRange ?? { start: { line: 1, column: 1, offset: 0 }, end: { line: 1, column: 1, offset: 0 } };
    out.push(diag('no-tasks', 'info', range, 'No tasks found: a task is a checklist item that starts with an ID, e.g. "- [ ] 1.1 Write the parser"', []));
    return;
  }
  for (const p of plan.phases) {
    if (p.implicit) continue;
    const headingRange = { start: p.range.start, end: p.range.start };
    if (p.taskIndices.length === 0 && p.verifyIndices.length > 0) {
      out.push(diag('verify-without-tasks', 'warning', p.verifyLabelRange ?? headingRange, `Phase ${p.id} has VERIFY items but no tasks to verify`, []));
    } else if (p.taskIndices.length === 0) {
      out.push(diag('empty-phase', 'info', headingRange, `Phase ${p.id} has no tasks (a task is "- [ ] ${p.id}.1 …")`, []));
    }
  }
}
