/**
 * Builds the plan model from the blocks of every chunk, in one linear pass.
 * This pass is cheap (no markdown parsing), so it runs on every analysis; only parseChunk is cached.
 */
import type { Block, HeadingBlock, ItemBlock } from './markdown.js';
import type { ItemAnnotations } from './annotations.js';
import { parseSequentialNote, TASK_ID } from './annotations.js';
import type {
  DependencyRef,
  Dialect,
  FileRef,
  MetadataEntry,
  ParseNote,
  Phase,
  PhaseAnnotations,
  Plan,
  PlanDependency,
  SourceRange,
  Task,
} from './model.js';
import { LineIndex } from './source.js';
import { complexityMessage, DEFAULT_LIMITS, type ComplexityFinding, type ComplexityLimits } from './complexity.js';

export interface ParsedChunk {
  offset: number;
  blocks: Block[];
  /** What could not be analysed in full, chunk-relative (complexity.ts); becomes `plan-too-complex` notes. */
  findings?: ComplexityFinding[];
}

/** More `plan-too-complex` warnings than this on one plan helps nobody; the rest is summarised. */
const MAX_COMPLEXITY_NOTES = 50;

const PHASE_HEADING = /^Phase\s+(\d+(?:\.\d+)?)\b\s*(?:[:.\-–—]\s*)?(.*)$/i;
const OPENSPEC_HEADING = /^(\d+)\.\s+(.+)$/;
const VERIFY_LABEL = /^\s*(?:\*\*|__)VERIFY\b([^*_]*)(?:\*\*|__)\s*:?([\s\S]*)$/i;
const META_LINE = /^\s*(?:[-*+]\s+)?(?:\*\*|__)([^*_\n]+?):?(?:\*\*|__)\s*:?\s*(.*)$/;

type SectionKind = 'preamble' | 'phase' | 'overview' | 'dependencies' | 'upstream' | 'other';

interface AbsItem {
  block: ItemBlock;
  base: number;
  /** Global index of the parent item, or -1. */
  parent: number;
}

export function assemblePlan(
  text: string,
  chunks: ParsedChunk[],
  lines: LineIndex = new LineIndex(text),
  limits: ComplexityLimits = DEFAULT_LIMITS,
): Plan {
  const plan: Plan = {
    title: '',
    metadata: [],
    dialect: 'seeds',
    phases: [],
    tasks: [],
    planDependencies: [],
    notes: [],
    lineCount: lines.lineCount,
  };
  const range = (start: number, end: number): SourceRange => lines.range(start, end);

  // Flatten with absolute offsets; parent indices become global.
  const flat: Array<{ block: Block; base: number; globalParent: number }> = [];
  for (const c of chunks) {
    const first = flat.length;
    for (const b of c.blocks) {
      flat.push({ block: b, base: c.offset, globalParent: b.kind === 'item' && b.parent >= 0 ? first + b.parent : -1 });
    }
  }

  const headings = flat.filter((f): f is { block: HeadingBlock; base: number; globalParent: number } => f.block.kind === 'heading');
  // Compared by entry, not by block: identical chunks share their (cached) block objects.
  const titleHeading = headings.find((h) => h.block.depth === 1);
  const isPhaseHeading = (h: (typeof headings)[number]): boolean =>
    PHASE_HEADING.test(h.block.text) && (h.block.depth >= 2 || h !== titleHeading);
  const hasPhaseHeadings = headings.some((h) => isPhaseHeading(h));
  const openSpec = !hasPhaseHeadings && headings.some((h) => h.block.depth === 2 && OPENSPEC_HEADING.test(h.block.text));

  let section: SectionKind = 'preamble';
  let phase: Phase | undefined;
  let verifyMode = false;
  let headingDeps: Array<{ depth: number; deps: ItemAnnotations['deps'] }> = [];
  const taskOfItem = new Map<number, number>();
  const verifyOfItem = new Map<number, number>();
  const phaseIds = new Map<string, number>();
  let syntheticVerifyCount = 0;

  const startPhase = (id: string, title: string, depth: number, start: number, end: number, implicit: boolean): Phase => {
    const p: Phase = {
      id,
      title,
      implicit,
      headingDepth: depth,
      range: range(start, end),
      taskIndices: [],
      verifyIndices: [],
      verifyBlocking: true,
      annotations: { parallel: false, sequential: false, parallelWith: [], pipelineStart: [] },
      sequentialRanges: [],
    };
    plan.phases.push(p);
    if (!phaseIds.has(id)) phaseIds.set(id, plan.phases.length - 1);
    verifyMode = false;
    headingDeps = [];
    syntheticVerifyCount = 0;
    return p;
  };

  if (!hasPhaseHeadings && !openSpec) {
    phase = startPhase('', 'Tasks', 0, 0, text.length, true);
    section = 'phase';
  }

  let kiroRequirements = false;
  for (let gi = 0; gi < flat.length; gi++) {
    const entry = flat[gi]!;
    const { block, base, globalParent } = entry;
    if (block.kind === 'heading') {
      const h = block;
      const start = base + h.start;
      if (entry === titleHeading) {
        plan.title = titleFromHeading(h.text);
        plan.titleRange = range(start, base + h.end);
        continue;
      }
      const phaseMatch = hasPhaseHeadings && isPhaseHeading(entry as (typeof headings)[number]) ? PHASE_HEADING.exec(h.text) : null;
      const specMatch = openSpec && h.depth === 2 ? OPENSPEC_HEADING.exec(h.text) : null;
      if (phaseMatch || specMatch) {
        const m = (phaseMatch ?? specMatch)!;
        if (phase && !phase.implicit) closePhase(phase, start, lines);
        phase = startPhase(m[1]!, cleanPhaseTitle(m[2]!), h.depth, start, base + h.end, false);
        section = 'phase';
        readPhaseAnnotations(h.text, start, phase.annotations, plan.notes, range);
        continue;
      }
      if (phase && !phase.implicit && h.depth > phase.headingDepth) {
        // A sub-heading inside a phase: `### Inline Rename (depends on T016)` applies to the tasks under it.
        verifyMode = /^VERIFY\b/i.test(h.text);
        headingDeps = headingDeps.filter((d) => d.depth < h.depth);
        if (h.ann.deps.length > 0) headingDeps.push({ depth: h.depth, deps: shift(h.ann.deps, base) });
        continue;
      }
      if (phase && phase.implicit) {
        verifyMode = /^VERIFY\b/i.test(h.text);
        continue;
      }
      if (phase) closePhase(phase, start, lines);
      phase = undefined;
      verifyMode = false;
      const t = h.text.toLowerCase();
      if (/^overview\b/.test(t)) section = 'overview';
      else if (/^dependencies\b/.test(t) && h.depth <= 2) section = 'dependencies';
      else if (/^upstream\b/.test(t) && (section === 'dependencies' || section === 'upstream')) section = 'upstream';
      else if (h.depth > 2 && (section === 'dependencies' || section === 'upstream')) section = 'dependencies';
      else section = 'other';
      continue;
    }

    if (block.kind === 'paragraph') {
      const start = base + block.start;
      if (phase) {
        const v = VERIFY_LABEL.exec(block.raw);
        if (v) {
          verifyMode = true;
          phase.verifyLabelRange = range(start, base + block.end);
          if (/non-blocking|background:\s*true/i.test(block.raw)) phase.verifyBlocking = false;
          continue;
        }
        const note = parseSequentialNote(block.raw);
        if (note) {
          for (const n of note) {
            phase.sequentialRanges.push({ ids: n.to ? [n.from, n.to] : n.ids, isRange: n.to !== undefined, range: range(start, base + block.end) });
          }
          continue;
        }
        if (phase.taskIndices.length === 0 && !phase.implicit) {
          readPhaseAnnotations(block.raw, start, phase.annotations, plan.notes, range);
        }
      } else if (section === 'preamble' || section === 'overview') {
        readMetadataLines(block.raw, start, plan.metadata, range);
      }
      continue;
    }

    if (block.kind !== 'item') continue;
    if (phase && block.ann.kiroRequirements) kiroRequirements = true;
    const item: AbsItem = { block, base, parent: globalParent };
    const ownerTask = nearestOwner(globalParent, flat, taskOfItem, verifyOfItem);

    if (phase && verifyMode) {
      const parentIsVerify = globalParent >= 0 && verifyOfItem.has(globalParent);
      const parentIsTask = ownerTask !== undefined && plan.tasks[ownerTask]!.kind === 'task';
      if (!parentIsVerify && !parentIsTask) {
        const idx = plan.tasks.length;
        const id = block.id ?? `V${phase.id}${phase.id ? '.' : ''}${++syntheticVerifyCount}`;
        plan.tasks.push(makeTask(item, id, 'verify', block.id === undefined, plan.phases.length - 1, idx, headingDeps, range));
        phase.verifyIndices.push(idx);
        verifyOfItem.set(gi, idx);
        continue;
      }
    } else if (phase && block.id !== undefined && block.checkbox !== 'none' && !repeatsOwnerId(ownerTask, block.id, plan)) {
      const idx = plan.tasks.length;
      const task = makeTask(item, block.id, 'task', false, plan.phases.length - 1, idx, headingDeps, range);
      plan.tasks.push(task);
      phase.taskIndices.push(idx);
      taskOfItem.set(gi, idx);
      if (ownerTask !== undefined && plan.tasks[ownerTask]!.kind === 'task' && plan.tasks[ownerTask]!.phaseIndex === task.phaseIndex) {
        task.parentId = plan.tasks[ownerTask]!.id;
      }
      continue;
    }

    if (ownerTask !== undefined) {
      mergeBody(plan.tasks[ownerTask]!, item, range);
      continue;
    }
    if (section === 'preamble' || section === 'overview') {
      readMetadataLines(block.titleRaw, base + block.start, plan.metadata, range);
    } else if (section === 'upstream' || section === 'dependencies') {
      readPlanDependency(block, base, plan.planDependencies, range);
    }
  }
  if (phase && !phase.implicit) closePhase(phase, text.length, lines);

  linkGroups(plan);
  complexityNotes(plan, text, chunks, range, limits);
  plan.dialect = detectDialect(plan, kiroRequirements);
  const output = plan.metadata.find((m) => m.key.toLowerCase() === 'output')?.value;
  if (output) plan.output = output.replace(/[`*]/g, '').trim().replace(/\/+$/, '');
  if (!plan.title) plan.title = '';
  return plan;
}


/**
 * `- [ ] 1.2 Second` with a sub-bullet `  - [ ] 1.2 also check X`: the sub-bullet repeats its task's ID as
 * a reference, it is not a second task 1.2; it stays in the task's body (and `sync` never ticks it).
 */
function repeatsOwnerId(ownerTask: number | undefined, id: string, plan: Plan): boolean {
  return ownerTask !== undefined && plan.tasks[ownerTask]!.id === id;
}

/** `plan-too-complex` warnings, naming the task whose text it is when it lies inside one. */
function complexityNotes(plan: Plan, text: string, chunks: ParsedChunk[], range: (s: number, e: number) => SourceRange, limits: ComplexityLimits): void {
  const all = chunks.flatMap((c) => (c.findings ?? []).map((f) => ({ f, start: c.offset + f.start, end: c.offset + f.end })));
  // The error that the plan was not read to its end is never among the summarised ones.
  const notRead = all.filter((x) => x.f.kind === 'not-read');
  const shown = all.slice(0, MAX_COMPLEXITY_NOTES).filter((x) => x.f.kind !== 'not-read').concat(notRead);
  for (const { f, start, end } of shown) {
    const whole = range(start, end);
    const lines = whole.start.line === whole.end.line ? `line ${whole.start.line}` : `lines ${whole.start.line}–${whole.end.line}`;
    // The rest of a too-large plan is named in the message; the warning itself sits on its first line.
    const lineEnd = text.indexOf('\n', start);
    const toEnd = f.kind === 'too-large' || f.kind === 'not-read';
    const r = toEnd ? range(start, lineEnd === -1 ? end : Math.min(end, lineEnd)) : whole;
    let owner: Task | undefined;
    if (!toEnd) {
      for (const t of plan.tasks) if (t.range.start.offset <= start && t.range.end.offset >= end) owner = t;
    }
    const where = owner ? ` in ${owner.id}` : '';
    // A plan not read to its end must not run as if it were whole: that one is an error.
    const severity = f.kind === 'not-read' ? 'error' : 'warning';
    plan.notes.push({ code: 'plan-too-complex', severity, message: complexityMessage(f, lines + where, limits), range: r, tasks: owner ? [owner.id] : [] });
  }
  const rest = all.slice(MAX_COMPLEXITY_NOTES).filter((x) => x.f.kind !== 'not-read');
  if (rest.length > 0) {
    const first = rest[0]!;
    plan.notes.push({
      code: 'plan-too-complex',
      severity: 'warning',
      message: `${rest.length} more parts of the plan are too complex to analyse in full and are not listed`,
      range: range(first.start, first.end),
      tasks: [],
    });
  }
}

function shift<T extends { start: number; end: number }>(items: T[], base: number): T[] {
  return items.map((i) => ({ ...i, start: i.start + base, end: i.end + base }));
}

function nearestOwner(
  parent: number,
  flat: Array<{ globalParent: number }>,
  taskOfItem: Map<number, number>,
  verifyOfItem: Map<number, number>,
): number | undefined {
  let p = parent;
  while (p >= 0) {
    const t = taskOfItem.get(p) ?? verifyOfItem.get(p);
    if (t !== undefined) return t;
    p = flat[p]!.globalParent;
  }
  return undefined;
}

function makeTask(
  item: AbsItem,
  id: string,
  kind: Task['kind'],
  syntheticId: boolean,
  phaseIndex: number,
  index: number,
  headingDeps: Array<{ deps: ItemAnnotations['deps'] }>,
  range: (s: number, e: number) => SourceRange,
): Task {
  const b = item.block;
  const base = item.base;
  const ann = b.ann;
  const dependsOn: DependencyRef[] = ann.deps.map((d) => ({
    target: d.target,
    kind: d.kind,
    range: range(base + d.start, base + d.end),
    source: 'task',
  }));
  for (const hd of headingDeps) {
    for (const d of hd.deps) dependsOn.push({ target: d.target, kind: d.kind, range: range(d.start, d.end), source: 'heading' });
  }
  const files: FileRef[] = [];
  addFiles(files, ann, base, range);
  const hasIdText = b.id !== undefined;
  return {
    id,
    kind,
    syntheticId,
    title: b.title,
    checkbox: b.checkbox,
    optional: b.optional,
    phaseIndex,
    index,
    range: range(base + b.start, base + b.end),
    idRange: hasIdText ? range(base + b.idStart, base + b.idEnd) : range(base + b.start, base + Math.min(b.end, b.start + 1)),
    checkboxOffset: b.checkboxOffset >= 0 ? base + b.checkboxOffset : -1,
    body: b.body,
    dependsOn,
    explicitNoDependencies: ann.noDeps,
    files,
    // Absent rather than undefined: the model is plain JSON data (it crosses threads as JSON, offThread.ts).
    ...(ann.estimateMinutes !== undefined ? { estimateMinutes: ann.estimateMinutes } : {}),
    labels: [...ann.labels],
    parallelMarker: ann.parallel,
    sequentialMarker: ann.sequential,
    childIds: [],
    idWithTrailingDot: b.idTrailingDot,
    ...(kind === 'verify' && ann.command !== undefined ? { command: ann.command } : {}),
  };
}

function addFiles(files: FileRef[], ann: ItemAnnotations, base: number, range: (s: number, e: number) => SourceRange): void {
  for (const f of ann.files) {
    if (files.some((x) => x.path === f.path && x.kind === f.kind)) continue;
    files.push({ path: f.path, isGlob: f.isGlob, kind: f.kind, range: range(base + f.start, base + f.end) });
  }
}

/** A non-task bullet under a task is part of its body: its annotations belong to the task. */
function mergeBody(task: Task, item: AbsItem, range: (s: number, e: number) => SourceRange): void {
  const b = item.block;
  const text = [b.title, b.body].filter(Boolean).join('\n');
  if (text) task.body = task.body ? `${task.body}\n${text}` : text;
  for (const d of b.ann.deps) {
    task.dependsOn.push({ target: d.target, kind: d.kind, range: range(item.base + d.start, item.base + d.end), source: 'task' });
  }
  if (b.ann.noDeps) task.explicitNoDependencies = true;
  addFiles(task.files, b.ann, item.base, range);
  if (task.estimateMinutes === undefined && b.ann.estimateMinutes !== undefined) task.estimateMinutes = b.ann.estimateMinutes;
  if (b.ann.sequential) task.sequentialMarker = true;
  if (task.kind === 'verify' && task.command === undefined && b.ann.command !== undefined) task.command = b.ann.command;
}

function closePhase(phase: Phase, end: number, lines: LineIndex): void {
  phase.range = { start: phase.range.start, end: lines.point(Math.max(phase.range.start.offset, end)) };
}

function titleFromHeading(text: string): string {
  const m = /\bPlan:\s*(.+)$/.exec(text);
  return (m ? m[1]! : text).trim();
}

function cleanPhaseTitle(title: string): string {
  return title
    .replace(/\[(?:PARALLEL|SEQUENTIAL)\]/g, '')
    .replace(/\((?:parallel-with|pipeline-start)[^)]*\)/gi, '')
    .replace(/\s+/g, ' ')
    .trim();
}

function readPhaseAnnotations(
  text: string,
  start: number,
  ann: PhaseAnnotations,
  notes: ParseNote[],
  range: (s: number, e: number) => SourceRange,
): void {
  if (text.includes('[PARALLEL]')) ann.parallel = true;
  if (text.includes('[SEQUENTIAL]')) ann.sequential = true;
  const pw = /parallel-with:\s*((?:phase\s+\d+(?:\.\d+)?[\s,and]*)+)/i.exec(text);
  if (pw) {
    for (const m of pw[1]!.matchAll(/\d+(?:\.\d+)?/g)) ann.parallelWith.push(m[0]);
    ann.parallelWithRange = range(start + pw.index, start + pw.index + pw[0].length);
  }
  const ps = /pipeline-start\b(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*([^\n)]*)/i.exec(text);
  if (ps) {
    const r = range(start + ps.index, start + ps.index + ps[0].length);
    ann.pipelineStartRange = r;
    const ids = [...ps[1]!.matchAll(/\b(T\d+[a-z]?|\d+(?:\.\d+)+)\b/g)].map((m) => m[1]!);
    const share = /^\s*(\d+(?:\.\d+)?)\s*%\s*(?:of\s+)?phase\s+(\d+(?:\.\d+)?)\b/i.exec(ps[1]!);
    if (share && Number(share[1]) > 0 && Number(share[1]) <= 100) {
      ann.pipelineStartShare = { percent: Number(share[1]), phase: share[2]! };
    } else if (ids.length > 0 && !/%/.test(ps[1]!)) {
      ann.pipelineStart.push(...ids);
    } else {
      notes.push({
        code: 'unsupported-annotation',
        severity: 'warning',
        message: `"${ps[0].trim()}" is not understood, so this phase waits for the whole phase before it; write "pipeline-start: when 1.3 completes" or "pipeline-start: 60% of Phase 1"`,
        range: r,
        tasks: [],
      });
    }
  }
}

function readMetadataLines(raw: string, start: number, out: MetadataEntry[], range: (s: number, e: number) => SourceRange): void {
  let offset = 0;
  for (const line of raw.split('\n')) {
    const m = META_LINE.exec(line);
    if (m && m[2]!.trim() !== '') {
      out.push({ key: m[1]!.trim(), value: m[2]!.trim(), range: range(start + offset, start + offset + line.length) });
    }
    offset += line.length + 1;
  }
}

function readPlanDependency(block: ItemBlock, base: number, out: PlanDependency[], range: (s: number, e: number) => SourceRange): void {
  const raw = block.titleRaw;
  const m = /\*\*([^*\n]+?\.md)\*\*|`([^`\n]+?\.md)`|\]\(([^)\s]+?\.md)\)|([\w./-]+\.md)\b/.exec(raw);
  if (!m) return;
  const name = (m[1] ?? m[2] ?? m[3] ?? m[4])!.trim();
  const phase = /\bphase\s+(\d+(?:\.\d+)?)\b/i.exec(raw.slice(m.index + m[0].length))?.[1];
  out.push({ name, ...(phase !== undefined ? { phase } : {}), range: range(base + block.start, base + block.end) });
}

/**
 * Group tasks: a task nested under another, or (Kiro's flat layout) `1.1` after `1.` in the same phase.
 * The group completes with its children; scheduling uses these links (see graph.ts).
 */
function linkGroups(plan: Plan): void {
  const byId = new Map<string, Task>();
  for (const phase of plan.phases) {
    const inPhase = new Map<string, Task>();
    for (const i of phase.taskIndices) {
      const t = plan.tasks[i]!;
      if (t.parentId === undefined) {
        let prefix = t.id;
        let dot = prefix.lastIndexOf('.');
        while (dot > 0) {
          prefix = prefix.slice(0, dot);
          const candidate = inPhase.get(prefix);
          if (candidate) {
            t.parentId = candidate.id;
            break;
          }
          dot = prefix.lastIndexOf('.');
        }
      }
      if (!inPhase.has(t.id)) inPhase.set(t.id, t);
      if (!byId.has(t.id)) byId.set(t.id, t);
    }
  }
  for (const t of plan.tasks) {
    if (t.parentId !== undefined) byId.get(t.parentId)?.childIds.push(t.id);
  }
}

/** `kiroRequirements`: some item carries Kiro's `_Requirements: …_` line (its raw form, not the word in prose). */
function detectDialect(plan: Plan, kiroRequirements: boolean): Dialect {
  const tasks = plan.tasks.filter((t) => t.kind === 'task');
  if (tasks.some((t) => t.id.startsWith('T'))) return 'spec-kit';
  if (tasks.some((t) => t.files.some((f) => f.kind === 'boundary') || t.labels.includes('(P)'))) {
    return 'cc-sdd';
  }
  if (kiroRequirements || tasks.some((t) => t.idWithTrailingDot || t.optional)) return 'kiro';
  if (tasks.some((t) => t.labels.includes('P'))) return 'spec-kit';
  return 'seeds';
}

export function isTaskId(value: string): boolean {
  return TASK_ID.test(value);
}
