/**
 * Conflict prediction between active plan branches, and between each of them and main, before
 * anyone merges (issue #4).
 *
 * Real conflicts come from `git merge-tree --write-tree` (git ≥ 2.38): the same merge machinery as
 * `git merge`, run without touching any working tree, index or ref. Two branches editing different
 * lines of one file merge cleanly, so "both changed the file" is reported separately as
 * `overlapping`, for information. merge-tree does write the merged blobs and trees into the object
 * store (unreferenced; `git gc` removes them), the price of not needing a scratch worktree.
 *
 * Every ref is validated with assertSafeName and resolved to a commit sha once; git only ever sees
 * those shas afterwards, so a name can neither be read as an option nor change under us mid-run.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parsePlan } from '../core/analyzer.js';
import { recommendMergeOrder, type MergeStep } from '../core/mergeOrder.js';
import { planName, POINTER_FILES, readPlanFile } from '../core/planFile.js';
import { GitError, isGitError } from './errors.js';
import type { GitService } from './gitService.js';
import { assertSafeName } from './slug.js';
import { BRANCH_PREFIX } from './worktreeNames.js';

export interface BranchConflictInfo {
  branch: string;
  sha: string;
  /** Where the branch left main; its changes are counted from here. */
  mergeBase: string;
  /** The plan file the branch works on, relative to its worktree or repository, when one was found. */
  plan?: string;
  /** The plan's name (file name without `.md`), used to match `## Dependencies` entries. */
  planName?: string;
  /** Branches of this report whose plans this branch's plan depends on. */
  dependsOn: string[];
  /** Plan dependencies that match no branch of this report (already merged, or not started). */
  externalDependencies: string[];
  /** Commits on the branch that main does not have. */
  ahead: number;
  /** Files changed since the merge base (renames count as delete + add, so both paths appear). */
  changedFiles: string[];
}

export interface ConflictPairReport {
  a: string;
  /** Another branch, or the main branch's name for the branch-vs-main pairs. */
  b: string;
  /** Files git cannot merge on its own (content, modify/delete, rename, add/add, …). */
  conflicts: string[];
  /** Each conflicted file's kinds as git names them (`contents`, `modify/delete`, …). */
  conflictTypes: Record<string, string[]>;
  /** Files both sides changed since their merge base with main, conflicting or not. */
  overlapping: string[];
  clean: boolean;
}

export interface ConflictReport {
  main: string;
  mainSha: string;
  branches: BranchConflictInfo[];
  /** Every pair of branches, then every branch against main (b = main). */
  pairs: ConflictPairReport[];
  order: MergeStep[];
  /** `plan/*` branches left out because main already contains them (only when discovering). */
  skipped: Array<{ branch: string; reason: string }>;
  elapsedMs: number;
}

export interface PredictOptions {
  /** Default: every local `plan/*` branch with commits main does not have. */
  branches?: string[];
  /** Default: GitService.mainBranch(). */
  main?: string;
  /** git processes at once, merge-trees included (1–8, default 4). */
  concurrency?: number;
}

export async function predictConflicts(git: GitService, opts: PredictOptions = {}): Promise<ConflictReport> {
  const started = performance.now();
  // One queue for every git process of the report: merge-trees, diffs and plan look-ups overlap
  // instead of running in phases, and the machine never sees more than `limit` of them at once.
  const read = limiter(Math.min(8, Math.max(1, Math.floor(opts.concurrency ?? 4))), (args: string[]) => git.read(args));

  const main = opts.main ?? (await git.mainBranch());
  assertSafeName(main, 'main branch name');
  const mainSha = await resolveCommit(read, main, 'main branch');

  const skipped: ConflictReport['skipped'] = [];
  let selected: Array<{ branch: string; sha: string }>;
  if (opts.branches !== undefined) {
    const names = [...new Set(opts.branches)];
    for (const b of names) assertSafeName(b);
    if (names.includes(main)) {
      throw new GitError('invalid-name', `"${main}" is the main branch; the other branches are compared with it`);
    }
    const shas = await Promise.all(names.map((b) => resolveCommit(read, b, 'branch')));
    selected = names.map((branch, i) => ({ branch, sha: shas[i]! }));
  } else {
    const [all, merged] = await Promise.all([planBranches(read), planBranches(read, mainSha)]);
    const contained = new Set(merged.map((b) => b.branch));
    selected = [];
    for (const b of all) {
      if (b.branch === main) continue;
      if (contained.has(b.branch)) skipped.push({ branch: b.branch, reason: `${main} already contains it` });
      else selected.push(b);
    }
  }

  // What main changed since a branch left it; branches cut from the same commit share the diff.
  const mainChanges = new Map<string, Promise<string[]>>();
  const mainChangedSince = (base: string): Promise<string[]> => {
    let p = mainChanges.get(base);
    if (!p) {
      p = changedBetween(read, base, mainSha);
      mainChanges.set(base, p);
    }
    return p;
  };

  const facts = selected.map(async ({ branch, sha }) => {
    const { ahead, mergeBase } = await aheadOf(read, mainSha, sha, branch, main);
    const [changedFiles, mainFiles] = await Promise.all([changedBetween(read, mergeBase, sha), mainChangedSince(mergeBase)]);
    return { mergeBase, ahead, changedFiles, mainFiles };
  });

  // Plans are context for the order, not the point of the report: without the worktree list the
  // branch-name mapping still works.
  const worktrees = git.listWorktrees().then(
    (list) => {
      const byBranch = new Map<string, string>();
      for (const w of list) if (w.branch && !w.bare && !w.prunable) byBranch.set(w.branch, w.path);
      return byBranch;
    },
    () => new Map<string, string>(),
  );
  const plans = selected.map(async ({ branch, sha }) => findPlan(read, branch, sha, (await worktrees).get(branch)));

  // merge-tree needs nothing but the two commits, so the merges start right away.
  const jobs: Array<{ a: number; b: number | 'main' }> = [];
  for (let i = 0; i < selected.length; i++) for (let j = i + 1; j < selected.length; j++) jobs.push({ a: i, b: j });
  for (let i = 0; i < selected.length; i++) jobs.push({ a: i, b: 'main' });
  // main first for the branch-vs-main pairs: the merge then reads as "merge the branch into main".
  const merges = jobs.map(({ a, b }) => (b === 'main' ? mergeTree(read, mainSha, selected[a]!.sha) : mergeTree(read, selected[a]!.sha, selected[b]!.sha)));

  const [branchFacts, planFacts, mergeResults] = await Promise.all([Promise.all(facts), Promise.all(plans), Promise.all(merges)]);

  const pairs: ConflictPairReport[] = jobs.map(({ a, b }, k) => {
    const merge = mergeResults[k]!;
    const left = branchFacts[a]!;
    const rightFiles = b === 'main' ? left.mainFiles : branchFacts[b]!.changedFiles;
    return {
      a: selected[a]!.branch,
      b: b === 'main' ? main : selected[b]!.branch,
      conflicts: merge.conflicts,
      conflictTypes: merge.types,
      overlapping: intersect(left.changedFiles, rightFiles),
      clean: merge.conflicts.length === 0,
    };
  });

  const branches: BranchConflictInfo[] = selected.map(({ branch, sha }, i) => {
    const f = branchFacts[i]!;
    const p = planFacts[i]!;
    return {
      branch,
      sha,
      mergeBase: f.mergeBase,
      ...(p.plan !== undefined ? { plan: p.plan } : {}),
      ...(p.planName !== undefined ? { planName: p.planName } : {}),
      dependsOn: [],
      externalDependencies: [],
      ahead: f.ahead,
      changedFiles: f.changedFiles,
    };
  });
  linkDependencies(branches, planFacts);

  const mainConflicts = new Map(pairs.filter((p) => p.b === main).map((p) => [p.a, p.conflicts.length]));
  const order = recommendMergeOrder({
    main,
    branches: branches.map((b) => ({
      branch: b.branch,
      changedFiles: b.changedFiles.length,
      dependsOn: b.dependsOn,
      mainConflicts: mainConflicts.get(b.branch) ?? 0,
    })),
    conflicts: pairs.filter((p) => p.b !== main).map((p) => ({ a: p.a, b: p.b, files: p.conflicts.length })),
  });

  return { main, mainSha, branches, pairs, order, skipped, elapsedMs: Math.round(performance.now() - started) };
}

// ---- git ------------------------------------------------------------------------------------

type Read = (args: string[]) => Promise<string>;

/** Local `plan/*` branches with their commits, sorted; with `mergedInto`, only those it contains. */
async function planBranches(read: Read, mergedInto?: string): Promise<Array<{ branch: string; sha: string }>> {
  const args = ['for-each-ref', '--format=%(objectname) %(refname)'];
  if (mergedInto) args.push(`--merged=${mergedInto}`);
  args.push(`refs/heads/${BRANCH_PREFIX}`);
  const out: Array<{ branch: string; sha: string }> = [];
  for (const line of (await read(args)).split('\n')) {
    const m = /^([0-9a-f]+) refs\/heads\/(.+)$/.exec(line.trim());
    if (m) out.push({ sha: m[1]!, branch: m[2]! });
  }
  return out.sort((x, y) => (x.branch < y.branch ? -1 : x.branch > y.branch ? 1 : 0));
}

/**
 * The commit a (validated) name points to. A local branch wins over a tag or remote-tracking ref of
 * the same name; other refs and shas are accepted too, so `origin/plan/x` can be checked before it
 * is pulled.
 */
async function resolveCommit(read: Read, name: string, what: string): Promise<string> {
  assertSafeName(name, `${what} name`);
  for (const candidate of [`refs/heads/${name}`, name]) {
    try {
      return (await read(['rev-parse', '--verify', '--quiet', `${candidate}^{commit}`])).trim();
    } catch (err) {
      // --quiet: "no such ref" is exit code 1 without output; anything else is a real failure.
      if (!(isGitError(err) && err.exitCode === 1)) throw err;
    }
  }
  throw new GitError('unknown-ref', `unknown ${what} "${name}"`);
}

/**
 * Commits the branch has that main lacks, and where it left main, from one `rev-list --boundary`
 * instead of `rev-list --count` + `merge-base` (process start-up is most of the cost here). When
 * the range has a single boundary commit, every path from the branch back into main's history
 * passes through it, so it is the merge base; otherwise (main merged into the branch, or several
 * roots) `git merge-base` decides.
 */
async function aheadOf(read: Read, mainSha: string, sha: string, branch: string, main: string): Promise<{ ahead: number; mergeBase: string }> {
  let ahead = 0;
  const boundary: string[] = [];
  for (const line of (await read(['rev-list', '--boundary', `${mainSha}..${sha}`])).split('\n')) {
    if (line.startsWith('-')) boundary.push(line.slice(1).trim());
    else if (line.trim()) ahead++;
  }
  if (ahead === 0) return { ahead, mergeBase: sha };
  if (boundary.length === 1) return { ahead, mergeBase: boundary[0]! };
  return { ahead, mergeBase: await mergeBaseOf(read, mainSha, sha, branch, main) };
}

async function mergeBaseOf(read: Read, mainSha: string, sha: string, branch: string, main: string): Promise<string> {
  try {
    return (await read(['merge-base', mainSha, sha])).trim();
  } catch (err) {
    if (isGitError(err) && err.exitCode === 1) {
      throw new GitError('unknown-ref', `branch "${branch}" shares no history with ${main}`);
    }
    throw err;
  }
}

/** Paths that differ between two commits; rename detection off so a moved file counts at both ends. */
async function changedBetween(read: Read, from: string, to: string): Promise<string[]> {
  if (from === to) return [];
  const out = await read(['diff', '--name-only', '--no-renames', '-z', from, to]);
  return out.split('\0').filter((p) => p.length > 0);
}

interface MergeTreeResult {
  conflicts: string[];
  types: Record<string, string[]>;
}

/**
 * One `git merge-tree --write-tree`. Exit 0 is a clean merge, 1 a merge with conflicts (stdout
 * still has the full result), anything else a failure.
 */
async function mergeTree(read: Read, ours: string, theirs: string): Promise<MergeTreeResult> {
  let output: string;
  try {
    output = await read(['merge-tree', '--write-tree', '--name-only', '-z', ours, theirs]);
  } catch (err) {
    if (!(isGitError(err) && err.exitCode === 1 && err.gitOutput !== undefined)) throw err;
    output = err.gitOutput;
  }
  return parseMergeTree(output);
}

/**
 * Parses `merge-tree --write-tree --name-only -z` output:
 *   <tree>NUL <path>NUL … NUL                            (conflicted files; ends with an empty entry)
 *   then per message: <n>NUL <path>NUL ×n <type>NUL <text>NUL
 * On failure the GitService hands us stderr + stdout; stderr never contains NUL, so everything up
 * to the first NUL is (warnings and) the tree id.
 */
export function parseMergeTree(output: string): MergeTreeResult {
  const fields = output.split('\0');
  const head = fields[0] ?? '';
  const tree = head.slice(head.lastIndexOf('\n') + 1);
  if (!/^[0-9a-f]{40,64}$/.test(tree)) {
    throw new GitError('git-failed', `unexpected output from git merge-tree: ${JSON.stringify(output.slice(0, 120))}`, { gitOutput: output });
  }
  const conflicts: string[] = [];
  let i = 1;
  for (; i < fields.length && fields[i] !== ''; i++) conflicts.push(fields[i]!);
  i++;
  const types: Record<string, string[]> = {};
  const conflicted = new Set(conflicts);
  while (i < fields.length) {
    const n = Number(fields[i]);
    if (!Number.isInteger(n) || n < 0 || i + n + 2 >= fields.length) break;
    const paths = fields.slice(i + 1, i + 1 + n);
    const type = fields[i + 1 + n]!;
    i += n + 3;
    const kind = /^CONFLICT \((.+)\)$/.exec(type)?.[1];
    if (!kind) continue;
    for (const p of paths) {
      if (!conflicted.has(p)) continue;
      const list = (types[p] ??= []);
      if (!list.includes(kind)) list.push(kind);
    }
  }
  return { conflicts: conflicts.sort(), types };
}

// ---- plans and their dependencies ----------------------------------------------------------

interface PlanFacts {
  plan?: string;
  planName?: string;
  /** Raw `## Dependencies` entries (file names). */
  requires?: string[];
}

/**
 * The plan a branch works on: the plan pointer of the worktree that has the branch checked out
 * (it may hold edits not committed yet), else `<name>.md` in the branch's own tree for a branch
 * `plan/<name>`. Unreadable or missing plans are not errors: the report just lacks dependencies.
 */
async function findPlan(read: Read, branch: string, sha: string, worktree: string | undefined): Promise<PlanFacts> {
  if (worktree) {
    for (const pointer of POINTER_FILES) {
      let target: string;
      try {
        target = (await fs.readFile(path.join(worktree, pointer), 'utf8')).trim();
      } catch {
        continue;
      }
      if (!target) continue;
      const abs = path.resolve(worktree, target);
      const rel = path.relative(worktree, abs).split(path.sep).join('/');
      const facts: PlanFacts = { plan: rel.startsWith('../') || path.isAbsolute(rel) ? abs : rel, planName: planName(abs) };
      try {
        facts.requires = dependencyNames(await readPlanFile(abs));
      } catch {
        // a pointer to a missing plan: still a name to match dependencies against
      }
      return facts;
    }
  }
  if (!branch.startsWith(BRANCH_PREFIX)) return {};
  const name = branch.slice(BRANCH_PREFIX.length).split('/').pop()!;
  // The usual place first: one process, where listing the whole tree would be one more.
  const usual = `docs/plans/${name}.md`;
  const text = await blob(read, sha, usual);
  if (text !== undefined) return { plan: usual, planName: name, requires: dependencyNames(text) };
  let file: string | undefined;
  try {
    file = await findInTree(read, sha, `${name}.md`);
  } catch (err) {
    if (!isGitError(err)) throw err;
  }
  if (!file) return { planName: name };
  const found = await blob(read, sha, file);
  return { plan: file, planName: name, ...(found !== undefined ? { requires: dependencyNames(found) } : {}) };
}

/** A file's text at a commit; undefined when it is not there (or not readable as text). */
async function blob(read: Read, sha: string, file: string): Promise<string | undefined> {
  try {
    return await read(['cat-file', 'blob', `${sha}:${file}`]);
  } catch (err) {
    if (isGitError(err)) return undefined;
    throw err;
  }
}

/** The shortest path in the commit's tree whose file name is `fileName`. */
async function findInTree(read: Read, sha: string, fileName: string): Promise<string | undefined> {
  const found = (await read(['ls-tree', '-r', '--name-only', '-z', sha])).split('\0').filter((p) => path.posix.basename(p) === fileName);
  return found.sort((x, y) => x.length - y.length || (x < y ? -1 : 1))[0];
}

function dependencyNames(text: string): string[] {
  return parsePlan(text.replace(/^\uFEFF/, '')).planDependencies.map((d) => planName(d.name));
}

function linkDependencies(branches: BranchConflictInfo[], plans: PlanFacts[]): void {
  const byPlan = new Map<string, string[]>();
  for (const b of branches) {
    if (!b.planName) continue;
    const list = byPlan.get(b.planName);
    if (list) list.push(b.branch);
    else byPlan.set(b.planName, [b.branch]);
  }
  branches.forEach((b, i) => {
    const deps = new Set<string>();
    const external = new Set<string>();
    for (const name of plans[i]!.requires ?? []) {
      const targets = (byPlan.get(name) ?? []).filter((t) => t !== b.branch);
      if (targets.length === 0) external.add(name);
      for (const t of targets) deps.add(t);
    }
    b.dependsOn = [...deps];
    b.externalDependencies = [...external];
  });
}

// ---- helpers --------------------------------------------------------------------------------

function intersect(a: readonly string[], b: readonly string[]): string[] {
  const set = new Set(b);
  return a.filter((x) => set.has(x)).sort();
}

/** `fn` with at most `limit` calls in flight; the rest wait in call order. */
function limiter<A, R>(limit: number, fn: (arg: A) => Promise<R>): (arg: A) => Promise<R> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (arg: A): Promise<R> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else active++;
    try {
      return await fn(arg);
    } finally {
      // Hand the slot straight to the next caller, so `active` never over-counts.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
