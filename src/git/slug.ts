/**
 * Names that come from users (plan titles, branch names typed in a prompt) end up as git arguments.
 * Even without a shell, a value starting with `-` is parsed by git as an option, and `..` in a
 * branch or path name escapes where we meant to put it, so such names are refused here, before
 * they get anywhere near git. The checks follow `git check-ref-format` so that a name passing them
 * is one git will accept as a branch name.
 */
import { GitError } from './errors.js';

/** Keeps worktree directory names and branch names well below the 255-byte filename limit. */
const MAX_SLUG_LENGTH = 100;

/**
 * Turns free text (e.g. "Plan: Auth!") into a branch-safe slug ("plan-auth").
 * Throws GitError('invalid-name') when nothing usable is left (e.g. "!!!").
 */
export function safeRefName(name: string): string {
  const ascii = String(name)
    .normalize('NFKD')
    // Accents would otherwise become "-" and split words ("café" → "caf-").
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._/-]+/g, '-')
    .replace(/\.{2,}/g, '.');
  const slug = cleanComponents(ascii);
  const capped = slug.length > MAX_SLUG_LENGTH ? cleanComponents(slug.slice(0, MAX_SLUG_LENGTH)) : slug;
  if (capped.length === 0) {
    throw new GitError('invalid-name', `cannot make a branch name from ${JSON.stringify(name)}: it has no letters or digits`);
  }
  return capped;
}

/**
 * Per path component, because git's rules are per component (no leading ".", no trailing ".lock")
 * and an empty component ("a//b", leading or trailing "/") is invalid.
 */
function cleanComponents(text: string): string {
  return text
    .split('/')
    .map((part) => {
      let p = part.replace(/-{2,}/g, '-');
      let prev: string;
      do {
        prev = p;
        p = p.replace(/^[-.]+/, '').replace(/[-.]+$/, '').replace(/\.lock$/, '');
      } while (p !== prev);
      return p;
    })
    .filter((p) => p.length > 0)
    .join('/');
}

/**
 * Throws GitError('invalid-name') with a one-line reason when `name` is not safe to hand to git as a
 * branch/ref name. `what` names the thing in the message ("branch name", "worktree name", ...).
 */
export function assertSafeName(name: string, what = 'branch name'): void {
  const reason = unsafeNameReason(name);
  if (reason !== undefined) {
    const shown = typeof name === 'string' ? JSON.stringify(name) : String(name);
    throw new GitError('invalid-name', `invalid ${what} ${shown}: ${reason}`);
  }
}

/** The reason `name` is unsafe, or undefined when it is fine; for callers that want to report, not throw. */
export function unsafeNameReason(name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'it is empty';
  if (name.trim().length === 0) return 'it is blank';
  if (name.startsWith('-')) return 'it starts with "-" and would be read as a git option';
  if (name.includes('..')) return 'it contains ".."';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'it contains a control character';
  if (/\s/.test(name)) return 'it contains a space';
  const meta = /[~^:?*[\\]/.exec(name);
  if (meta) return `it contains "${meta[0]}"`;
  if (name.includes('@{')) return 'it contains "@{"';
  if (name === '@') return 'it is "@"';
  if (name.startsWith('/') || name.endsWith('/')) return 'it starts or ends with "/"';
  if (name.includes('//')) return 'it contains "//"';
  if (name.endsWith('.')) return 'it ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return 'a part of it starts with "."';
    if (part.endsWith('.lock')) return 'a part of it ends with ".lock"';
  }
  if (name === 'HEAD') return '"HEAD" is reserved by git';
  return undefined;
}

const COMMIT_ID = /^[0-9a-f]{40}$|^[0-9a-f]{64}$/;

/** Whether `value` is a full commit id (SHA-1 or SHA-256), and so nothing git could read as an option. */
export function isCommitId(value: string): boolean {
  return COMMIT_ID.test(value);
}

export function assertCommitId(value: string): void {
  if (!isCommitId(value)) throw new GitError('invalid-name', `"${value}" is not a commit id`);
}

/** A git remote's name as `git remote` allows it, never one that starts with `-`. */
export function assertRemoteName(remote: string): void {
  if (!/^[\w.-]+$/.test(remote) || remote.startsWith('-')) throw new GitError('invalid-name', `"${remote}" is not a remote name`);
}

/** A ref under refs/plan-tasks/ (where distributed runs keep task commits), without `..`. */
export function assertTaskRef(ref: string): void {
  if (!/^refs\/plan-tasks\/[\w./-]+$/.test(ref) || ref.includes('..')) throw new GitError('invalid-name', `"${ref}" is not a task ref`);
}
