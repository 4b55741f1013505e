/**
 * Committing a finished task: its own files (see taskChanges.ts), with a subject that fits a log line,
 * one commit at a time per repository (across plans, worktrees and processes: they share one index),
 * retried when it fails for a passing reason.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import type { Task } from '../core/model.js';
import type { GitService } from '../git/gitService.js';
import { lockOptions } from './registry.js';

/** One commit at a time in this process; the lock file below serialises processes. */
let commitChain: Promise<unknown> = Promise.resolve();

/** `task 2.3: Add the LRU cache` cut at a word to fit a commit subject (72 columns). */
export function commitSubject(task: Pick<Task, 'id' | 'title'>): string {
  const head = `task ${task.id}: `;
  const title = task.title.replace(/\s+/g, ' ').trim();
  if (head.length + title.length <= 72) return head + title;
  const room = 72 - head.length - 1;
  const cut = title.slice(0, room);
  const atWord = cut.lastIndexOf(' ') > room * 0.6 ? cut.slice(0, cut.lastIndexOf(' ')) : cut;
  return `${head}${atWord.replace(/[\s,;:.-]+$/, '')}…`;
}

/** The subject, and the whole task text below it when the subject had to be cut. */
export function commitMessage(task: Pick<Task, 'id' | 'title'>): string {
  const subject = commitSubject(task);
  return subject.endsWith('…') ? `${subject}\n\n${task.id} ${task.title}` : subject;
}

export interface CommitOptions {
  identity?: { name: string; email: string };
  /** A run that is stopping gives up at once instead of retrying. */
  stopping?: () => boolean;
}

/**
 * Commits the paths (an empty commit when none: every task keeps its entry in the log). A failure
 * for a passing reason (a lock held a little too long on a loaded machine) is tried again: failing
 * the task instead would run the agent, and its work, a second time.
 */
export async function commitTask(git: GitService, paths: string[], message: string, opts: CommitOptions = {}): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await serialCommit(git, paths, message, opts);
    } catch (err) {
      if (attempt >= 3 || opts.stopping?.()) throw err;
      await new Promise((r) => setTimeout(r, 250 * attempt * attempt));
    }
  }
}

function serialCommit(git: GitService, paths: string[], message: string, opts: CommitOptions): Promise<string | undefined> {
  const next = commitChain.then(async () => {
    const dir = path.join(await git.commonDir(), 'plan-orchestrator');
    await mkdir(dir, { recursive: true });
    const release = await lockfile.lock(path.join(dir, 'commit'), lockOptions(path.join(dir, 'commit.lock')));
    try {
      return await git.commitPaths(paths, message, { allowEmpty: true, ...(opts.identity ? { identity: opts.identity } : {}) });
    } finally {
      await release().catch(() => undefined);
    }
  });
  commitChain = next.catch(() => undefined);
  return next;
}
