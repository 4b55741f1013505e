/**
 * The order in which to merge plan branches into main, from facts gathered elsewhere (which pairs
 * conflict, which plan waits for which). Pure: no git, no vscode, so it is unit-tested on its own
 * and the extension can reuse it.
 *
 * A textual conflict between two branches cannot be ordered away: whichever merges second has to
 * resolve it. What the order can do is (a) never merge a plan before the plans it depends on,
 * (b) land the branches that conflict with nobody first, so they never wait on anyone's manual
 * work, and (c) leave the branch that conflicts with many others for last, so one rebase of it
 * resolves all of its conflicts at once instead of every other branch resolving one each.
 */

export interface MergeCandidate {
  branch: string;
  /** How many files the branch changes; the smaller change goes first among equals. */
  changedFiles: number;
  /** Branches (of this set) holding plans this branch's plan depends on. Others are ignored. */
  dependsOn: readonly string[];
  /** Files that conflict with the current main; 0 or absent when it merges cleanly. */
  mainConflicts?: number;
}

export interface PairConflict {
  a: string;
  b: string;
  /** Files with a textual conflict; a pair with 0 is clean and may be left out. */
  files: number;
}

export interface MergeStep {
  branch: string;
  /** One line for people: why this branch goes here, and what it needs. */
  reason: string;
  /** Its dependencies in this set (all merged earlier unless `cycle` is set). */
  after: string[];
  /**
   * What the merge of this branch has to resolve by hand: branches merged earlier that it
   * conflicts with, and `main` itself when it already conflicts with main.
   */
  resolveWith: string[];
  /** Set when a dependency cycle made it impossible to respect every dependency. */
  cycle?: string[];
}

export interface MergeOrderInput {
  branches: readonly MergeCandidate[];
  conflicts: readonly PairConflict[];
  /** Name used for main in `resolveWith` and reasons (default "main"). */
  main?: string;
}

interface Node {
  c: MergeCandidate;
  index: number;
  deps: number[];
  /** Conflicting branch index → number of files. */
  peers: Map<number, number>;
}

/**
 * Greedy topological order. At each step, among the branches whose dependencies are merged, pick
 * by: merges cleanly into main as it is by then (no conflict with main or with a branch merged
 * earlier), then fewest conflicts with the branches still waiting (conflict-free ones first),
 * then fewest changed files, then name (so the result is stable). A branch conflicting with many
 * others thus drifts to the end, where one rebase of it resolves all of its conflicts.
 */
export function recommendMergeOrder(input: MergeOrderInput): MergeStep[] {
  const main = input.main ?? 'main';
  const nodes: Node[] = [];
  const byName = new Map<string, number>();
  for (const c of input.branches) {
    if (byName.has(c.branch)) continue;
    byName.set(c.branch, nodes.length);
    nodes.push({ c, index: nodes.length, deps: [], peers: new Map() });
  }
  for (const n of nodes) {
    const deps = new Set<number>();
    for (const d of n.c.dependsOn) {
      const i = byName.get(d);
      if (i !== undefined && i !== n.index) deps.add(i);
    }
    n.deps = [...deps];
  }
  for (const p of input.conflicts) {
    if (p.files <= 0) continue;
    const a = byName.get(p.a);
    const b = byName.get(p.b);
    if (a === undefined || b === undefined || a === b) continue;
    nodes[a]!.peers.set(b, Math.max(p.files, nodes[a]!.peers.get(b) ?? 0));
    nodes[b]!.peers.set(a, Math.max(p.files, nodes[b]!.peers.get(a) ?? 0));
  }

  const merged = new Set<number>();
  const steps: MergeStep[] = [];
  const remainingConflicts = (n: Node): number => {
    let count = 0;
    for (const peer of n.peers.keys()) if (!merged.has(peer)) count++;
    return count;
  };
  const conflictsNow = (n: Node): number => {
    if ((n.c.mainConflicts ?? 0) > 0) return 1;
    for (const peer of n.peers.keys()) if (merged.has(peer)) return 1;
    return 0;
  };
  const better = (x: Node, y: Node): boolean => {
    const nx = conflictsNow(x);
    const ny = conflictsNow(y);
    if (nx !== ny) return nx < ny;
    const rx = remainingConflicts(x);
    const ry = remainingConflicts(y);
    if (rx !== ry) return rx < ry;
    if (x.c.changedFiles !== y.c.changedFiles) return x.c.changedFiles < y.c.changedFiles;
    return x.c.branch < y.c.branch;
  };

  while (merged.size < nodes.length) {
    let pick: Node | undefined;
    for (const n of nodes) {
      if (merged.has(n.index) || n.deps.some((d) => !merged.has(d))) continue;
      if (!pick || better(n, pick)) pick = n;
    }
    let cycle: string[] | undefined;
    if (!pick) {
      // Every remaining branch waits for another remaining one: a dependency cycle. Break it at
      // the branch that would be picked if dependencies were ignored, and say so.
      const rest = nodes.filter((n) => !merged.has(n.index));
      for (const n of rest) if (!pick || better(n, pick)) pick = n;
      cycle = cycleThrough(pick!, nodes, merged).map((i) => nodes[i]!.c.branch);
    }
    const n = pick!;
    steps.push(describe(n, nodes, merged, main, cycle));
    merged.add(n.index);
  }
  return steps;
}

function describe(n: Node, nodes: Node[], merged: ReadonlySet<number>, main: string, cycle: string[] | undefined): MergeStep {
  const after = n.deps.map((d) => nodes[d]!.c.branch);
  const resolve: Array<{ name: string; files: number }> = [];
  const mainFiles = n.c.mainConflicts ?? 0;
  if (mainFiles > 0) resolve.push({ name: main, files: mainFiles });
  let later = 0;
  for (const [peer, files] of n.peers) {
    if (merged.has(peer)) resolve.push({ name: nodes[peer]!.c.branch, files });
    else later++;
  }
  const parts: string[] = [];
  if (cycle) {
    const early = n.deps.filter((d) => !merged.has(d)).map((d) => nodes[d]!.c.branch);
    parts.push(`plan dependencies form a cycle (${[...cycle, cycle[0]].join(' → ')}); merged before ${early.join(', ')}`);
  } else if (after.length > 0) {
    parts.push(`after ${after.join(', ')} (plan ${after.length === 1 ? 'dependency' : 'dependencies'})`);
  }
  if (resolve.length === 0 && n.peers.size === 0) {
    parts.push(`clean against ${main} and every other branch`);
  } else if (resolve.length === 0) {
    parts.push(`merges cleanly now; ${later === 1 ? '1 later branch will resolve its conflict' : `${later} later branches will resolve their conflicts`} with it`);
  } else {
    const list = resolve.map((r) => `${r.name} (${plural(r.files, 'file', 'files')})`).join(', ');
    parts.push(`needs manual resolution against ${list}`);
    if (later > 0) parts.push(later === 1 ? '1 later branch also conflicts with it' : `${later} later branches also conflict with it`);
  }
  if (n.c.changedFiles === 0 && resolve.length === 0) parts.push('nothing to merge');
  return { branch: n.c.branch, reason: parts.join('; '), after, resolveWith: resolve.map((r) => r.name), ...(cycle ? { cycle } : {}) };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A dependency cycle through `start` among the unmerged branches (DFS along dependencies). */
function cycleThrough(start: Node, nodes: Node[], merged: Set<number>): number[] {
  const path: number[] = [];
  const onPath = new Map<number, number>();
  const seen = new Set<number>();
  const visit = (i: number): number[] | undefined => {
    onPath.set(i, path.length);
    path.push(i);
    seen.add(i);
    for (const d of nodes[i]!.deps) {
      if (merged.has(d)) continue;
      if (onPath.has(d)) return path.slice(onPath.get(d)!);
      if (!seen.has(d)) {
        const found = visit(d);
        if (found) return found;
      }
    }
    path.pop();
    onPath.delete(i);
    return undefined;
  };
  return visit(start.index) ?? [start.index];
}
