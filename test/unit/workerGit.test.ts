/**
 * The git of distributed runs, without Redis: a worker host's clone and its reused job worktrees
 * (reset between jobs, what a dead worker left removed at start), and the coordinator's side (task
 * refs fetched together, commits applied with their origin noted, conflicts reported and aborted).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GitService } from '../../src/git/gitService.js';
import { HostClone } from '../../src/git/hostClone.js';
import { JobWorktrees } from '../../src/git/jobWorktrees.js';
import { commitsPresent, INLINE_PACK_MAX_BYTES, packCommit, unpackCommit } from '../../src/git/commitPacks.js';
import { changedPaths, fetchTaskRefs, integratedFrom, pickTaskCommit, pickTaskCommits, pushCommit } from '../../src/git/taskCommits.js';
import { makeTempRepo, removeTempRepos, tempDir, type TempRepo } from './helpers/tempRepo.js';

after(removeTempRepos);

/** A repository with a bare remote it pushed main to (the coordinator's side of a cluster). */
async function withRemote(files: Record<string, string> = { 'README.md': '# r\n' }): Promise<{ repo: TempRepo; remote: string }> {
  const repo = await makeTempRepo(files);
  const remote = path.join(path.dirname(repo.dir), 'remote.git');
  execFileSync('git', ['init', '-q', '--bare', remote]);
  repo.git(['remote', 'add', 'origin', remote]);
  repo.git(['push', '-q', 'origin', 'main']);
  return { repo, remote };
}

const worktreeNames = (clone: string): string[] =>
  execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: clone, encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith('worktree '))
    .map((l) => path.basename(l.slice('worktree '.length)));

describe('a worker host: clone and job worktrees', () => {
  test('a job worktree is reused, reset to the next pinned commit with nothing else in it', async () => {
    const { repo, remote } = await withRemote({ 'README.md': '# r\n', '.gitignore': 'build/\n', 'a.txt': 'one\n' });
    const cache = await tempDir('planctl-worker-');
    const { clone } = await HostClone.open(remote, path.join(cache, 'clone.git'));
    const { worktrees } = await JobWorktrees.open(clone, path.join(cache, 'jobs'));
    const first = repo.git(['rev-parse', 'HEAD']);
    const wt = await worktrees.acquire(first, 'main');
    assert.equal(await readFile(path.join(wt.dir, 'a.txt'), 'utf8'), 'one\n');
    // What a job leaves behind: a changed tracked file, a new file, an ignored one.
    await writeFile(path.join(wt.dir, 'a.txt'), 'changed\n');
    await writeFile(path.join(wt.dir, 'new.txt'), 'x\n');
    await mkdir(path.join(wt.dir, 'build'));
    await writeFile(path.join(wt.dir, 'build', 'out.o'), 'x\n');
    worktrees.release(wt);
    // The next job's commit is not in the clone yet: it is fetched from the branch.
    await repo.write('a.txt', 'two\n');
    const second = repo.commitAll('second');
    repo.git(['push', '-q', 'origin', 'main']);
    assert.equal(await clone.hasCommit(second), false);
    const again = await worktrees.acquire(second, 'main');
    assert.equal(again.dir, wt.dir, 'the same worktree serves the next job');
    assert.equal(await readFile(path.join(again.dir, 'a.txt'), 'utf8'), 'two\n');
    assert.equal(existsSync(path.join(again.dir, 'new.txt')), false);
    assert.equal(existsSync(path.join(again.dir, 'build')), false);
    assert.deepEqual(await again.git.statusEntries(), []);
    // A second job at the same time gets a worktree of its own.
    const other = await worktrees.acquire(second, 'main');
    assert.notEqual(other.dir, again.dir);
    await worktrees.close();
    assert.equal(existsSync(again.dir), false);
    assert.deepEqual(worktreeNames(clone.dir), ['clone.git']);
  });

  test('a commit the remote does not have yet comes with its job as a chain of packs; a chain that does not fit falls back to a fetch', async () => {
    const { repo, remote } = await withRemote({ 'README.md': '# r\n', 'a.txt': 'one\n' });
    const cache = await tempDir('planctl-worker-');
    const { clone } = await HostClone.open(remote, path.join(cache, 'clone.git'));
    const pushed = repo.git(['rev-parse', 'HEAD']);
    await repo.write('a.txt', 'two\n');
    const second = repo.commitAll('second');
    await repo.write('b.bin', '\u0000\u0001 three\n');
    const third = repo.commitAll('third');
    const links = [
      { commit: second, pack: (await packCommit(repo.dir, second, pushed))!.toString('base64') },
      { commit: third, pack: (await packCommit(repo.dir, third, second))!.toString('base64') },
    ];
    // Not pushed: only the chain can bring it.
    await clone.ensureCommit(third, 'main', { from: pushed, links });
    assert.equal(await clone.hasCommit(second), true);
    const { worktrees } = await JobWorktrees.open(clone, path.join(cache, 'jobs'));
    const wt = await worktrees.acquire(third, 'main');
    assert.equal(await readFile(path.join(wt.dir, 'a.txt'), 'utf8'), 'two\n');
    await worktrees.close();
    // A chain whose pack is broken: the commit is fetched from the branch instead.
    await repo.write('a.txt', 'four\n');
    const fourth = repo.commitAll('fourth');
    repo.git(['push', '-q', 'origin', 'main']);
    await clone.ensureCommit(fourth, 'main', { from: third, links: [{ commit: fourth, pack: Buffer.from('not a pack').toString('base64') }] });
    assert.equal(await clone.hasCommit(fourth), true);
  });

  test('a worker that starts removes the job worktrees and ref locks a killed worker left; a live owner keeps its own', async () => {
    const { repo, remote } = await withRemote();
    const cache = await tempDir('planctl-worker-');
    const commit = repo.git(['rev-parse', 'HEAD']);
    // A live worker of this process, with a worktree in use.
    const { clone } = await HostClone.open(remote, path.join(cache, 'clone.git'));
    const { worktrees: live } = await JobWorktrees.open(clone, path.join(cache, 'jobs'));
    const kept = await live.acquire(commit);
    // Another worker process takes a job worktree, changes a file in it, and is killed mid-job.
    const modules = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/git');
    const script = `
      import { HostClone } from ${JSON.stringify(path.join(modules, 'hostClone.js'))};
      import { JobWorktrees } from ${JSON.stringify(path.join(modules, 'jobWorktrees.js'))};
      import { writeFileSync } from 'node:fs';
      const { clone } = await HostClone.open(${JSON.stringify(remote)}, ${JSON.stringify(path.join(cache, 'clone.git'))});
      const { worktrees } = await JobWorktrees.open(clone, ${JSON.stringify(path.join(cache, 'jobs'))});
      const wt = await worktrees.acquire(${JSON.stringify(commit)});
      writeFileSync(wt.dir + '/half-done.txt', 'x');
      console.log('holding ' + wt.dir);
      setInterval(() => undefined, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const dead = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /holding (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`the worker exited (${code}) before its job: ${out}`)));
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    // What a fetch killed halfway leaves: a ref lock that would make every later fetch fail.
    await writeFile(path.join(clone.dir, 'refs', 'heads', 'main.lock'), `${commit}\n`);

    const reopened = await HostClone.open(remote, path.join(cache, 'clone.git'));
    assert.deepEqual(reopened.removedLocks, [path.join('refs', 'heads', 'main.lock')]);
    const { worktrees, removed } = await JobWorktrees.open(reopened.clone, path.join(cache, 'jobs'));
    assert.deepEqual(removed, [path.basename(dead)]);
    assert.equal(existsSync(dead), false);
    assert.equal(existsSync(kept.dir), true, "the live worker's worktree stays");
    assert.deepEqual(worktreeNames(clone.dir).sort(), ['clone.git', path.basename(kept.dir)].sort());
    // And it carries on: a new commit is fetched (no stale lock in the way) and a job runs on it.
    await repo.write('b.txt', 'b\n');
    const next = repo.commitAll('next');
    repo.git(['push', '-q', 'origin', 'main']);
    const wt = await worktrees.acquire(next, 'main');
    assert.equal(await readFile(path.join(wt.dir, 'b.txt'), 'utf8'), 'b\n');
    await worktrees.close();
    await live.close();
  });
});

describe("the coordinator's task commits", () => {
  /** The coordinator on plan/x, and a worker's clone that made a task commit on `base` and pushed it to `ref`. */
  async function taskCommit(edit: Record<string, string>, ref: string): Promise<{ repo: TempRepo; git: GitService; commit: string }> {
    const { repo, remote } = await withRemote({ 'README.md': '# r\n', 'shared.txt': 'base\nend\n' });
    repo.git(['checkout', '-q', '-b', 'plan/x']);
    const git = await GitService.open(repo.dir);
    await pushCommit(git, 'origin', repo.git(['rev-parse', 'HEAD']), 'plan/x');
    const worker = path.join(await tempDir('planctl-wclone-'), 'w');
    execFileSync('git', ['clone', '-q', '--branch', 'plan/x', remote, worker]);
    for (const [f, text] of Object.entries(edit)) await writeFile(path.join(worker, f), text);
    execFileSync('git', ['-c', 'user.name=W', '-c', 'user.email=w@example.com', 'commit', '-q', '-am', 'task 1.1: edit'], { cwd: worker });
    execFileSync('git', ['push', '-q', 'origin', `HEAD:${ref}`], { cwd: worker });
    return { repo, git, commit: execFileSync('git', ['rev-parse', 'HEAD'], { cwd: worker, encoding: 'utf8' }).trim() };
  }

  test('fetched and applied, its origin noted: integratedFrom finds it again', async () => {
    const ref = 'refs/plan-tasks/p/1.1/1';
    const { repo, git, commit } = await taskCommit({ 'shared.txt': 'base\nfrom 1.1\nend\n' }, ref);
    assert.equal(await integratedFrom(git, commit), undefined);
    await fetchTaskRefs(git, 'origin', [ref]);
    const applied = await pickTaskCommit(git, commit, { onlyPaths: ['shared.txt'] });
    assert.ok('commit' in applied);
    assert.equal(repo.git(['log', '-1', '--format=%s']), 'task 1.1: edit');
    assert.equal(await integratedFrom(git, commit), applied.commit);
  });

  test('a conflict is reported with its files and aborted; a commit with files its worker did not report is refused', async () => {
    const ref = 'refs/plan-tasks/p/1.2/1';
    const { repo, git, commit } = await taskCommit({ 'shared.txt': 'base\nfrom 1.2\nend\n' }, ref);
    await repo.write('shared.txt', 'base\nfrom 1.1\nend\n');
    const tip = repo.commitAll('task 1.1: other edit');
    await fetchTaskRefs(git, 'origin', [ref]);
    await assert.rejects(pickTaskCommit(git, commit, { onlyPaths: ['README.md'] }), /changes files its worker did not report: shared\.txt/);
    assert.deepEqual(await pickTaskCommit(git, commit, { onlyPaths: ['shared.txt'] }), { conflict: ['shared.txt'] });
    assert.equal(repo.git(['rev-parse', 'HEAD']), tip);
    assert.equal(await git.operationInProgress(), undefined);
    assert.equal(repo.git(['status', '--porcelain']), '');
  });

  test('commits that finished together are applied with one cherry-pick; a batch with a conflict leaves nothing applied', async () => {
    const repo = await makeTempRepo({ 'README.md': '# r\n', 'shared.txt': 'base\nend\n' });
    const git = await GitService.open(repo.dir);
    const base = repo.git(['rev-parse', 'HEAD']);
    /** A task commit made on `base` (as a worker does), with the branch left where it was. */
    const onBase = async (file: string, text: string, subject: string): Promise<string> => {
      repo.git(['checkout', '-q', '--detach', base]);
      await repo.write(file, text);
      const c = repo.commitAll(subject);
      repo.git(['checkout', '-q', 'main']);
      return c;
    };
    const a = await onBase('a.txt', 'a\n', 'task 1.1: a');
    const b = await onBase('b.txt', 'b\n', 'task 1.2: b');
    const applied = await pickTaskCommits(git, [a, b]);
    assert.equal(applied?.length, 2);
    assert.deepEqual(repo.git(['log', '--format=%H %s', '-2']).split('\n'), [`${applied![1]} task 1.2: b`, `${applied![0]} task 1.1: a`]);
    assert.equal(await integratedFrom(git, a), applied![0]);
    const tip = repo.git(['rev-parse', 'HEAD']);
    const c = await onBase('shared.txt', 'base\nfrom 1.3\nend\n', 'task 1.3: shared');
    const d = await onBase('shared.txt', 'base\nfrom 1.4\nend\n', 'task 1.4: shared');
    assert.equal(await pickTaskCommits(git, [c, d]), undefined);
    assert.equal(repo.git(['rev-parse', 'HEAD']), tip);
    assert.equal(await git.operationInProgress(), undefined);
  });

  test('changedPaths lists what each of several commits changes, in one run', async () => {
    const repo = await makeTempRepo({ 'README.md': '# r\n', 'old name.txt': 'x\n' });
    const git = await GitService.open(repo.dir);
    repo.git(['mv', 'old name.txt', 'new name.txt']);
    await repo.write('d/-dash.txt', 'y\n');
    const moved = repo.commitAll('move and add');
    repo.git(['commit', '-q', '--allow-empty', '-m', 'empty']);
    const empty = repo.git(['rev-parse', 'HEAD']);
    const seen = await changedPaths(git, [empty, moved]);
    assert.deepEqual(seen.get(moved)?.sort(), ['d/-dash.txt', 'new name.txt', 'old name.txt']);
    assert.deepEqual(seen.get(empty), []);
  });

  test("a task's commit sent back as a thin pack: unpacked here, the same commit (binary file, mode, deletion and rename included) applies", async () => {
    const { repo, remote } = await withRemote({ 'README.md': '# r\n', 'big.txt': `${'line\n'.repeat(5000)}`, 'gone.txt': 'x\n', 'old.txt': 'moved\n' });
    repo.git(['checkout', '-q', '-b', 'plan/x']);
    const git = await GitService.open(repo.dir);
    const base = repo.git(['rev-parse', 'HEAD']);
    await pushCommit(git, 'origin', base, 'plan/x');
    const worker = path.join(await tempDir('planctl-wclone-'), 'w');
    execFileSync('git', ['clone', '-q', '--branch', 'plan/x', remote, worker]);
    await writeFile(path.join(worker, 'big.txt'), `${'line\n'.repeat(5000)}one more\n`);
    await writeFile(path.join(worker, 'bin.dat'), Buffer.from([0, 1, 2, 255, 0, 10, 13]));
    await writeFile(path.join(worker, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    execFileSync('git', ['rm', '-q', 'gone.txt'], { cwd: worker });
    execFileSync('git', ['mv', 'old.txt', 'new.txt'], { cwd: worker });
    execFileSync('git', ['add', '-A'], { cwd: worker });
    execFileSync('git', ['-c', 'user.name=W', '-c', 'user.email=w@example.com', 'commit', '-q', '-m', 'task 1.1: edit'], { cwd: worker });
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: worker, encoding: 'utf8' }).trim();
    const pack = (await packCommit(worker, commit, base))!;
    // Over a limit, no pack (and git stopped there).
    assert.equal(await packCommit(worker, commit, base, 100), undefined);
    // Thin: the one-line change to a 25 KB file is a delta against the base's blob.
    assert.ok(pack.length < 2000, `pack of ${pack.length} bytes`);
    assert.deepEqual([...(await commitsPresent(repo.dir, [commit, base]))], [base]);
    await unpackCommit(repo.dir, pack, commit);
    assert.deepEqual(await commitsPresent(repo.dir, [commit, base]), new Set([commit, base]));
    const applied = await pickTaskCommit(git, commit, { onlyPaths: ['big.txt', 'bin.dat', 'run.sh', 'gone.txt', 'old.txt', 'new.txt'] });
    assert.ok('commit' in applied);
    assert.equal(repo.git(['rev-parse', 'HEAD^{tree}']), execFileSync('git', ['rev-parse', 'HEAD^{tree}'], { cwd: worker, encoding: 'utf8' }).trim());
    assert.deepEqual(await readFile(path.join(repo.dir, 'bin.dat')), Buffer.from([0, 1, 2, 255, 0, 10, 13]));
    assert.equal(await integratedFrom(git, commit), applied.commit);
  });

  test('a pack that is not a pack, or too large for a job result, is refused and writes nothing', async () => {
    const repo = await makeTempRepo();
    const fake = '1'.repeat(40);
    await assert.rejects(unpackCommit(repo.dir, Buffer.from('PACK but not really'), fake), /git unpack-objects failed/);
    await assert.rejects(unpackCommit(repo.dir, Buffer.alloc(INLINE_PACK_MAX_BYTES + 1), fake), /more than the \d+ a job result may carry/);
    await assert.rejects(unpackCommit(repo.dir, Buffer.alloc(10), '--exec=x'), /not a commit id/);
    assert.equal(repo.git(['count-objects']).split(' ')[0], '3');
  });

  test('names that would be options are refused before git runs', async () => {
    const { git } = await taskCommit({ 'shared.txt': 'x\n' }, 'refs/plan-tasks/p/1.3/1');
    await assert.rejects(fetchTaskRefs(git, '--upload-pack=touch /tmp/x', ['refs/plan-tasks/p/1.3/1']), /not a remote name/);
    await assert.rejects(fetchTaskRefs(git, 'origin', ['refs/heads/main']), /not a task ref/);
    await assert.rejects(pushCommit(git, 'origin', 'HEAD', 'plan/x'), /not a commit id/);
  });
});
