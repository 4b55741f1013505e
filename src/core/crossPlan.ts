/**
 * Tasks of different active plans that touch the same files. Each plan runs on its own branch, so
 * such tasks are invisible to the plan's own `file-conflict` check and surface only as merge
 * conflicts weeks later; warning while the plans are written is much cheaper.
 *
 * Pure (no git, no vscode). The editor turns the results into `cross-plan-file-conflict`
 * diagnostics on taskB's reference.
 */
import { globBase, lowerBound, refsOverlap } from './globs.js';
import type { FileRef, Plan, SourceRange, Task } from './model.js';

export interface CrossPlanOverlap {
  /** The task of the other plan. */
  taskA: string;
  planA: string;
  /** The task the result is anchored on (its reference is `range`). */
  taskB: string;
  planB: string;
  /** The concrete file when one side names one; taskB's pattern when both sides are globs. */
  file: string;
  /** taskB's reference, in planB's text. */
  range: SourceRange;
}

export interface CrossPlanOptions {
  /**
   * Only results anchored in this plan (planB === anchor), e.g. for the diagnostics of the one
   * document being edited. Skips the work for every other plan.
   */
  anchor?: string;
}

interface Entry {
  plan: number;
  task: Task;
  ref: FileRef;
}

/**
 * Every (taskA of plan A, taskB of plan B) with overlapping file references, for A ≠ B. Each
 * overlap is reported from both sides (A→B anchored in B, B→A anchored in A) so every plan's
 * document gets its own diagnostic; one result per ordered task pair even when several
 * references overlap (exact paths win over glob matches). Plans with the same name are the same
 * plan (e.g. open in two worktrees) and are not compared with each other.
 *
 * Cost: references are grouped by exact text (the common case, linear), then each distinct glob is
 * matched only against the literal paths under its base folder (binary search in a sorted list),
 * then distinct globs pairwise. Output-sensitive beyond that.
 */
export function crossPlanFileOverlaps(plans: ReadonlyArray<{ name: string; plan: Plan }>, options: CrossPlanOptions = {}): CrossPlanOverlap[] {
  const anchor = options.anchor === undefined ? undefined : new Set(plans.flatMap((p, i) => (p.name === options.anchor ? [i] : [])));
  if (anchor && anchor.size === 0) return [];

  const groups = new Map<string, Entry[]>();
  for (let p = 0; p < plans.length; p++) {
    for (const task of plans[p]!.plan.tasks) {
      if (task.kind !== 'task') continue;
      for (const ref of task.files) {
        const key = `${ref.kind}:${ref.path}`;
        const list = groups.get(key);
        if (list) list.push({ plan: p, task, ref });
        else groups.set(key, [{ plan: p, task, ref }]);
      }
    }
  }

  const out: CrossPlanOverlap[] = [];
  const taskAIndex = new Map<CrossPlanOverlap, number>();
  const seen = new Set<string>();
  const emit = (a: Entry, b: Entry, file: string): void => {
    if (anchor && !anchor.has(b.plan)) return;
    const key = `${a.plan}:${a.task.index}>${b.plan}:${b.task.index}`;
    if (seen.has(key)) return;
    seen.add(key);
    const result = { taskA: a.task.id, planA: plans[a.plan]!.name, taskB: b.task.id, planB: plans[b.plan]!.name, file, range: b.ref.range };
    taskAIndex.set(result, a.task.index);
    out.push(result);
  };
  const differentPlans = (x: Entry, y: Entry): boolean => x.plan !== y.plan && plans[x.plan]!.name !== plans[y.plan]!.name;
  /** Both directions for every cross-plan pair of entries from two lists; `file(a, b)` names the file for b's side. */
  const pairUp = (xs: Entry[], ys: Entry[], file: (a: Entry, b: Entry) => string): void => {
    for (const x of xs) {
      for (const y of ys) {
        if (!differentPlans(x, y)) continue;
        emit(x, y, file(x, y));
        emit(y, x, file(y, x));
      }
    }
  };

  // 1. Identical text (same path, same glob, same boundary name).
  for (const list of groups.values()) {
    if (list.length < 2 || !spansPlans(list)) continue;
    for (let j = 1; j < list.length; j++) {
      for (let i = 0; i < j; i++) {
        const x = list[i]!;
        const y = list[j]!;
        if (!differentPlans(x, y)) continue;
        emit(x, y, x.ref.path);
        emit(y, x, x.ref.path);
      }
    }
  }

  const globs: Entry[][] = [];
  const literals: Entry[][] = [];
  for (const list of groups.values()) {
    const ref = list[0]!.ref;
    if (ref.kind !== 'path') continue;
    (ref.isGlob ? globs : literals).push(list);
  }
  if (globs.length === 0) return sortResults(out, plans, taskAIndex);

  // 2. A glob against the literal paths under its base folder.
  literals.sort((x, y) => compare(x[0]!.ref.path, y[0]!.ref.path));
  const paths = literals.map((l) => l[0]!.ref.path);
  for (const g of globs) {
    const pattern = g[0]!;
    const base = globBase(pattern.ref.path);
    for (let i = lowerBound(paths, base); i < paths.length && paths[i]!.startsWith(base); i++) {
      const literal = literals[i]!;
      if (!refsOverlap(pattern.ref, literal[0]!.ref)) continue;
      pairUp(g, literal, () => paths[i]!);
    }
  }

  // 3. Distinct globs against each other (few in practice).
  for (let i = 0; i < globs.length; i++) {
    for (let j = i + 1; j < globs.length; j++) {
      if (!refsOverlap(globs[i]![0]!.ref, globs[j]![0]!.ref)) continue;
      pairUp(globs[i]!, globs[j]!, (_a, b) => b.ref.path);
    }
  }
  return sortResults(out, plans, taskAIndex);
}

function spansPlans(list: Entry[]): boolean {
  const first = list[0]!.plan;
  return list.some((e) => e.plan !== first);
}

/** Stable, document-friendly order: by anchored plan, then position in it, then the other side. */
function sortResults(out: CrossPlanOverlap[], plans: ReadonlyArray<{ name: string }>, taskAIndex: Map<CrossPlanOverlap, number>): CrossPlanOverlap[] {
  const planIndex = new Map<string, number>();
  plans.forEach((p, i) => {
    if (!planIndex.has(p.name)) planIndex.set(p.name, i);
  });
  return out.sort(
    (x, y) =>
      planIndex.get(x.planB)! - planIndex.get(y.planB)! ||
      x.range.start.offset - y.range.start.offset ||
      planIndex.get(x.planA)! - planIndex.get(y.planA)! ||
      taskAIndex.get(x)! - taskAIndex.get(y)!,
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
