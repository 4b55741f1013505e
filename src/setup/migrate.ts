/**
 * `planctl migrate [--check]`: moves a repository from the seeds' scripts (status-cli.js, the single
 * `.claude/current-plan.txt`, the 80% phase rule) to planctl without breaking those scripts:
 *
 * - each of the seeds' status files (no schemaVersion, `tasks` as an array) is backed up to
 *   `status.json.bak` (a timestamped name when that exists) and rewritten in the same array layout with
 *   `schemaVersion: 1`: every field planctl does not use stays, `summary` is kept current on each write
 *   (legacyStatus.ts), so the old scripts still read tasks and counts;
 * - the two pointers (`.claude-context/current-plan.txt`, `.claude/current-plan.txt`) are made to agree
 *   (one missing: copied from the other; different: the newer one wins);
 * - `git-workflow.json` gets `plans.phase_overlap: 0.8`, the seeds' rule, unless it sets one already;
 * - every plan under docs/plans gets its `findings/` folder.
 *
 * A second run changes nothing. `--check` reports what a run would change and changes nothing.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { analyzePlan } from '../core/analyzer.js';
import { POINTER_FILES, readPlanFile, relativeToRoot, statusFileFor } from '../core/planFile.js';
import { PlanError } from '../core/source.js';
import { StatusStore } from '../core/status.js';
import { WORKFLOW_CONFIG_FILE } from '../core/workflowConfig.js';

/** The seeds' status-cli.js let a phase start once 80% of the phase before it was done. */
export const SEEDS_PHASE_OVERLAP = 0.8;

export interface MigrationChange {
  /** Relative to the repository root, with `/`. */
  file: string;
  /** What was (or, with --check, would be) done, for people. */
  action: string;
}

export interface MigrationReport {
  root: string;
  check: boolean;
  changes: MigrationChange[];
}

async function listPlans(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.md')) out.push(p);
    }
  };
  await walk(path.join(root, 'docs', 'plans'));
  return out.sort();
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const json = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The seeds' own file: no schemaVersion, tasks as an array. */
function isSeedsStatus(json: Record<string, unknown> | undefined): boolean {
  return json !== undefined && json.schemaVersion === undefined && Array.isArray(json.tasks);
}

export async function migrateRepository(root: string, opts: { check?: boolean } = {}): Promise<MigrationReport> {
  const check = opts.check === true;
  const changes: MigrationChange[] = [];
  const rel = (file: string): string => relativeToRoot(root, file);
  const plans = await listPlans(root);

  // Which plan owns which status file: the store writes the plan's path into the file.
  const statusOwners = new Map<string, string>();
  for (const plan of plans) {
    const text = await readPlanFile(plan).catch(() => undefined);
    const statusFile = statusFileFor(plan, text === undefined ? undefined : analyzePlan(text).plan, root);
    statusOwners.set(statusFile, plan);
    const findings = path.join(path.dirname(statusFile), 'findings');
    if (!existsSync(findings)) {
      if (!check) await fs.mkdir(findings, { recursive: true });
      changes.push({ file: `${rel(findings)}/`, action: check ? 'would create the findings folder' : 'created the findings folder' });
    }
  }
  const outputs = path.join(root, 'docs', 'plan-outputs');
  for (const e of await fs.readdir(outputs, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) {
      const f = path.join(outputs, e.name, 'status.json');
      if (!statusOwners.has(f) && existsSync(f)) statusOwners.set(f, '');
    }
  }

  for (const [statusFile, plan] of [...statusOwners].sort(([a], [b]) => a.localeCompare(b))) {
    const json = await readJson(statusFile);
    if (!isSeedsStatus(json)) continue;
    const named = typeof json!.planPath === 'string' ? json!.planPath : typeof json!.plan === 'string' ? json!.plan : undefined;
    const planRel = plan ? rel(plan) : (named ?? `docs/plans/${path.basename(path.dirname(statusFile))}.md`);
    if (check) {
      changes.push({ file: rel(statusFile), action: 'would back up the seeds\' status file and rewrite it with schemaVersion 1 (same array layout, fields kept, summary kept current)' });
      continue;
    }
    // The store backs the seeds' file up before its first write and keeps their layout (status.ts).
    const before = new Set(await fs.readdir(path.dirname(statusFile)));
    await new StatusStore(statusFile, planRel).update(() => undefined);
    const backup = (await fs.readdir(path.dirname(statusFile))).find((n) => !before.has(n) && n.endsWith('.bak'));
    changes.push({ file: rel(statusFile), action: `converted to schemaVersion 1 in the seeds' array layout (backup: ${backup ?? 'none'})` });
  }

  await migratePointers(root, check, changes);
  await migratePhaseOverlap(root, check, changes);
  return { root, check, changes };
}

/** Makes both pointers name the same plan: one missing gets the other's, two different take the newer. */
async function migratePointers(root: string, check: boolean, changes: MigrationChange[]): Promise<void> {
  const read = async (p: string) => {
    const file = path.join(root, p);
    const value = (await fs.readFile(file, 'utf8').catch(() => '')).trim();
    const mtime = value ? (await fs.stat(file)).mtimeMs : 0;
    return { p, file, value, mtime };
  };
  const [ours, seeds] = await Promise.all(POINTER_FILES.map(read));
  if (!ours!.value && !seeds!.value) return;
  if (ours!.value === seeds!.value) return;
  const [from, to] = !ours!.value ? [seeds!, ours!] : !seeds!.value ? [ours!, seeds!] : ours!.mtime >= seeds!.mtime ? [ours!, seeds!] : [seeds!, ours!];
  if (!check) {
    await fs.mkdir(path.dirname(to.file), { recursive: true });
    await fs.writeFile(to.file, `${from.value}\n`, 'utf8');
  }
  changes.push({ file: to.p, action: `${check ? 'would set' : 'set'} to ${from.value} (as ${from.p}${to.value ? `, the newer of the two; it said ${to.value}` : ''})` });
}

/** Turns the seeds' 80% rule on for the repository unless git-workflow.json chose an overlap already. */
async function migratePhaseOverlap(root: string, check: boolean, changes: MigrationChange[]): Promise<void> {
  const file = path.join(root, WORKFLOW_CONFIG_FILE);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  let config: Record<string, unknown> = {};
  if (text !== undefined) {
    try {
      config = JSON.parse(text.replace(/^\uFEFF/, '')) as Record<string, unknown>;
    } catch (e) {
      throw new PlanError('invalid-argument', `${WORKFLOW_CONFIG_FILE}: not valid JSON (${(e as Error).message}); fix it and run planctl migrate again`, file);
    }
  }
  const plans = config.plans;
  if (plans !== undefined && (typeof plans !== 'object' || plans === null || Array.isArray(plans))) {
    throw new PlanError('invalid-argument', `${WORKFLOW_CONFIG_FILE}: plans must be an object`, file);
  }
  if (plans && 'phase_overlap' in plans) return;
  if (!check) {
    const updated = { ...config, plans: { ...(plans ?? {}), phase_overlap: SEEDS_PHASE_OVERLAP } };
    await writeFileAtomic(file, `${JSON.stringify(updated, null, 2)}\n`);
  }
  changes.push({
    file: WORKFLOW_CONFIG_FILE,
    action: `${check ? 'would set' : 'set'} plans.phase_overlap to ${SEEDS_PHASE_OVERLAP} (a phase starts once 80% of the phase before it is done, as status-cli.js did)${text === undefined ? (check ? '; would create the file' : '; created the file') : ''}`,
  });
}

export function formatMigrationReport(report: MigrationReport): string[] {
  if (report.changes.length === 0) return ['nothing to migrate: this repository is already set up for planctl'];
  return report.changes.map((c) => `${c.file}: ${c.action}`);
}
