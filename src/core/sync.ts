/**
 * `planctl sync`: tick the markdown boxes of tasks the status file says are completed.
 * Only the one character between the brackets changes, so the rest of the file stays byte-identical
 * (a UTF-8 byte order mark, line endings, trailing spaces, everything).
 */
import type { Plan } from './model.js';
import type { StatusLookup } from './schedule.js';

export interface SyncResult {
  text: string;
  ticked: string[];
}

const UTF8_BOM = '\uFEFF';

/**
 * `text` is the plan as analysed (without a byte order mark: the reader drops it so offsets start at the
 * first character). Only a task's own box is ticked: when an ID appears twice, the first one is the task
 * the graph knows (as `indexById` resolves it); a second box with that ID is not the status file's task.
 */
export function tickCompletedTasks(text: string, plan: Plan, statusOf: StatusLookup): SyncResult {
  const offsets: Array<{ offset: number; id: string }> = [];
  const seen = new Set<string>();
  for (const t of plan.tasks) {
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    if (t.checkboxOffset < 0 || t.checkbox === 'checked') continue;
    if (statusOf(t.id) !== 'completed') continue;
    offsets.push({ offset: t.checkboxOffset, id: t.id });
  }
  offsets.sort((a, b) => a.offset - b.offset);
  const parts: string[] = [];
  let last = 0;
  for (const o of offsets) {
    parts.push(text.slice(last, o.offset), 'x');
    last = o.offset + 1;
  }
  parts.push(text.slice(last));
  return { text: parts.join(''), ticked: offsets.map((o) => o.id) };
}

/** Puts back the byte order mark the file on disk started with, so writing `text` changes no other byte. */
export function withOriginalBom(text: string, original: Uint8Array): string {
  const hasBom = original.length >= 3 && original[0] === 0xef && original[1] === 0xbb && original[2] === 0xbf;
  return hasBom && !text.startsWith(UTF8_BOM) ? UTF8_BOM + text : text;
}

export interface CheckboxEdit {
  id: string;
  /** Offset of the character between the brackets (as `Task.checkboxOffset`). */
  offset: number;
  /** `x` to tick, a space to untick. */
  char: 'x' | ' ';
}

/**
 * The one-character edits that tick (or untick) these tasks' boxes in `text`, for an editor to apply
 * as an undoable edit; boxes already in that state are left out. The same rules as
 * tickCompletedTasks: a task's own box only, the first of a duplicated ID.
 */
export function checkboxEdits(text: string, plan: Plan, ids: readonly string[], ticked: boolean): CheckboxEdit[] {
  const wanted = new Set(ids);
  const seen = new Set<string>();
  const out: CheckboxEdit[] = [];
  const char = ticked ? 'x' : ' ';
  for (const t of plan.tasks) {
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    if (!wanted.has(t.id) || t.checkboxOffset < 0 || t.checkboxOffset >= text.length) continue;
    const current = text[t.checkboxOffset]!;
    if (ticked ? current === 'x' || current === 'X' : current === ' ') continue;
    out.push({ id: t.id, offset: t.checkboxOffset, char });
  }
  return out;
}
