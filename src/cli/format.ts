/** What planctl's commands share for reading numbers and printing tables and paths. */
import path from 'node:path';
import { PlanError } from '../core/source.js';

/** Columns padded by characters (not UTF-16 units), two spaces apart, no trailing blanks. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => [...(r[c] ?? '')].length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell + ' '.repeat(widths[c]! - [...cell].length)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Relative to the working directory when below it, else the path as given. */
export function relativeToCwd(cwd: string, file: string): string {
  const rel = path.relative(cwd, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel || '.';
}

/** A whole-number option or argument, with a message that names it. */
export function wholeNumber(value: string, name: string, min: number, max?: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || (max !== undefined && n > max)) {
    const range = max === undefined ? `of at least ${min}` : `from ${min} to ${max}`;
    throw new PlanError('invalid-argument', `${name} must be a whole number ${range}, not "${value}"`);
  }
  return n;
}

/** `--agent`: an argv template as a JSON array of strings (no shell, ever). */
export function parseAgent(value: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new PlanError('invalid-argument', `--agent must be a JSON array of strings, e.g. '["claude","-p","{prompt}"]', not ${value}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string') || !parsed[0]) {
    throw new PlanError('invalid-argument', `--agent must be a non-empty JSON array of strings, e.g. '["claude","-p","{prompt}"]'`);
  }
  return parsed as string[];
}
