/**
 * A plan opened for work: its text, analysis, repository root and status store.
 * The one place that wires these together for planctl, the extension and the orchestrator.
 */
import path from 'node:path';
import { analyzePlan, type Analysis } from './analyzer.js';
import { analyzeOffThread } from './offThread.js';
import { buildGraph } from './graph.js';
import { readPhaseOverlap } from './workflowConfig.js';
import { readPlanFile, relativeToRoot, statusFileFor } from './planFile.js';
import { findRepoRoot, StatusStore, type StatusFile } from './status.js';
import type { StatusLookup, TaskStatus } from './schedule.js';
import { PlanError } from './source.js';

export interface PlanSession {
  path: string;
  root: string;
  /** The plan path relative to the root, with `/`. */
  relPath: string;
  text: string;
  analysis: Analysis;
  statusPath: string;
  store: StatusStore;
  status: StatusFile;
  statusOf: StatusLookup;
}

export function statusLookup(status: StatusFile): StatusLookup {
  return (id) => status.tasks[id]?.status as TaskStatus | undefined;
}

/**
 * Re-analyses a plan only when its text changed, for long-lived processes (the API server) that open
 * the same plans again and again. The analyses it returns are shared: callers must not change them.
 */
export class AnalysisCache {
  private readonly entries = new Map<string, { text: string; analysis: Analysis }>();

  analyze(file: string, text: string): Analysis {
    const hit = this.entries.get(file);
    if (hit?.text === text) return hit.analysis;
    const analysis = analyzePlan(text);
    this.entries.set(file, { text, analysis });
    return analysis;
  }

  /**
   * Takes an analysis made elsewhere (the extension analyses every plan it shows) for this text, so
   * that whoever opens the same file through this cache does not analyse it again.
   */
  remember(file: string, text: string, analysis: Analysis): void {
    this.entries.set(file, { text, analysis });
  }

  /** The same, off the main thread (offThread.ts): a server keeps answering while a big plan is read. */
  async analyzeAsync(file: string, text: string): Promise<Analysis> {
    const hit = this.entries.get(file);
    if (hit?.text === text) return hit.analysis;
    const analysis = await analyzeOffThread(text);
    this.entries.set(file, { text, analysis });
    return analysis;
  }
}

/** Analyses shared by a cache stay unchanged: the graph with an overlap is a copy, kept per analysis. */
const overlapGraphs = new WeakMap<Analysis, Map<number, Analysis>>();

/**
 * The analysis with the repository's `plans.phase_overlap` applied to its graph (what next, simulate,
 * the orchestrator and the API schedule with). The diagnostics stay those of the plan as written.
 */
export function withPhaseOverlap(analysis: Analysis, overlap: number | undefined): Analysis {
  if (overlap === undefined) return analysis;
  let byOverlap = overlapGraphs.get(analysis);
  if (!byOverlap) overlapGraphs.set(analysis, (byOverlap = new Map()));
  let result = byOverlap.get(overlap);
  if (!result) byOverlap.set(overlap, (result = { ...analysis, graph: buildGraph(analysis.plan, { phaseOverlap: overlap }) }));
  return result;
}

export async function openPlan(planPath: string, root?: string, cache?: AnalysisCache): Promise<PlanSession> {
  const abs = path.resolve(planPath);
  const text = await readPlanFile(abs);
  const repoRoot = root ?? findRepoRoot(path.dirname(abs));
  // Off the main thread: a CLI stays responsive to Ctrl-C and a server to other requests (offThread.ts).
  const analysis = withPhaseOverlap(cache ? await cache.analyzeAsync(abs, text) : await analyzeOffThread(text), await readPhaseOverlap(repoRoot));
  const statusPath = statusFileFor(abs, analysis.plan, repoRoot);
  const relPath = relativeToRoot(repoRoot, abs);
  const store = new StatusStore(statusPath, relPath);
  const status = await store.read();
  return { path: abs, root: repoRoot, relPath, text, analysis, statusPath, store, status, statusOf: statusLookup(status) };
}

export function requireTask(session: PlanSession, id: string): void {
  requireTaskIn(session.analysis, session.relPath, id);
}

/** The same for a plan held in memory (`relPath` names it in the message). */
export function requireTaskIn(analysis: Analysis, relPath: string, id: string): void {
  if (!analysis.graph.indexById.has(id)) {
    throw new PlanError('unknown-task', `unknown task ID "${id}" in ${relPath}; "planctl show --plan ${relPath}" lists the tasks`);
  }
}
