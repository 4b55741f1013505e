/**
 * `planctl sync`: tick the markdown boxes of tasks the status file says are completed.
 * Only the one character between the brackets changes, so the rest of the file stays byte-identical
 * (line endings, trailing spaces, everything).
 */
import type { Plan } from './model.js';
import type { StatusLookup } from './schedule.js';

export interface SyncResult {
  text: string;
  ticked: string[];
}

export function tickCompletedTasks(text: string, plan: Plan, statusOf: StatusLookup): SyncResult {
  const offsets: Array<{ offset: number; id: string }> = [];
  for (const t of plan.tasks) {
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
