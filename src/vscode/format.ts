/**
 * Words and numbers as every view of the extension writes them: plurals, dates a person reads
 * ("3 min ago"), the plan's progress line and its problem count. One function each, so the tree,
 * its tooltips, the status bar and the dashboard never disagree.
 */
import * as vscode from 'vscode';
import { formatCounts, type TaskCounts } from '../core/progress.js';

/** `1 plan branch`, `2 plan branches`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `a, b and c`; more than `max` names end in `and N more`. */
export function listNames(names: readonly string[], max = 5): string {
  if (names.length <= 1) return names.join('');
  const shown = names.slice(0, max);
  const rest = names.length - shown.length;
  if (rest > 0) return `${shown.join(', ')} and ${rest} more`;
  return `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}

/** `just now`, `3 min ago`, `2 h ago`, `yesterday`, `5 days ago`; for a time in the future, `in 3 min`. */
export function relativeTime(iso: string | Date | undefined, now = Date.now()): string {
  const t = iso instanceof Date ? iso.getTime() : iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return typeof iso === 'string' ? iso : 'unknown';
  const s = Math.round((now - t) / 1000);
  const ahead = s < 0;
  const a = Math.abs(s);
  const say = (text: string): string => (ahead ? `in ${text}` : `${text} ago`);
  if (a < 45) return 'just now';
  if (a < 90 * 60) return say(`${Math.max(1, Math.round(a / 60))} min`);
  if (a < 36 * 3600) return say(`${Math.round(a / 3600)} h`);
  const days = Math.round(a / 86400);
  if (days === 1) return ahead ? 'tomorrow' : 'yesterday';
  return say(`${days} days`);
}

/** `3 min ago (17/03/2025, 10:04:05)`: relative first, the exact local time in brackets. */
export function humanTime(iso: string | Date | undefined, now = Date.now()): string {
  const d = iso instanceof Date ? iso : iso ? new Date(iso) : undefined;
  if (!d || Number.isNaN(d.getTime())) return typeof iso === 'string' ? iso : 'unknown';
  return `${relativeTime(d, now)} (${d.toLocaleString()})`;
}

/** `5/8 tasks · 2/3 checks · 62%`. */
export function progressLine(c: TaskCounts): string {
  return `${formatCounts(c)} · ${c.percent}%`;
}

export interface ProblemCounts {
  errors: number;
  warnings: number;
}

/**
 * Errors and warnings on a plan file from every source, as VS Code's own badge on the file counts
 * them (the Problems panel, the Explorer): the tree's tooltip says the same number as its badge.
 */
export function problemCounts(uri: vscode.Uri, range?: { start: number; end: number }): ProblemCounts {
  const out: ProblemCounts = { errors: 0, warnings: 0 };
  for (const d of vscode.languages.getDiagnostics(uri)) {
    // 0-based lines here; a task's range is given as its first and last 0-based line.
    if (range && (d.range.end.line < range.start || d.range.start.line > range.end)) continue;
    if (d.severity === vscode.DiagnosticSeverity.Error) out.errors++;
    else if (d.severity === vscode.DiagnosticSeverity.Warning) out.warnings++;
  }
  return out;
}

/** `2 problems (1 error, 1 warning)`, `1 error`, or '' when there are none. */
export function problemText(p: ProblemCounts): string {
  const total = p.errors + p.warnings;
  if (total === 0) return '';
  if (p.errors === 0) return plural(p.warnings, 'warning');
  if (p.warnings === 0) return plural(p.errors, 'error');
  return `${plural(total, 'problem')} (${plural(p.errors, 'error')}, ${plural(p.warnings, 'warning')})`;
}
