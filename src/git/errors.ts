/**
 * One error type for everything git-related, with a code the caller can switch on.
 *
 * Modelled on VS Code's git extension: git's stderr is the only place the reason for a failure
 * lives, so we recognise its messages once, here, instead of every caller grepping output.
 */
import { GitError as SimpleGitError, GitConstructError, GitPluginError, GitResponseError } from 'simple-git';

export type GitErrorCode =
  | 'not-a-repository'
  | 'branch-exists'
  | 'branch-checked-out'
  | 'path-exists'
  | 'dirty-worktree'
  | 'index-locked'
  | 'invalid-name'
  | 'merge-conflict'
  | 'unknown-ref'
  | 'git-failed';

export interface GitErrorOptions {
  /** git's combined stdout + stderr, kept for logs and "show details"; never needed to decide anything. */
  gitOutput?: string;
  exitCode?: number;
  cause?: unknown;
}

export class GitError extends Error {
  override readonly name = 'GitError';
  readonly code: GitErrorCode;
  readonly gitOutput?: string;
  readonly exitCode?: number;

  constructor(code: GitErrorCode, message: string, options: GitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.gitOutput !== undefined) this.gitOutput = options.gitOutput;
    if (options.exitCode !== undefined) this.exitCode = options.exitCode;
  }
}

export function isGitError(err: unknown, code?: GitErrorCode): err is GitError {
  return err instanceof GitError && (code === undefined || err.code === code);
}

/**
 * Ordered: the first match wins. "a branch named 'x' already exists" must be recognised before the
 * generic "'<path>' already exists", and git has reworded several messages across versions
 * (e.g. "is already checked out at" became "is already used by worktree at" in 2.42), so both
 * spellings are listed.
 */
const PATTERNS: ReadonlyArray<readonly [GitErrorCode, RegExp]> = [
  ['index-locked', /Unable to create '[^']*\.lock': File exists|Another git process seems to be running/i],
  ['not-a-repository', /not a git repository|must be run in a work tree/i],
  ['branch-exists', /a branch named '[^']*' already exists|branch '[^']*' already exists/i],
  [
    'branch-checked-out',
    /is already checked out at|is already used by worktree at|already used by worktree|cannot delete branch '[^']*' (checked out|used by worktree) at/i,
  ],
  ['path-exists', /'[^']*' already exists|is a missing but already registered worktree|is a missing but locked worktree/i],
  [
    'merge-conflict',
    /CONFLICT \(|Automatic merge failed|fix conflicts and then commit|you need to resolve your current index first|Merging is not possible because you have unmerged files|You have not concluded your merge/i,
  ],
  [
    'dirty-worktree',
    /Your local changes to the following files would be overwritten|Please commit your changes or stash them|contains modified or untracked files|untracked working tree files would be (overwritten|removed)|You have unstaged changes|Your index contains uncommitted changes/i,
  ],
  ['invalid-name', /is not a valid branch name|is not a valid ref name|not a valid branch name/i],
  [
    'unknown-ref',
    /unknown revision or path not in the working tree|not a valid object name|invalid reference:|did not match any file\(s\) known to git|Needed a single revision|bad revision|not a commit|not a valid commit|no such branch|branch '[^']*' not found/i,
  ],
];

export function classifyGitOutput(output: string): GitErrorCode {
  for (const [code, re] of PATTERNS) if (re.test(output)) return code;
  return 'git-failed';
}

/**
 * git's output is several lines (fatal + hints); a CLI user wants one. Prefer the `fatal:`/`error:`
 * line because hints and progress ("Preparing worktree ...") come first or last arbitrarily.
 */
export function firstGitMessage(output: string): string {
  const lines = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const main = lines.find((l) => /^(fatal|error):/i.test(l)) ?? lines.find((l) => !/^hint:/i.test(l)) ?? lines[0] ?? '';
  return main.replace(/^(fatal|error|warning):\s*/i, '');
}

/** Builds the GitError for a git process that exited non-zero. */
export function gitErrorFromOutput(output: string, exitCode?: number): GitError {
  const code = classifyGitOutput(output);
  let message = firstGitMessage(output) || `git exited with code ${exitCode ?? 'unknown'}`;
  if (code === 'index-locked') {
    const lock = /Unable to create '([^']*\.lock)'/i.exec(output)?.[1];
    message = lock
      ? `another git process is using this repository (${lock} exists); if no git process is running, delete that file`
      : 'another git process is using this repository';
  } else if (/Please tell me who you are|Author identity unknown|empty ident name/i.test(output)) {
    message = 'git does not know who you are: set user.name and user.email (git config user.name "Your Name")';
  }
  const options: GitErrorOptions = { gitOutput: output };
  if (exitCode !== undefined) options.exitCode = exitCode;
  return new GitError(code, message, options);
}

/**
 * What our simple-git `errors` hook returns for a non-zero exit. simple-git re-wraps any error that
 * is not its own GitError (losing everything but the message), so the exit code and raw output
 * ride on a subclass of it until toGitError() turns them into our GitError.
 */
export class GitProcessError extends SimpleGitError {
  constructor(
    readonly output: string,
    readonly exitCode: number,
  ) {
    super(undefined, output);
  }
}

/** Normalises anything thrown while talking to git (simple-git errors, spawn failures) into a GitError. */
export function toGitError(err: unknown): GitError {
  if (err instanceof GitError) return err;
  if (err instanceof GitProcessError) return gitErrorFromOutput(err.output, err.exitCode);
  // simple-git re-wraps the spawn failure, so only its message tells us git is missing.
  if (err instanceof Error && /spawn \S+ ENOENT/.test(err.message)) {
    return new GitError('git-failed', 'git was not found; install git and make sure it is on PATH', { cause: err });
  }
  if (err instanceof GitResponseError) {
    // simple-git parsed a "successful" run into a failure, e.g. a merge summary with conflicts.
    const code = classifyGitOutput(err.message);
    return new GitError(code === 'git-failed' ? 'merge-conflict' : code, firstGitMessage(err.message), {
      gitOutput: err.message,
      cause: err,
    });
  }
  if (err instanceof GitPluginError && err.plugin === 'unsafe') {
    return new GitError('invalid-name', `refused an unsafe git argument: ${err.message}`, { cause: err });
  }
  if (err instanceof GitConstructError) {
    return new GitError('not-a-repository', firstGitMessage(err.message), { cause: err });
  }
  if (err instanceof SimpleGitError) {
    return gitErrorFromOutput(err.message);
  }
  const message = err instanceof Error ? err.message : String(err);
  return new GitError('git-failed', firstGitMessage(message) || 'git failed', { cause: err });
}
