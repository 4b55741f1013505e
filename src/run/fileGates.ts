/**
 * File gates: VERIFY items that name a file a phase must produce ("Parallel plan feasibility documented
 * in `findings/2-parallel-plans.md`", seed 001). After the phase's tasks they are checked, never run:
 * each named file must exist and be non-empty. `findings/…` paths are relative to the plan's output
 * folder (where the prompt tells agents to write findings), any other path to the repository.
 *
 * A VERIFY item counts as a file gate when it has no `$ ` command and names a file (not a glob) that is
 * under `findings/`, or that the item says was made (documented, written, created …). Anything else
 * ("Conflict matrix created showing shared resources") stays "not checked": nothing to look at.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Plan, Task } from '../core/model.js';

export interface FileGate {
  /** The VERIFY item (`V2.1`, or its own ID). */
  taskId: string;
  /** The files as written in the plan. */
  files: string[];
  line: number;
}

/** Words that say the item's file is an output of the phase, not merely mentioned. */
const PRODUCED = /\b(?:documented|written|created|recorded|saved|produced|generated|captured|summari[sz]ed|described|listed|exists?|added|in place)\b/i;

/** The files a VERIFY item requires to exist, or undefined when it is not a file gate. */
export function fileGateOf(task: Task): string[] | undefined {
  if (task.kind !== 'verify' || task.command) return undefined;
  const files = task.files.filter((f) => f.kind === 'path' && !f.isGlob && /\.[A-Za-z0-9]+$/.test(f.path)).map((f) => f.path);
  if (files.length === 0) return undefined;
  const produced = PRODUCED.test(task.title);
  const chosen = files.filter((f) => isFindingsPath(f) || produced);
  return chosen.length > 0 ? [...new Set(chosen)] : undefined;
}

export function fileGates(plan: Plan): FileGate[] {
  return plan.tasks.flatMap((t) => {
    const files = fileGateOf(t);
    return files ? [{ taskId: t.id, files, line: t.range.start.line }] : [];
  });
}

function isFindingsPath(p: string): boolean {
  return /^(?:\.\/)?findings\//.test(p);
}

export interface GatePlace {
  /** The checkout the plan runs in. */
  root: string;
  /** The plan's output folder (where status.json lives). */
  outputDir: string;
}

/** Where a gate's file is looked for; undefined when the path leaves the checkout (never looked at). */
export function resolveGateFile(file: string, place: GatePlace): string | undefined {
  const base = isFindingsPath(file) ? place.outputDir : place.root;
  const resolved = path.resolve(base, file);
  const rel = path.relative(place.root, resolved);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  return resolved;
}

export type FileGateResult = { ok: true; note: string } | { ok: false; reason: string };

/** Checks every file of a gate: present, a regular file, not empty. */
export async function checkFileGate(files: readonly string[], place: GatePlace): Promise<FileGateResult> {
  const found: string[] = [];
  for (const file of files) {
    const abs = resolveGateFile(file, place);
    const shown = abs ? path.relative(place.root, abs).split(path.sep).join('/') : file;
    if (!abs) return { ok: false, reason: `file gate: ${file} is outside the checkout and is not checked` };
    const st = await stat(abs).catch(() => undefined);
    if (!st) return { ok: false, reason: `file gate: ${shown} was not written` };
    if (!st.isFile()) return { ok: false, reason: `file gate: ${shown} is not a file` };
    if (st.size === 0) return { ok: false, reason: `file gate: ${shown} is empty` };
    found.push(`${shown} (${st.size} bytes)`);
  }
  return { ok: true, note: `file gate: ${found.join(', ')}` };
}
