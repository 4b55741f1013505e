/**
 * The plan model: what a markdown plan means, with exact source positions.
 * Every position is 1-based (line and column) with a 0-based character offset into the text,
 * the same convention as mdast/unist, so editors can map them without guessing.
 */

export interface SourcePoint {
  line: number;
  column: number;
  offset: number;
}

export interface SourceRange {
  start: SourcePoint;
  end: SourcePoint;
}

/** `[ ]`, `[x]`/`[X]`, Kiro's `[-]` (in progress) and `[~]` (queued), or a plain bullet (VERIFY blocks without boxes). */
export type CheckboxState = 'unchecked' | 'checked' | 'in-progress' | 'queued' | 'none';

/**
 * seeds: parallel by default inside a phase (the users' own plans).
 * spec-kit, kiro, cc-sdd: sequential by default; `[P]`/`(P)` marks tasks that may run alongside.
 */
export type Dialect = 'seeds' | 'spec-kit' | 'kiro' | 'cc-sdd';

export type TaskKind = 'task' | 'verify';

export interface DependencyRef {
  /** A task ID (`2.1`, `T012`) or, for `kind: 'phase'`, the phase number. */
  target: string;
  kind: 'task' | 'phase';
  range: SourceRange;
  /** Where it was written: on the task itself, or on a sub-heading above it. */
  source: 'task' | 'heading';
}

export interface FileRef {
  path: string;
  isGlob: boolean;
  range: SourceRange;
  /** `_Boundary: X_` names a component rather than a path; it conflicts only with the same name. */
  kind: 'path' | 'boundary';
}

export interface Task {
  id: string;
  kind: TaskKind;
  /** True when a VERIFY item had no ID in the text and was given `V<phase>.<n>`. */
  syntheticId: boolean;
  title: string;
  checkbox: CheckboxState;
  /** Kiro `- [ ]*`: optional task. */
  optional: boolean;
  /** Index into `Plan.phases`. */
  phaseIndex: number;
  /** Index into `Plan.tasks`. */
  index: number;
  /** The whole list item. */
  range: SourceRange;
  /** The ID as written (or the item's first text for a VERIFY item without ID). */
  idRange: SourceRange;
  /** Offset of the character between the checkbox brackets, for `sync`; -1 without a box. */
  checkboxOffset: number;
  /** Plain text of the item's own content after the title line (body bullets, continuation lines). */
  body: string;
  dependsOn: DependencyRef[];
  /** `(Depends: None)`: the author says this task waits for nothing. */
  explicitNoDependencies: boolean;
  files: FileRef[];
  estimateMinutes?: number;
  /** Bracket labels after the ID: `P`, `US1`, `SEQUENTIAL`, `PARALLEL`, `SMALL` … */
  labels: string[];
  parallelMarker: boolean;
  sequentialMarker: boolean;
  /** The enclosing group task (Kiro `1.` for `1.1`, or `1.3` for a nested `1.3.0`). */
  parentId?: string;
  childIds: string[];
  /** Written `1.` (Kiro's top-level group items). */
  idWithTrailingDot: boolean;
  /** A backticked command in a VERIFY item, for the orchestrator's gates. */
  command?: string;
}

export interface PhaseAnnotations {
  parallel: boolean;
  sequential: boolean;
  parallelWith: string[];
  /** Task IDs the phase waits for instead of the whole phase before it. */
  pipelineStart: string[];
  /**
   * `pipeline-start: 60% of Phase 1`: the phase starts once that share of the named phase's tasks is
   * done (the seeds' own annotation; see graph.ts, quota nodes). Set instead of `pipelineStart`.
   */
  pipelineStartShare?: { percent: number; phase: string };
  pipelineStartRange?: SourceRange;
  parallelWithRange?: SourceRange;
}

export interface SequentialRange {
  /** With `isRange`, the first and last ID of `Tasks 3.1-3.4`; otherwise every ID listed. */
  ids: string[];
  isRange: boolean;
  range: SourceRange;
}

export interface Phase {
  /** The phase number as written (`0`, `2`, `10`); for the implicit phase of a plan without headings, ''. */
  id: string;
  title: string;
  /** No phase heading: the whole checklist of a Kiro/cc-sdd plan. */
  implicit: boolean;
  headingDepth: number;
  range: SourceRange;
  taskIndices: number[];
  verifyIndices: number[];
  verifyLabelRange?: SourceRange;
  verifyBlocking: boolean;
  annotations: PhaseAnnotations;
  sequentialRanges: SequentialRange[];
}

export interface PlanDependency {
  name: string;
  /** `- **a.md** (phase 2)`: this plan waits only until that phase of the other plan is done. */
  phase?: string;
  range: SourceRange;
}

export interface MetadataEntry {
  key: string;
  value: string;
  range: SourceRange;
}

/** Something the parser noticed that the author may want to fix; turned into diagnostics later. */
export interface ParseNote {
  code: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
  range: SourceRange;
  tasks: string[];
}

export interface Plan {
  title: string;
  titleRange?: SourceRange;
  metadata: MetadataEntry[];
  dialect: Dialect;
  phases: Phase[];
  /** Every task and VERIFY item in document order. */
  tasks: Task[];
  planDependencies: PlanDependency[];
  /** `**Output:**` folder, when the plan names one. */
  output?: string;
  notes: ParseNote[];
  lineCount: number;
}

export function metadataValue(plan: Plan, key: string): string | undefined {
  const wanted = key.toLowerCase();
  return plan.metadata.find((m) => m.key.toLowerCase() === wanted)?.value;
}

/** Tasks an author counts: ordinary tasks plus VERIFY items that carry their own ID. */
export function countedTasks(plan: Plan): Task[] {
  return plan.tasks.filter((t) => t.kind === 'task' || !t.syntheticId);
}
