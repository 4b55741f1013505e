/**
 * Task IDs as symbols: where an ID is written, what refers to it, and the text edits behind
 * rename and the quick fixes. Pure functions over an analysed plan and its exact text, so the
 * editor adapters (src/vscode/language.ts) and the tests share one implementation.
 * Edits are offsets into the text the plan was parsed from; callers map them to their own positions.
 */
import type { DependencyRef, Phase, Plan, SourceRange, Task } from './model.js';
import { TASK_ID } from './annotations.js';
import { describeNode, isSequentialDialect, type PlanGraph } from './graph.js';
import { nodeStates, waitingFor, type NodeState, type WaitState, type StatusLookup, type TaskStatus } from './schedule.js';

export interface TextEdit {
  /** 0-based offsets into the analysed text; `end` is exclusive. */
  start: number;
  end: number;
  newText: string;
}

export type OccurrenceKind =
  /** A task's own ID (`- [ ] 2.3 …`). */
  | 'definition'
  /** A task ID inside a dependency annotation (`(depends: 2.3)`, `_Depends: 2.3_`, a `###` heading's list). */
  | 'dependency'
  /** A task ID in a phase annotation (`pipeline-start: when 2.3 completes`, an execution note). */
  | 'annotation'
  /** `Phase 2` inside a dependency list: names a phase, not a task. */
  | 'phase-dependency';

export interface IdOccurrence {
  /** The task ID, or the phase number for `phase-dependency`. */
  id: string;
  kind: OccurrenceKind;
  range: SourceRange;
  /** The task holding this occurrence (its definition or its dependency list); -1 for phase annotations. */
  taskIndex: number;
  /** The dependency behind a `dependency`/`phase-dependency` occurrence. */
  ref?: DependencyRef;
}

export class TaskReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskReferenceError';
  }
}

export function isValidTaskId(value: string): boolean {
  return TASK_ID.test(value);
}

function contains(range: SourceRange, offset: number): boolean {
  return offset >= range.start.offset && offset <= range.end.offset;
}

function rangeAt(text: string, start: number, end: number, like: SourceRange): SourceRange {
  // Annotation ranges lie within one paragraph; counting from its start is cheaper than a LineIndex.
  const point = (offset: number): SourceRange['start'] => {
    let line = like.start.line;
    let lineStart = like.start.offset - (like.start.column - 1);
    for (let i = like.start.offset; i < offset; i++) {
      if (text.charCodeAt(i) === 10) {
        line++;
        lineStart = i + 1;
      }
    }
    return { line, column: offset - lineStart + 1, offset };
  };
  return { start: point(start), end: point(end) };
}

const ANNOTATION_ID = /(?<![\w.])(T\d+[a-z]?|\d+(?:\.\d+)+)(?![\w]|\.\d)/g;

/** Task IDs written inside a phase annotation (pipeline-start, execution notes), with their ranges. */
function annotationMentions(plan: Plan, text: string): IdOccurrence[] {
  const out: IdOccurrence[] = [];
  const seen = new Set<number>();
  const scan = (range: SourceRange | undefined, ids: string[]): void => {
    if (!range || seen.has(range.start.offset)) return;
    seen.add(range.start.offset);
    const slice = text.slice(range.start.offset, range.end.offset);
    for (const m of slice.matchAll(ANNOTATION_ID)) {
      if (!ids.includes(m[1]!)) continue;
      const start = range.start.offset + m.index!;
      out.push({ id: m[1]!, kind: 'annotation', range: rangeAt(text, start, start + m[1]!.length, range), taskIndex: -1 });
    }
  };
  for (const phase of plan.phases) {
    scan(phase.annotations.pipelineStartRange, phase.annotations.pipelineStart);
    const noteIds = phase.sequentialRanges.flatMap((r) => r.ids);
    for (const r of phase.sequentialRanges) scan(r.range, noteIds);
  }
  return out;
}

/**
 * The task ID (or `Phase N` dependency) at an offset; the end of a token counts, as a cursor right
 * after `2.3` is still "on" it. VERIFY items without a written ID have nothing to point at.
 */
export function idAtOffset(plan: Plan, text: string, offset: number): IdOccurrence | undefined {
  for (const t of plan.tasks) {
    if (!t.syntheticId && contains(t.idRange, offset)) return { id: t.id, kind: 'definition', range: t.idRange, taskIndex: t.index };
    for (const ref of t.dependsOn) {
      if (contains(ref.range, offset)) {
        return { id: ref.target, kind: ref.kind === 'task' ? 'dependency' : 'phase-dependency', range: ref.range, taskIndex: t.index, ref };
      }
    }
  }
  for (const phase of plan.phases) {
    const ranges = [phase.annotations.pipelineStartRange, ...phase.sequentialRanges.map((r) => r.range)];
    if (ranges.some((r) => r && contains(r, offset))) {
      return annotationMentions(plan, text).find((o) => contains(o.range, offset));
    }
  }
  return undefined;
}

/** The task an ID resolves to: its first occurrence, as the dependency graph resolves it. */
export function findTask(plan: Plan, id: string): Task | undefined {
  return plan.tasks.find((t) => t.id === id && !t.syntheticId);
}

/**
 * Every place that names a task ID as a dependency or in a phase annotation, in document order.
 * A dependency list on a `###` heading is shared by the tasks under it; it is listed once.
 */
export function referencesOf(plan: Plan, text: string, id: string): IdOccurrence[] {
  const out: IdOccurrence[] = [];
  const seen = new Set<number>();
  for (const t of plan.tasks) {
    for (const ref of t.dependsOn) {
      if (ref.kind !== 'task' || ref.target !== id || seen.has(ref.range.start.offset)) continue;
      seen.add(ref.range.start.offset);
      out.push({ id, kind: 'dependency', range: ref.range, taskIndex: t.index, ref });
    }
  }
  for (const m of annotationMentions(plan, text)) if (m.id === id) out.push(m);
  return out.sort((a, b) => a.range.start.offset - b.range.start.offset);
}

/**
 * Edits that rename a task: its ID and every reference to it. Renaming a duplicate (not the first
 * occurrence, which the references resolve to) changes only that ID: that is how a duplicate is fixed.
 */
export function renameEdits(plan: Plan, text: string, at: IdOccurrence, newId: string): TextEdit[] {
  const wanted = newId.trim();
  if (at.kind === 'phase-dependency') throw new TaskReferenceError('Phases are renamed in their heading, not here');
  if (!isValidTaskId(wanted)) {
    throw new TaskReferenceError(`"${newId}" is not a task ID: use dotted numbers such as 2.4 or 2.4.1, or a spec-kit ID such as T013`);
  }
  const target = at.kind === 'definition' ? plan.tasks[at.taskIndex]! : findTask(plan, at.id);
  if (!target) throw new TaskReferenceError(`${at.id} is not a task in this plan, so there is nothing to rename; correct the reference instead`);
  if (wanted === target.id) return [];
  const clash = findTask(plan, wanted);
  if (clash) throw new TaskReferenceError(`${wanted} already exists (line ${clash.idRange.start.line}); choose an ID that is not used`);
  if (/^\d+$/.test(wanted)) {
    const after = text.charAt(target.idRange.end.offset);
    // The parser reads a bare number as an ID only when written `7.` or `7:` (`- [ ] 6 gaps` is a count).
    if (!target.idWithTrailingDot && after !== ':') {
      throw new TaskReferenceError(`"${wanted}" would not be read as a task ID here (only "${wanted}." or "${wanted}:" is); use a dotted ID such as ${wanted}.1`);
    }
  }
  const edits: TextEdit[] = [{ start: target.idRange.start.offset, end: target.idRange.end.offset, newText: wanted }];
  if (findTask(plan, target.id) === target) {
    for (const r of referencesOf(plan, text, target.id)) edits.push({ start: r.range.start.offset, end: r.range.end.offset, newText: wanted });
  }
  return edits.sort((a, b) => a.start - b.start);
}

/**
 * The next unused ID after the highest sibling of `id`: 2.3 in a plan whose 2.x go up to 2.5 → 2.6;
 * T012 → one past the highest T number, keeping the zero padding.
 */
export function nextFreeId(plan: Plan, id: string): string {
  const used = new Set(plan.tasks.map((t) => t.id));
  const spec = /^T(\d+)[a-z]?$/.exec(id);
  if (spec) {
    const width = spec[1]!.length;
    let max = 0;
    for (const u of used) {
      const m = /^T(\d+)/.exec(u);
      if (m) max = Math.max(max, Number(m[1]));
    }
    let n = max + 1;
    while (used.has(`T${String(n).padStart(width, '0')}`)) n++;
    return `T${String(n).padStart(width, '0')}`;
  }
  const parts = id.split('.');
  const prefix = parts.slice(0, -1).join('.');
  let max = 0;
  for (const u of used) {
    const p = u.split('.');
    if (p.length !== parts.length || !/^\d+$/.test(p[p.length - 1]!) || p.slice(0, -1).join('.') !== prefix) continue;
    max = Math.max(max, Number(p[p.length - 1]));
  }
  let n = max + 1;
  const make = (k: number): string => (prefix ? `${prefix}.${k}` : String(k));
  while (used.has(make(n))) n++;
  return make(n);
}

/** Where text appended to a task's first line goes: after its last visible character. */
function titleLineEnd(text: string, task: Task): number {
  let end = text.indexOf('\n', task.range.start.offset);
  if (end === -1 || end > task.range.end.offset) end = task.range.end.offset;
  while (end > task.range.start.offset && /[ \t\r]/.test(text.charAt(end - 1))) end--;
  return end;
}

const NONE_DEPS = /\(\s*(?:depends(?:\s+on)?|deps|after)\b\s*:?\s*(none)\s*\)/i;

/**
 * Makes `task` depend on `depId`: extends its own dependency list, turns `(Depends: None)` into it,
 * or appends ` (depends: X)` to its first line. Undefined when it already depends on `depId`.
 */
export function addDependencyEdit(plan: Plan, text: string, taskIndex: number, depId: string): TextEdit | undefined {
  const task = plan.tasks[taskIndex]!;
  if (task.dependsOn.some((d) => d.kind === 'task' && d.target === depId)) return undefined;
  // A list on a heading is shared with other tasks; only the task's own list may grow.
  const own = task.dependsOn.filter((d) => d.source === 'task');
  if (own.length > 0) {
    const last = own.reduce((a, b) => (b.range.end.offset > a.range.end.offset ? b : a));
    return { start: last.range.end.offset, end: last.range.end.offset, newText: `, ${depId}` };
  }
  const end = titleLineEnd(text, task);
  const line = text.slice(task.range.start.offset, end);
  const none = NONE_DEPS.exec(line);
  if (none) {
    const start = task.range.start.offset + none.index + none[0].toLowerCase().lastIndexOf('none');
    return { start, end: start + none[1]!.length, newText: depId };
  }
  return { start: end, end, newText: ` (depends: ${depId})` };
}

/** Appends ` [SEQUENTIAL]` to a task's first line. */
export function markSequentialEdit(text: string, task: Task): TextEdit {
  const end = titleLineEnd(text, task);
  return { start: end, end, newText: ' [SEQUENTIAL]' };
}

/** Removes `[P]`, `(P)` or `[PARALLEL]` (and one space beside it) from a task's first line. */
export function removeParallelMarkerEdit(text: string, task: Task): TextEdit | undefined {
  const start = task.idRange.end.offset;
  const end = titleLineEnd(text, task);
  const m = /[ \t]?(?:\[P\]|\(P\)|\[PARALLEL\])/.exec(text.slice(start, end));
  if (!m) return undefined;
  return { start: start + m.index, end: start + m.index + m[0].length, newText: '' };
}

/** The tasks one task is ordered after within its scope (same phase, same group), for `[SEQUENTIAL]`. */
function scopeOf(plan: Plan, task: Task): Task[] {
  const phase = plan.phases[task.phaseIndex]!;
  return phase.taskIndices.map((i) => plan.tasks[i]!).filter((t) => t.parentId === task.parentId);
}

function reaches(graph: PlanGraph, from: number, to: number): boolean {
  if (from === to) return true;
  const seen = new Uint8Array(graph.nodeCount);
  const queue = [from];
  seen[from] = 1;
  for (let i = 0; i < queue.length; i++) {
    for (const s of graph.succs[queue[i]!]!) {
      if (s === to) return true;
      if (!seen[s]) {
        seen[s] = 1;
        queue.push(s);
      }
    }
  }
  return false;
}

/**
 * Would `[SEQUENTIAL]` on `second` order it after `first`? The marker only adds an edge from the
 * task just before it in its scope, so it helps only when `first` is that task or comes before it.
 * It has no effect in the sequential-by-default dialects.
 */
export function sequentialMarkerResolves(plan: Plan, graph: PlanGraph, first: Task, second: Task): boolean {
  if (isSequentialDialect(plan) || second.kind !== 'task') return false;
  const scope = scopeOf(plan, second);
  const at = scope.indexOf(second);
  if (at <= 0) return false;
  return reaches(graph, first.index, scope[at - 1]!.index);
}

/** Would dropping `second`'s parallel marker (sequential dialects) order it after `first`? */
export function removingParallelMarkerResolves(plan: Plan, first: Task, second: Task): boolean {
  if (!isSequentialDialect(plan) || !second.parallelMarker) return false;
  const scope = scopeOf(plan, second);
  return scope.includes(first) && first.index < second.index;
}

const SEPARATOR_BEFORE = /[ \t]*(?:,|&|\band\b)[ \t]*$/i;
const SEPARATOR_AFTER = /^[ \t]*(?:,|&|\band\b)[ \t]*/i;
const PAREN_OPEN = /[ \t]*\(\s*(?:depends(?:\s+on)?|deps|after)\b\s*:?\s*$/i;
const WHOLE_LINE_LIST = /^[ \t]*(?:[-*+][ \t]+)?(?:\*\*|__|_)?\s*(?:depends(?:\s+on)?|dependencies)\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*$/i;
const INLINE_UNDERSCORE = /[ \t]*_(?:depends(?:\s+on)?)\s*:\s*$/i;

/**
 * Removes one dependency: the token and the separator next to it; when it was the only one, the
 * whole `(depends: …)`, `_Depends: …_` or `Depends on: …` line, so no empty list is left behind.
 */
export function removeDependencyEdit(text: string, ref: DependencyRef): TextEdit {
  const s = ref.range.start.offset;
  const e = ref.range.end.offset;
  const lineStart = text.lastIndexOf('\n', s - 1) + 1;
  let lineEnd = text.indexOf('\n', e);
  if (lineEnd === -1) lineEnd = text.length;
  const contentEnd = text.charAt(lineEnd - 1) === '\r' ? lineEnd - 1 : lineEnd;
  const before = text.slice(lineStart, s);
  const after = text.slice(e, contentEnd);

  const left = SEPARATOR_BEFORE.exec(before);
  if (left && /[\w)]$/.test(before.slice(0, left.index))) return { start: lineStart + left.index, end: e, newText: '' };
  const right = SEPARATOR_AFTER.exec(after);
  if (right) return { start: s, end: e + right[0].length, newText: '' };

  const paren = PAREN_OPEN.exec(before);
  const close = /^\s*\)/.exec(after);
  if (paren && close) {
    const end = e + close[0].length;
    const rest = text.slice(end, contentEnd);
    // At the end of the line the spaces before the list go with it; in mid-line, those after it.
    if (/^[ \t]*$/.test(rest)) return { start: lineStart + paren.index, end, newText: '' };
    const lead = paren[0].length - paren[0].trimStart().length;
    return { start: lineStart + paren.index + lead, end: end + (rest.length - rest.trimStart().length), newText: '' };
  }
  if (WHOLE_LINE_LIST.test(before) && /^\s*(?:_|\*\*|__)?\s*$/.test(after)) {
    const end = lineEnd < text.length ? lineEnd + 1 : lineEnd;
    // The last line has no newline after it: take the one before it instead.
    let start = lineStart;
    if (lineEnd >= text.length && lineStart > 0) start = text.charAt(lineStart - 2) === '\r' ? lineStart - 2 : lineStart - 1;
    return { start, end, newText: '' };
  }
  const underscore = INLINE_UNDERSCORE.exec(before);
  if (underscore && after.startsWith('_')) return { start: lineStart + underscore.index, end: e + 1, newText: '' };
  return { start: s, end: e, newText: '' };
}

/** Applies non-overlapping edits (any order) to a text. */
export function applyEdits(text: string, edits: TextEdit[]): string {
  let out = text;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, edit.start) + edit.newText + out.slice(edit.end);
  return out;
}

export interface TaskFacts {
  task: Task;
  phase: Phase;
  /** done / running / failed / pending, after rule 6 (status file or checkbox; groups by their children). */
  state: NodeState;
  /** What the status file records, if anything. */
  recorded?: TaskStatus;
  /** Direct predecessors: task IDs, or "the end of Phase 1" for a phase barrier. */
  waitsFor: string[];
  /** Unfinished tasks it is still waiting for, through phase barriers (empty: ready when pending). */
  blockedBy: Array<{ id: string; state: WaitState }>;
  /** Tasks that wait for this one directly or through the end of its phase. */
  dependents: string[];
}

/** What a person wants to know about a task when pointing at its ID. */
export function taskFacts(plan: Plan, graph: PlanGraph, taskIndex: number, statusOf: StatusLookup): TaskFacts {
  const task = plan.tasks[taskIndex]!;
  const states = nodeStates(plan, graph, statusOf);
  const waitsFor = graph.preds[taskIndex]!.map((p) => describeNode(plan, graph, p));
  const dependents: string[] = [];
  const seen = new Set<number>([taskIndex]);
  const visit = (v: number): void => {
    for (const s of graph.succs[v]!) {
      if (seen.has(s)) continue;
      seen.add(s);
      if (s < graph.taskCount) dependents.push(plan.tasks[s]!.id);
      else visit(s);
    }
  };
  visit(taskIndex);
  return {
    task,
    phase: plan.phases[task.phaseIndex]!,
    state: states[taskIndex]!,
    recorded: statusOf(task.id),
    waitsFor,
    blockedBy: waitingFor(plan, graph, states, taskIndex),
    dependents,
  };
}

export interface OutlineNode {
  name: string;
  detail: string;
  kind: 'phase' | 'task' | 'verify';
  range: SourceRange;
  /** The task's ID, or the phase's heading line. */
  selectionRange: SourceRange;
  children: OutlineNode[];
}

function within(inner: SourceRange, outer: SourceRange): boolean {
  return inner.start.offset >= outer.start.offset && inner.end.offset <= outer.end.offset;
}

function checkboxDetail(task: Task): string {
  switch (task.checkbox) {
    case 'checked':
      return 'done';
    case 'in-progress':
      return 'in progress';
    case 'queued':
      return 'queued';
    default:
      return '';
  }
}

/**
 * The document outline: phases (by their heading as written) holding their tasks and VERIFY items;
 * a group's subtasks sit under it when they are nested in its list item. A plan without phase
 * headings lists its tasks at the top level.
 */
export function outline(plan: Plan, text: string): OutlineNode[] {
  const top: OutlineNode[] = [];
  for (const phase of plan.phases) {
    const nodes = new Map<number, OutlineNode>();
    const firstById = new Map<string, number>();
    const children: OutlineNode[] = [];
    const items = [...phase.taskIndices, ...phase.verifyIndices].sort((a, b) => a - b);
    for (const i of items) {
      const t = plan.tasks[i]!;
      const verify = t.kind === 'verify';
      const label = verify ? (t.syntheticId ? t.title : `${t.id} ${t.title}`) : `${t.id} ${t.title}`;
      const node: OutlineNode = {
        name: label.trim() || t.id,
        detail: [verify ? 'VERIFY' : '', checkboxDetail(t)].filter(Boolean).join(' · '),
        kind: verify ? 'verify' : 'task',
        range: t.range,
        selectionRange: within(t.idRange, t.range) ? t.idRange : { start: t.range.start, end: t.range.start },
        children: [],
      };
      nodes.set(i, node);
      if (!firstById.has(t.id)) firstById.set(t.id, i);
      const parentIndex = t.parentId !== undefined ? firstById.get(t.parentId) : undefined;
      const parent = parentIndex !== undefined ? nodes.get(parentIndex) : undefined;
      if (parent && within(t.range, parent.range)) parent.children.push(node);
      else children.push(node);
    }
    if (phase.implicit) {
      top.push(...children);
      continue;
    }
    let headingEnd = text.indexOf('\n', phase.range.start.offset);
    if (headingEnd === -1 || headingEnd > phase.range.end.offset) headingEnd = phase.range.end.offset;
    if (text.charAt(headingEnd - 1) === '\r') headingEnd--;
    const heading = text
      .slice(phase.range.start.offset, headingEnd)
      .replace(/^#+\s*/, '')
      .replace(/\s+#+\s*$/, '')
      .trim();
    const start = phase.range.start;
    top.push({
      name: heading || `Phase ${phase.id}`,
      detail: `${phase.taskIndices.length} task${phase.taskIndices.length === 1 ? '' : 's'}`,
      kind: 'phase',
      range: phase.range,
      selectionRange: { start, end: { line: start.line, column: start.column + (headingEnd - start.offset), offset: headingEnd } },
      children,
    });
  }
  return top;
}
