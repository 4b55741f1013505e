/**
 * How a git process is started: through simple-git with argv arrays (never a shell), with an
 * environment that cannot redirect git to another repository, and with every non-zero exit taken
 * as a failure. Kept apart from the service so other git helpers (a host clone, job worktrees)
 * start git the same way without opening a repository.
 */
import { spawn } from 'node:child_process';
import { GitError as SimpleGitError, simpleGit, type SimpleGit, type SimpleGitOptions } from 'simple-git';
import { GitError, GitProcessError, toGitError } from './errors.js';

/**
 * Variables that make git operate on a different repository than the directory we point it at.
 * They are set while git hooks run, so `planctl` called from a hook would otherwise act on the
 * hook's repository instead of the one it was asked about.
 */
const REPO_REDIRECTING_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_NAMESPACE',
];

/**
 * simple-git refuses to run at all when an explicitly passed environment contains these (its guard
 * against hijacking git through the environment). We only pass an environment in the hook case
 * above, and none of these are needed for non-interactive local operations.
 */
const SIMPLE_GIT_REFUSED_ENV = new Set([
  'editor',
  'pager',
  'prefix',
  'ssh_askpass',
  'git_askpass',
  'git_config',
  'git_config_count',
  'git_config_global',
  'git_config_system',
  'git_editor',
  'git_exec_path',
  'git_external_diff',
  'git_pager',
  'git_proxy_command',
  'git_sequence_editor',
  'git_ssh',
  'git_ssh_command',
  'git_template_dir',
]);

/** process.env without the variables that point git at another repository (set inside git hooks); undefined when none is set. */
export function sanitizedEnv(): Record<string, string> | undefined {
  if (!REPO_REDIRECTING_ENV.some((k) => process.env[k] !== undefined)) return undefined;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || REPO_REDIRECTING_ENV.includes(key)) continue;
    const lower = key.toLowerCase();
    if (SIMPLE_GIT_REFUSED_ENV.has(lower) || lower.startsWith('git_config_')) continue;
    env[key] = value;
  }
  return env;
}

/**
 * simple-git only treats a run as failed when git exits non-zero AND wrote to stderr; `git commit`
 * with nothing to commit exits 1 with stdout only and would pass as success. Every non-zero exit
 * is a failure here, and the exit code is kept (branchExists needs it).
 */
const strictErrors: SimpleGitOptions['errors'] = (error, result) => {
  if (result.exitCode > 0) {
    const output = Buffer.concat([...result.stdErr, ...result.stdOut]).toString('utf8');
    return new GitProcessError(output, result.exitCode);
  }
  return error;
};

export function createGit(baseDir: string, maxConcurrentProcesses: number): SimpleGit {
  const git = simpleGit({ baseDir, binary: 'git', maxConcurrentProcesses, trimmed: false, errors: strictErrors });
  const env = sanitizedEnv();
  return env ? git.env(env) : git;
}

/** Only errors coming from git are normalised; a caller's own exception passes through unchanged. */
export function normaliseGitFailure(err: unknown): unknown {
  if (err instanceof GitError) return err;
  // simple-git wraps everything that goes wrong running git (including a missing git binary) in
  // its own GitError class.
  return err instanceof SimpleGitError ? toGitError(err) : err;
}

/**
 * Runs git in `dir` directly, not through simple-git, with `input` on its stdin; resolves with its
 * stdout as bytes, rejects with a GitError carrying stderr. For binary data in or out (packs), and for
 * commands that print nothing, which simple-git holds 50 ms after they exit. Same environment as
 * simple-git gets; never a shell.
 */
export async function gitBinary(dir: string, args: string[], input: Buffer | string): Promise<Buffer> {
  return (await runGitBinary(dir, args, input, Infinity))!;
}

/** As gitBinary, but undefined (git stopped) as soon as the output passes `maxBytes`: nothing larger is held in memory. */
export function gitBinaryAtMost(dir: string, args: string[], input: Buffer | string, maxBytes: number): Promise<Buffer | undefined> {
  return runGitBinary(dir, args, input, maxBytes);
}

function runGitBinary(dir: string, args: string[], input: Buffer | string, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd: dir, env: sanitizedEnv() ?? process.env, shell: false, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (tooLarge) return;
      size += d.length;
      if (size > maxBytes) {
        tooLarge = true;
        out.length = 0;
        child.kill('SIGKILL');
        return;
      }
      out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-4000)));
    child.on('error', (e: NodeJS.ErrnoException) => reject(new GitError('git-failed', e.code === 'ENOENT' ? 'git was not found on the PATH' : `git could not run: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (tooLarge) resolve(undefined);
      else if (code === 0) resolve(Buffer.concat(out));
      else reject(new GitError('git-failed', `git ${args[0]} failed: ${err.trim().split('\n').pop() ?? `exit code ${code}`}`, { gitOutput: err, ...(code !== null ? { exitCode: code } : {}) }));
    });
    // A git that exits early (bad arguments, or stopped above) closes its stdin: not an error of its own.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
