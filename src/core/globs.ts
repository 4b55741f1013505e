/**
 * File references as globs: compiled matchers (cached: compiling costs far more than matching),
 * the literal folder a glob starts with, and overlap between two references. Shared by the plan's
 * own file-conflict check, the scheduler and the cross-plan check.
 */
import picomatch from 'picomatch';
import type { FileRef } from './model.js';

/** Compiled matchers by glob text. */
const matchers = new Map<string, (path: string) => boolean>();

export function matcher(glob: string): (path: string) => boolean {
  let m = matchers.get(glob);
  if (!m) {
    if (matchers.size > 10000) matchers.clear();
    m = picomatch(glob, { dot: true });
    matchers.set(glob, m);
  }
  return m;
}

const bases = new Map<string, string>();

/** The literal folder a glob starts with (`docs/api/` for `docs/api/*.md`): only paths under it can match. */
export function globBase(glob: string): string {
  let base = bases.get(glob);
  if (base === undefined) {
    if (bases.size > 10000) bases.clear();
    const b = picomatch.scan(glob).base;
    base = b ? `${b}/` : '';
    bases.set(glob, base);
  }
  return base;
}

/** Two globs overlap when either matches a concrete example of the other. */
function sampleOf(glob: string): string {
  return glob
    .replace(/\*\*/g, 'x')
    .replace(/\*/g, 'x')
    .replace(/\?/g, 'x')
    .replace(/\{([^,}]*)[^}]*\}/g, '$1')
    .replace(/\[([^\]])[^\]]*\]/g, '$1');
}

export function refsOverlap(a: FileRef, b: FileRef): boolean {
  if (a.kind !== b.kind) return false;
  if (a.path === b.path) return true;
  if (a.kind === 'boundary') return false;
  if (!a.isGlob && !b.isGlob) return false;
  if (a.isGlob && matcher(a.path)(b.isGlob ? sampleOf(b.path) : b.path)) return true;
  if (b.isGlob && matcher(b.path)(a.isGlob ? sampleOf(a.path) : a.path)) return true;
  return false;
}

/** Index of the first entry of a sorted list that is not below `value` (binary search). */
export function lowerBound(sorted: readonly string[], value: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
