/**
 * How plan worktrees are named (branch `plan/<name>`, directory `plan-<name>`) and how paths are
 * compared with what git reports. Names typed by a user are checked here before they reach git or
 * the file system.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { GitError } from './errors.js';
import { assertSafeName, safeRefName } from './slug.js';

export const BRANCH_PREFIX = 'plan/';
export const DIR_PREFIX = 'plan-';

/** A plan worktree name from free text: a branch-safe slug without "/" (it is also a directory name). */
export function slugName(text: string): string {
  const slug = safeRefName(safeRefName(text).replace(/\//g, '-'));
  assertSafeName(BRANCH_PREFIX + slug, 'plan worktree name');
  return slug;
}

/**
 * A name typed to find an existing worktree ("x", "plan/x" or "plan-x"). Unlike creation, lookups
 * refuse unsafe text instead of slugging it: "-rf" must not quietly act on the worktree "rf".
 */
export function lookupName(text: string): string {
  assertSafeName(text, 'plan worktree name');
  const name = text.startsWith(BRANCH_PREFIX) ? text.slice(BRANCH_PREFIX.length) : text;
  assertSafeName(name, 'plan worktree name');
  if (name.includes('/')) throw new GitError('invalid-name', `invalid plan worktree name ${JSON.stringify(text)}: it contains "/"`);
  return name;
}

export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export function samePath(a: string, b: string): boolean {
  const norm = (p: string) => {
    const r = path.resolve(p);
    return process.platform === 'win32' || process.platform === 'darwin' ? r.toLowerCase() : r;
  };
  return norm(a) === norm(b);
}

/** realpath of the longest existing prefix, so paths compare with what git reports before they exist. */
export async function realish(p: string): Promise<string> {
  const abs = path.resolve(p);
  const rest: string[] = [];
  for (let cur = abs; ; ) {
    try {
      return path.join(await fs.realpath(cur), ...rest.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      rest.push(path.basename(cur));
      cur = parent;
    }
  }
}
