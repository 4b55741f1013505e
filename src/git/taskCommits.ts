/**
 * The coordinator's git for tasks run on workers (`planctl orchestrate --queue`): publishing the plan
 * branch commit a job starts from, fetching the workers' task commits (`refs/plan-tasks/…`) and
 * applying them to the plan branch. Every call goes through the repository's GitService queue, so an
 * integration never interleaves with a commit or push of the same repository.
 *
 * Every git command here prints something: simple-git waits 50 ms more after a command that is silent.
 * The fetches and cherry-picks do not start git's automatic maintenance (two more git processes each,
 * on the run's critical path); maintainRepository runs it once when the run ends.
 */
import { GitError } from './errors.js';
import { gitBinary } from './gitProcess.js';
import { committed, FULL_IDS, type GitService } from './gitService.js';
import { assertCommitId, assertRemoteName, assertSafeName, assertTaskRef } from './slug.js';

const NO_AUTO_MAINTENANCE = ['-c', 'maintenance.auto=false'];

export type PickOutcome = { commit: string } | { conflict: string[] };

/** Pushes `commit` to `branch` on `remote` (workers start their jobs from it); the branch only moves forward. */
export async function pushCommit(service: GitService, remote: string, commit: string, branch: string): Promise<void> {
  assertRemoteName(remote);
  assertCommitId(commit);
  assertSafeName(branch);
  await service.run((git) => git.raw(['push', '--porcelain', remote, `${commit}:refs/heads/${branch}`]));
}

/** Fetches task refs from `remote` into the same refs here, in one fetch: commits that finished together cost one round trip. */
export async function fetchTaskRefs(service: GitService, remote: string, refs: readonly string[]): Promise<void> {
  assertRemoteName(remote);
  if (refs.length === 0) return;
  for (const ref of refs) assertTaskRef(ref);
  await service.run((git) => git.raw([...NO_AUTO_MAINTENANCE, 'fetch', '--verbose', remote, ...refs.map((r) => `+${r}:${r}`)]));
}

/** The paths each commit changes (renames as a deletion and an addition), in one git run for all of them. */
export async function changedPaths(service: GitService, commits: readonly string[]): Promise<Map<string, string[]>> {
  for (const c of commits) assertCommitId(c);
  const out = new Map<string, string[]>();
  if (commits.length === 0) return out;
  // Each commit: \x01<id>\0, then its paths, each ending in \0 (the first after a newline).
  const text = await service.read(['log', '--no-walk=unsorted', '--format=%x01%H', '--name-only', '--no-renames', '-z', ...commits]);
  for (const chunk of text.split('\x01').slice(1)) {
    const [id, ...paths] = chunk.split('\0');
    out.set(id!, paths.map((p) => p.replace(/^\n/, '')).filter(Boolean));
  }
  return out;
}

/**
 * Applies a worker's task commit (fetched with fetchTaskRefs) on top of the branch checked out here,
 * noting its origin in the message (`cherry-pick -x`: integratedFrom finds it after a restart). With
 * `onlyPaths`, a commit that changes anything else is refused (`touched`: what it changes, when
 * changedPaths already said). A conflict is aborted, leaving the branch as it was, and reported with
 * the conflicting files: the caller reruns the task on the new tip.
 */
export async function pickTaskCommit(
  service: GitService,
  commit: string,
  opts: { identity?: { name: string; email: string }; onlyPaths?: readonly string[]; touched?: readonly string[] } = {},
): Promise<PickOutcome> {
  assertCommitId(commit);
  const identity = opts.identity ? ['-c', `user.name=${opts.identity.name}`, '-c', `user.email=${opts.identity.email}`] : [];
  if (opts.onlyPaths) assertReported(commit, opts.touched ?? (await changedPaths(service, [commit])).get(commit) ?? [], opts.onlyPaths);
  return service.run(async (git) => {
    let output: string;
    try {
      output = await git.raw([...identity, ...FULL_IDS, ...NO_AUTO_MAINTENANCE, 'cherry-pick', '-x', '--allow-empty', commit]);
    } catch (err) {
      const files = await service.conflictedFiles().catch(() => []);
      await git.raw(['cherry-pick', '--abort']).catch(() => undefined);
      if (files.length === 0) throw err;
      return { conflict: files };
    }
    return { commit: await committed(git, output) };
  });
}

/** What a task's commit changes must be what its worker reported: nothing else enters the plan branch. */
export function assertReported(commit: string, touched: readonly string[], reported: readonly string[]): void {
  const allowed = new Set(reported);
  const extra = touched.filter((p) => !allowed.has(p));
  if (extra.length > 0) throw new GitError('git-failed', `the task's commit ${commit.slice(0, 12)} changes files its worker did not report: ${extra.slice(0, 5).join(', ')}`);
}

/**
 * Applies several task commits (checked with assertReported) with one cherry-pick, as pickTaskCommit
 * does one: the usual case, since tasks that run side by side change different files. Returns the new
 * commits in order, or undefined when one of them does not apply: then nothing of the batch is left
 * applied, and the caller applies them one by one to learn which.
 */
export async function pickTaskCommits(service: GitService, commits: readonly string[], opts: { identity?: { name: string; email: string } } = {}): Promise<string[] | undefined> {
  for (const c of commits) assertCommitId(c);
  const identity = opts.identity ? ['-c', `user.name=${opts.identity.name}`, '-c', `user.email=${opts.identity.email}`] : [];
  return service.run(async (git) => {
    let output: string;
    try {
      output = await git.raw([...identity, ...FULL_IDS, ...NO_AUTO_MAINTENANCE, 'cherry-pick', '-x', '--allow-empty', ...commits]);
    } catch {
      // --abort returns to where the batch began, the commits it had applied included.
      await git.raw(['cherry-pick', '--abort']).catch(() => undefined);
      return undefined;
    }
    const printed = [...output.matchAll(/^\[[^\n]*? ([0-9a-f]{40}|[0-9a-f]{64})\]/gm)].map((m) => m[1]!);
    if (printed.length === commits.length) return printed;
    return (await git.raw(['rev-list', '--reverse', `--max-count=${commits.length}`, 'HEAD'])).split('\n').filter(Boolean);
  });
}

/** The commit on the branch checked out here that pickTaskCommit made from `commit`, if any. */
export async function integratedFrom(service: GitService, commit: string): Promise<string | undefined> {
  assertCommitId(commit);
  const found = await service.read(['log', '-1', '--format=%H', '--fixed-strings', `--grep=(cherry picked from commit ${commit})`, 'HEAD']);
  return found.trim() || undefined;
}

/**
 * git's automatic maintenance, once, for the fetches and cherry-picks that did not start it. Silent
 * (when there is nothing to do), so not through simple-git: gitBinary.
 */
export async function maintainRepository(service: GitService): Promise<void> {
  await service.run(() => gitBinary(service.topLevel, ['maintenance', 'run', '--auto'], ''));
}
