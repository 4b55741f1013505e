/**
 * The seeds' status layout, kept readable by their scripts. Their `status-cli.js` keeps `tasks` as an
 * array of `{ id, description, phase, status, … }` plus a derived `summary` (counts), `currentPhase`,
 * `runs` and other fields of its own. A file in that layout stays in it: we read it, and we write it
 * back as an array with `schemaVersion: 1`, our fields added to each element, every field we do not
 * use kept as it was, and `summary` recomputed on every write, so that old scripts that read the file
 * still see the tasks and the counts (docs/migration.md).
 *
 * Only the file's layout lives here; status.ts owns locking, transitions and validation.
 */
import type * as z from 'zod';

/** What a status file in the array layout keeps besides our own data; absent for our record layout. */
export interface LegacyLayout {
  /** Top-level fields we do not own (summary, runs, currentPhase, planPath, …), in their order. */
  fields: Record<string, unknown>;
  /** Per task, the element's fields we do not own (description, phase, started_at, …). */
  taskFields: Record<string, Record<string, unknown>>;
  /** The file wrote `in-progress` (hyphen): written back the same way for the old scripts' comparisons. */
  hyphenStatus?: boolean;
  /** Read from a file without schemaVersion (never written by us): the store backs it up before the first write. */
  fromSeeds?: boolean;
}

/** Top-level keys we write ourselves; every other key of an array-layout file is kept. */
const OWN_TOP = new Set(['schemaVersion', 'plan', 'version', 'updatedAt', 'tasks']);
/** Element keys we write ourselves (besides the task record's own keys). */
const OWN_TASK = new Set(['id']);
/** The old tool's names for our fields: rewritten with the current value when the element has them. */
const ALIASES: Record<string, string> = { started_at: 'startedAt', completed_at: 'completedAt', error: 'lastError' };

type RecordSchema = z.ZodType<{ status: string } & Record<string, unknown>> & { shape: Record<string, unknown> };

export interface ParsedArrayLayout {
  plan: string;
  version: number;
  updatedAt: string;
  tasks: Record<string, unknown>;
  legacy: LegacyLayout;
}

/**
 * Reads an array-layout file (the seeds' own, or ours written in it) into our record layout; throws a
 * message naming the first bad element. `fromSeeds`: the file has no schemaVersion.
 */
export function parseArrayLayout(json: Record<string, unknown>, recordSchema: RecordSchema, fromSeeds: boolean): ParsedArrayLayout {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) if (!OWN_TOP.has(k)) fields[k] = v;
  const taskFields: Record<string, Record<string, unknown>> = {};
  const tasks: Record<string, unknown> = {};
  let hyphenStatus = false;
  const list = json.tasks as unknown[];
  list.forEach((raw, i) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`tasks.${i}: not an object`);
    const el = raw as Record<string, unknown>;
    if (typeof el.id !== 'string' && typeof el.id !== 'number') throw new Error(`tasks.${i}.id: missing`);
    const id = String(el.id);
    let status = el.status;
    if (typeof status === 'string' && status.includes('-')) {
      hyphenStatus = true;
      status = status.replace('-', '_');
    }
    const text = (k: string): string | undefined => (typeof el[k] === 'string' && el[k] !== '' ? (el[k] as string) : undefined);
    const startedAt = text('startedAt') ?? text('started_at');
    const completedAt = text('completedAt') ?? text('completed_at');
    const lastError = text('lastError') ?? text('error');
    const candidate: Record<string, unknown> = {
      status,
      ...(startedAt ? { startedAt } : {}),
      ...(completedAt ? { completedAt } : {}),
      updatedAt: text('updatedAt') ?? completedAt ?? startedAt ?? '',
      attempts: typeof el.attempts === 'number' ? el.attempts : startedAt ? 1 : 0,
      ...(lastError ? { lastError } : {}),
      history: Array.isArray(el.history) ? el.history : [],
      ...(el.holder && typeof el.holder === 'object' ? { holder: el.holder } : {}),
      ...(el.run && typeof el.run === 'object' ? { run: el.run } : {}),
    };
    const parsed = recordSchema.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`tasks.${i}${issue && issue.path.length > 0 ? `.${issue.path.map(String).join('.')}` : ''}: ${issue?.message ?? 'invalid'}`);
    }
    tasks[id] = parsed.data;
    const own = Object.keys(recordSchema.shape);
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(el)) if (!OWN_TASK.has(k) && !own.includes(k)) extra[k] = v;
    taskFields[id] = extra;
  });
  const plan = typeof json.plan === 'string' ? json.plan : typeof json.planPath === 'string' ? json.planPath : '';
  return {
    plan,
    version: typeof json.version === 'number' && Number.isInteger(json.version) && json.version >= 0 ? json.version : 0,
    updatedAt: typeof json.updatedAt === 'string' ? json.updatedAt : '',
    tasks,
    legacy: { fields, taskFields, ...(hyphenStatus ? { hyphenStatus } : {}), ...(fromSeeds ? { fromSeeds } : {}) },
  };
}

export interface StatusCounts {
  total: number;
  completed: number;
  in_progress: number;
  pending: number;
  failed: number;
  skipped: number;
}

/** The counts the seeds' `summary` holds, over the tasks the file lists. */
export function countStatuses(tasks: Record<string, { status: string }>): StatusCounts {
  const c: StatusCounts = { total: 0, completed: 0, in_progress: 0, pending: 0, failed: 0, skipped: 0 };
  for (const t of Object.values(tasks)) {
    c.total++;
    const key = t.status as keyof StatusCounts;
    if (key in c && key !== 'total') c[key]++;
  }
  return c;
}

/**
 * The file's content in the array layout: our header, the kept fields (with `summary` recomputed and
 * `lastUpdated` refreshed when the file has them), and one element per task.
 */
export function serializeArrayLayout(
  status: { schemaVersion: number; plan: string; version: number; updatedAt: string; tasks: Record<string, Record<string, unknown> & { status: string }> },
  legacy: LegacyLayout,
): Record<string, unknown> {
  const counts = countStatuses(status.tasks);
  const fields: Record<string, unknown> = { ...legacy.fields };
  const oldSummary = fields.summary && typeof fields.summary === 'object' && !Array.isArray(fields.summary) ? (fields.summary as Record<string, unknown>) : {};
  const percent = counts.total > 0 ? Math.round(((counts.completed + counts.skipped) / counts.total) * 100) : 0;
  fields.summary = {
    ...oldSummary,
    ...counts,
    // Written under the old name only when the old file had it: the old scripts' own derived field.
    ...('percentComplete' in oldSummary ? { percentComplete: percent } : {}),
  };
  if (typeof fields.lastUpdated === 'string') fields.lastUpdated = status.updatedAt;
  const tasks = Object.entries(status.tasks).map(([id, record]) => {
    const extra = { ...(legacy.taskFields[id] ?? {}) };
    for (const [alias, ours] of Object.entries(ALIASES)) if (alias in extra) extra[alias] = record[ours] ?? null;
    const written = legacy.hyphenStatus ? record.status.replace('_', '-') : record.status;
    return { id, ...extra, ...record, status: written };
  });
  return { schemaVersion: status.schemaVersion, plan: status.plan, version: status.version, updatedAt: status.updatedAt, ...fields, tasks };
}
