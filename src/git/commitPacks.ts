/**
 * A task's commit as a thin pack: how a `planctl worker` sends the commit it made back to the
 * coordinator inside the job's result, instead of pushing it to `refs/plan-tasks/…` on the remote for
 * the coordinator to fetch. The pack holds only the objects the commit adds to the job's base (which
 * the coordinator pinned, so it has every object the deltas refer to), usually a few hundred bytes.
 *
 * Per task that is one `pack-objects` on the worker and one `unpack-objects` on the coordinator, where
 * a push and a fetch cost about nine git processes between the worker, the remote and the coordinator,
 * and with a real remote two network round trips on the run's critical path. Redis keeps the result
 * (append-only file), so the commit is as safe there as on the remote. A commit whose pack is larger
 * than INLINE_PACK_MAX_BYTES is pushed as before: job results are kept in Redis's memory.
 *
 * Packs are binary, which simple-git (text only) cannot carry: gitBinary spawns git directly.
 */
import { GitError } from './errors.js';
import { gitBinary, gitBinaryAtMost } from './gitProcess.js';
import { assertCommitId } from './slug.js';

export const INLINE_PACK_MAX_BYTES = 512 * 1024;

/**
 * Commits a receiver may lack, as packs: `from` is on the remote (fetch it when missing), and each
 * link's pack (base64) holds what its commit adds to the link before it (to `from` for the first).
 * The coordinator sends the plan branch's new commits to the workers this way with each job, so that
 * a job need not wait for the branch to be pushed and fetched (coordinator.ts).
 */
export interface CommitChain {
  from: string;
  links: Array<{ commit: string; pack: string }>;
}

/**
 * The objects `commit` adds to `base` (its parent), as a thin pack, from the repository of `dir`;
 * undefined when it would be larger than `maxBytes` (git is stopped there: nothing larger is read).
 */
export async function packCommit(dir: string, commit: string, base: string, maxBytes = INLINE_PACK_MAX_BYTES): Promise<Buffer | undefined> {
  assertCommitId(commit);
  assertCommitId(base);
  return gitBinaryAtMost(dir, ['pack-objects', '--revs', '--thin', '--stdout', '-q'], `${commit}\n^${base}\n`, maxBytes);
}

/**
 * Writes the objects of a pack made by packCommit into the repository of `dir`: loose objects, as a
 * small fetch does, and `--strict` refuses malformed ones. Moves no ref, so it needs no lock: objects
 * are written atomically and under their own names. Whether the pack held the commit it was sent for
 * is for commitsPresent to say (once for a batch).
 */
export async function unpackCommit(dir: string, pack: Buffer, commit: string): Promise<void> {
  assertCommitId(commit);
  if (pack.length > INLINE_PACK_MAX_BYTES) throw new GitError('git-failed', `the pack of commit ${commit.slice(0, 12)} is ${pack.length} bytes, more than the ${INLINE_PACK_MAX_BYTES} a job result may carry`);
  await gitBinary(dir, ['unpack-objects', '-q', '--strict'], pack);
}

/** Which of `commits` the repository of `dir` has (as commits), in one git run. */
export async function commitsPresent(dir: string, commits: readonly string[]): Promise<Set<string>> {
  for (const c of commits) assertCommitId(c);
  if (commits.length === 0) return new Set();
  const lines = (await gitBinary(dir, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], commits.map((c) => `${c}\n`).join(''))).toString('utf8').split('\n');
  return new Set(lines.filter((l) => l.endsWith(' commit')).map((l) => l.split(' ')[0]!));
}
