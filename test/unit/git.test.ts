import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, realpath, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleGit } from 'simple-git';
import {
  GitError,
  GitService,
  assertSafeName,
  safeRefName,
} from '../../src/git/gitService.js';
import { parseWorktreeList } from '../../src/git/worktreeInfo.js';
import { classifyGitOutput, gitErrorFromOutput } from '../../src/git/errors.js';

// Everything lives under one directory per test process, so cleanup is a single rm.
let tempRoot: Promise<string> | undefined;

async function tempDir(prefix = 'repo-'): Promise<string> {
  // realpath: on macOS os.tmpdir() is a symlink and git reports resolved paths.
  tempRoot ??= mkdtemp(path.join(os.tmpdir(), 'planctl-gittest-')).then((d) => realpath(d));
  return mkdtemp(path.join(await tempRoot, prefix));
}

/** A fresh repository on branch main with one commit, isolated from the user's git identity. */
async function makeRepo(): Promise<string> {
  const dir = await tempDir();
  const git = simpleGit({ baseDir: dir });
  await git.raw(['init', '-q', '-b', 'main']);
  await git.raw(['config', 'user.name', 'Test User']);
  await git.raw(['config', 'user.email', 'test@example.com']);
  await git.raw(['config', 'commit.gpgsign', 'false']);
  await writeFile(path.join(dir, 'README.md'), '# test\n');
  await git.raw(['add', '-A']);
  await git.raw(['commit', '-q', '-m', 'initial']);
  return dir;
}

async function expectGitError(promise: Promise<unknown>, code: string): Promise<GitError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof GitError, `expected GitError, got ${String(err)}`);
    assert.equal(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
    assert.ok(!err.message.includes('\n'), `message should be one line: ${JSON.stringify(err.message)}`);
    return err;
  }
  assert.fail(`expected GitError ${code}, but it resolved`);
}

after(async () => {
  if (tempRoot) await rm(await tempRoot, { recursive: true, force: true });
});

describe('safeRefName', () => {
  const cases: Array<[string, string]> = [
    ['Plan: Auth!', 'plan-auth'],
    ['feat/ok', 'feat/ok'],
    ['../x', 'x'],
    ['-rf', 'rf'],
    ['a b', 'a-b'],
    ['  Many   spaces -- and dashes  ', 'many-spaces-and-dashes'],
    ['a..b', 'a.b'],
    ['.hidden/.dir', 'hidden/dir'],
    ['branch.lock', 'branch'],
    ['x/y.lock/', 'x/y'],
    ['a//b', 'a/b'],
    ['ref@{1}', 'ref-1'],
    ['Café Crème', 'cafe-creme'],
    ['tilde~caret^colon:q?star*[back\\slash', 'tilde-caret-colon-q-star-back-slash'],
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      const slug = safeRefName(input);
      assert.equal(slug, expected);
      assert.doesNotThrow(() => assertSafeName(slug));
    });
  }

  test('caps the length and still yields a valid name', () => {
    const slug = safeRefName(`${'a'.repeat(99)}-${'b'.repeat(50)}`);
    assert.ok(slug.length <= 100);
    assert.doesNotThrow(() => assertSafeName(slug));
    assert.ok(!slug.endsWith('-'));
  });

  test('refuses text with nothing usable', () => {
    assert.throws(() => safeRefName('!!!'), (err: unknown) => err instanceof GitError && err.code === 'invalid-name');
    assert.throws(() => safeRefName(''), (err: unknown) => err instanceof GitError && err.code === 'invalid-name');
  });

  test('every slug is accepted by git check-ref-format', async () => {
    const git = simpleGit();
    for (const [input] of cases) {
      await git.raw(['check-ref-format', '--branch', safeRefName(input)]);
    }
  });
});

describe('assertSafeName', () => {
  const bad = [
    '',
    '   ',
    '../x',
    'a/../b',
    '-rf',
    '--upload-pack=evil',
    'a b',
    'tab\there',
    'nl\nhere',
    'nul\u0000',
    'a~1',
    'a^',
    'a:b',
    'a?',
    'a*',
    'a[b',
    'a\\b',
    'a@{1}',
    '@',
    '/lead',
    'trail/',
    'a//b',
    'dot.',
    '.hidden',
    'x/.hidden',
    'x.lock',
    'HEAD',
  ];
  for (const name of bad) {
    test(`refuses ${JSON.stringify(name)}`, () => {
      assert.throws(
        () => assertSafeName(name),
        (err: unknown) =>
          err instanceof GitError && err.code === 'invalid-name' && err.message.includes('invalid branch name'),
      );
    });
  }
  for (const name of ['feat/ok', 'main', 'Feature/X-1', 'v1.2.3', 'plan_a', 'a-b/c.d']) {
    test(`accepts ${JSON.stringify(name)}`, () => {
      assert.doesNotThrow(() => assertSafeName(name));
    });
  }
  test('message says why', () => {
    assert.throws(() => assertSafeName('-rf'), /starts with "-"/);
    assert.throws(() => assertSafeName('../x', 'worktree name'), /invalid worktree name "\.\.\/x": it contains "\.\."/);
  });
});

describe('error classification', () => {
  const cases: Array<[string, string]> = [
    ['fatal: not a git repository (or any of the parent directories): .git', 'not-a-repository'],
    ["fatal: a branch named 'x' already exists", 'branch-exists'],
    ["fatal: 'b' is already checked out at '/tmp/wt'", 'branch-checked-out'],
    ["fatal: 'b' is already used by worktree at '/tmp/wt'", 'branch-checked-out'],
    ["error: Cannot delete branch 'b' checked out at '/tmp/wt'", 'branch-checked-out'],
    ["fatal: '../wt' already exists", 'path-exists'],
    ["fatal: Unable to create '/r/.git/index.lock': File exists.\n\nAnother git process seems to be running", 'index-locked'],
    ['error: Your local changes to the following files would be overwritten by checkout:\n\ta.txt', 'dirty-worktree'],
    ['CONFLICT (content): Merge conflict in a.txt\nAutomatic merge failed; fix conflicts and then commit the result.', 'merge-conflict'],
    ["fatal: invalid reference: nope", 'unknown-ref'],
    ["fatal: ambiguous argument 'nope': unknown revision or path not in the working tree.", 'unknown-ref'],
    ["fatal: 'a..b' is not a valid branch name", 'invalid-name'],
    ['fatal: something else entirely', 'git-failed'],
  ];
  for (const [output, code] of cases) {
    test(`${code}: ${output.split('\n')[0]}`, () => {
      assert.equal(classifyGitOutput(output), code);
    });
  }

  test('one-line message without the fatal: prefix', () => {
    const err = gitErrorFromOutput("hint: something\nfatal: a branch named 'x' already exists\n", 128);
    assert.equal(err.message, "a branch named 'x' already exists");
    assert.equal(err.exitCode, 128);
    assert.ok(err.gitOutput?.includes('hint: something'));
  });

  test('index-locked message names the lock file', () => {
    const err = gitErrorFromOutput("fatal: Unable to create '/r/.git/index.lock': File exists.\n\nAnother git process...");
    assert.match(err.message, /\/r\/\.git\/index\.lock exists/);
  });
});

describe('parseWorktreeList', () => {
  test('parses branch, detached, bare, locked and prunable entries', () => {
    const out = [
      'worktree /repo',
      'HEAD 1111111111111111111111111111111111111111',
      'branch refs/heads/main',
      '',
      'worktree /wt/a',
      'HEAD 2222222222222222222222222222222222222222',
      'branch refs/heads/feat/a',
      'locked busy here',
      '',
      'worktree /wt/b',
      'HEAD 3333333333333333333333333333333333333333',
      'detached',
      'prunable gitdir file points to non-existent location',
      '',
    ].join('\n');
    const list = parseWorktreeList(out);
    assert.equal(list.length, 3);
    assert.deepEqual(
      list.map((w) => [w.path, w.branch, w.isMain, w.detached, w.locked, w.prunable]),
      [
        [path.resolve('/repo'), 'main', true, false, false, false],
        [path.resolve('/wt/a'), 'feat/a', false, false, true, false],
        [path.resolve('/wt/b'), undefined, false, true, false, true],
      ],
    );
    assert.equal(list[1]!.lockedReason, 'busy here');
    assert.equal(list[2]!.head, '3333333333333333333333333333333333333333');
    assert.deepEqual(parseWorktreeList('worktree /bare.git\nbare\n'), [
      {
        path: path.resolve('/bare.git'),
        head: undefined,
        branch: undefined,
        detached: false,
        bare: true,
        locked: false,
        prunable: false,
        isMain: true,
      },
    ]);
  });
});

describe('GitService (real repositories)', () => {
  let repo: string;
  let svc: GitService;

  before(async () => {
    repo = await makeRepo();
    svc = await GitService.open(repo);
  });

  test('open of a directory outside any repository -> not-a-repository', async () => {
    const dir = await tempDir('nogit-');
    // Guard against a temp dir that happens to be inside a repository on this machine.
    const inside = await simpleGit({ baseDir: dir }).checkIsRepo();
    if (inside) return;
    const err = await expectGitError(GitService.open(dir), 'not-a-repository');
    assert.match(err.message, /is not inside a git repository/);
  });

  test('open of a missing directory -> not-a-repository', async () => {
    const err = await expectGitError(GitService.open(path.join(repo, 'does', 'not', 'exist')), 'not-a-repository');
    assert.match(err.message, /does not exist/);
  });

  test('open of a .git directory -> not-a-repository', async () => {
    await expectGitError(GitService.open(path.join(repo, '.git')), 'not-a-repository');
  });

  test('open from a subdirectory resolves the top level and common dir', async () => {
    await mkdir(path.join(repo, 'sub', 'deeper'), { recursive: true });
    const inner = await GitService.open(path.join(repo, 'sub', 'deeper'));
    assert.equal(inner.topLevel, repo);
    assert.equal(await inner.commonDir(), path.join(repo, '.git'));
  });

  test('currentBranch and mainBranch', async () => {
    assert.equal(await svc.currentBranch(), 'main');
    assert.equal(await svc.mainBranch(), 'main');
  });

  test('branchExists', async () => {
    assert.equal(await svc.branchExists('main'), true);
    assert.equal(await svc.branchExists('nope'), false);
    await simpleGit({ baseDir: repo }).raw(['branch', 'feat/ok']);
    assert.equal(await svc.branchExists('feat/ok'), true);
    await expectGitError(svc.branchExists('-rf'), 'invalid-name');
    await expectGitError(svc.branchExists('../main'), 'invalid-name');
  });

  test('isDirty before/after writing a file, with and without untracked files', async () => {
    const r = await makeRepo();
    const s = await GitService.open(r);
    assert.equal(await s.isDirty(), false);
    await writeFile(path.join(r, 'new.txt'), 'x\n');
    assert.equal(await s.isDirty(), true);
    assert.equal(await s.isDirty({ ignoreUntracked: true }), false);
    await writeFile(path.join(r, 'README.md'), 'changed\n');
    assert.equal(await s.isDirty({ ignoreUntracked: true }), true);
  });

  test('listWorktrees shows the main and a linked worktree with branches', async () => {
    const r = await makeRepo();
    const s = await GitService.open(r);
    const wtDir = path.join(await tempDir('wt-'), 'plan-a');
    await simpleGit({ baseDir: r }).raw(['worktree', 'add', '-b', 'plan/a', wtDir]);

    const list = await s.listWorktrees();
    assert.equal(list.length, 2);
    const [main, linked] = list;
    assert.equal(main!.path, r);
    assert.equal(main!.branch, 'main');
    assert.equal(main!.isMain, true);
    assert.match(main!.head ?? '', /^[0-9a-f]{40}$/);
    assert.equal(linked!.path, wtDir);
    assert.equal(linked!.branch, 'plan/a');
    assert.equal(linked!.isMain, false);
    assert.equal(linked!.detached, false);
    assert.equal(linked!.head, main!.head);

    // Opened through the linked worktree: its own top level and branch, the shared common dir.
    const fromLinked = await GitService.open(wtDir);
    assert.equal(fromLinked.topLevel, wtDir);
    assert.equal(await fromLinked.commonDir(), path.join(r, '.git'));
    assert.equal(await fromLinked.currentBranch(), 'plan/a');
    assert.equal(await fromLinked.mainBranch(), 'main');

    // git's own failures come back with codes.
    const err = await expectGitError(
      s.run((git) => git.raw(['worktree', 'add', path.join(path.dirname(wtDir), 'other'), 'plan/a'])),
      'branch-checked-out',
    );
    assert.ok(err.gitOutput?.includes('plan/a'));
    await expectGitError(s.run((git) => git.raw(['worktree', 'add', wtDir, 'main'])), 'path-exists');
    await expectGitError(s.run((git) => git.raw(['branch', 'plan/a'])), 'branch-exists');
    await expectGitError(s.run((git) => git.raw(['checkout', 'no-such-branch'])), 'unknown-ref');
  });

  test('mainBranch falls back to init.defaultBranch/main/master when the main worktree is detached', async () => {
    const r = await makeRepo();
    const git = simpleGit({ baseDir: r });
    await git.raw(['branch', '-m', 'main', 'master']);
    await git.raw(['checkout', '-q', '--detach']);
    const s = await GitService.open(r);
    assert.equal(await s.currentBranch(), undefined);
    assert.equal(await s.mainBranch(), 'master');
    await git.raw(['branch', 'trunk']);
    await git.raw(['config', 'init.defaultBranch', 'trunk']);
    assert.equal(await s.mainBranch(), 'trunk');
  });

  test('commitAll returns a sha, then undefined when nothing is left', async () => {
    const r = await makeRepo();
    const s = await GitService.open(r);
    await writeFile(path.join(r, 'a.txt'), 'a\n');
    const sha = await s.commitAll('add a');
    assert.match(sha ?? '', /^[0-9a-f]{40}$/);
    assert.equal((await simpleGit({ baseDir: r }).raw(['rev-parse', 'HEAD'])).trim(), sha);
    assert.equal(await s.isDirty(), false);
    assert.equal(await s.commitAll('again'), undefined);
  });

  test('commitAll passes the message as a value, never as an option', async () => {
    const r = await makeRepo();
    const s = await GitService.open(r);
    await writeFile(path.join(r, 'b.txt'), 'b\n');
    const sha = await s.commitAll('--amend');
    assert.ok(sha);
    const git = simpleGit({ baseDir: r });
    assert.equal((await git.raw(['log', '-1', '--format=%s'])).trim(), '--amend');
    assert.equal((await git.raw(['rev-list', '--count', 'HEAD'])).trim(), '2');
    await expectGitError(s.commitAll('   '), 'invalid-name');
  });

  test('commitAll retries while index.lock exists and succeeds once it is gone', async () => {
    const r = await makeRepo();
    const s = await GitService.open(r);
    await writeFile(path.join(r, 'locked.txt'), 'x\n');
    const lock = path.join(r, '.git', 'index.lock');
    await writeFile(lock, '');
    let lockGone = false;
    const removal = new Promise<void>((resolve, reject) => {
      setTimeout(() => rm(lock).then(() => {
        lockGone = true;
        resolve();
      }, reject), 150);
    });
    const sha = await s.commitAll('after lock');
    // The commit could only succeed after the lock was removed: it waited for it (order, not time).
    assert.ok(lockGone, 'the commit succeeded only once the lock was gone');
    await removal;
    assert.match(sha ?? '', /^[0-9a-f]{40}$/);
  });

  test('a lock that stays -> index-locked after the retries', async () => {
    const r = await makeRepo();
    const s = await GitService.open(r, { lockRetryDelaysMs: [20, 20, 20] });
    await writeFile(path.join(r, 'stuck.txt'), 'x\n');
    const lock = path.join(r, '.git', 'index.lock');
    await writeFile(lock, '');
    let attempts = 0;
    const err = await expectGitError(
      s.run(async (git) => {
        attempts++;
        return git.raw(['add', '-A']);
      }),
      'index-locked',
    );
    assert.equal(attempts, 4);
    assert.ok(err.message.includes('index.lock'), err.message);
    // The default schedule also gives up (after about 1.2 s).
    await expectGitError((await GitService.open(r)).commitAll('stuck'), 'index-locked');
    await rm(lock);
    assert.ok(await s.commitAll('unstuck'));
  });

  test('errors thrown by the operation itself pass through unchanged and do not block the queue', async () => {
    const r = await makeRepo();
    const s = await GitService.open(r);
    const mine = new RangeError('mine');
    await assert.rejects(
      s.run(async () => {
        throw mine;
      }),
      (err: unknown) => err === mine,
    );
    await writeFile(path.join(r, 'c.txt'), 'c\n');
    assert.ok(await s.commitAll('after failure'));
  });

  test('parallel commitAll from two GitService instances on the same repository both succeed', async () => {
    const r = await makeRepo();
    const [s1, s2] = await Promise.all([GitService.open(r), GitService.open(path.join(r, '.'))]);
    await writeFile(path.join(r, 'one.txt'), '1\n');
    await writeFile(path.join(r, 'two.txt'), '2\n');
    const [a, b] = await Promise.all([s1.commitAll('one'), s2.commitAll('two')]);
    // Queued in call order: the first commits both files, the second finds nothing left.
    assert.match(a ?? '', /^[0-9a-f]{40}$/);
    assert.equal(b, undefined);
    assert.equal(await s1.isDirty(), false);
  });

  test('run() is serialised per repository across instances and worktrees', async () => {
    const r = await makeRepo();
    const wtDir = path.join(await tempDir('wt-'), 'plan-b');
    await simpleGit({ baseDir: r }).raw(['worktree', 'add', '-q', '-b', 'plan/b', wtDir]);
    const services = await Promise.all([GitService.open(r), GitService.open(r), GitService.open(wtDir)]);
    let inFlight = 0;
    let maxInFlight = 0;
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) => {
        const s = services[i % services.length]!;
        return s.run(async (git) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            await writeFile(path.join(s.topLevel, `f${i}.txt`), `${i}\n`);
            await git.raw(['add', '-A']);
            await git.raw(['commit', '-q', '-m', `commit ${i}`]);
            return (await git.raw(['rev-parse', 'HEAD'])).trim();
          } finally {
            inFlight--;
          }
        });
      }),
    );
    assert.equal(maxInFlight, 1);
    assert.equal(new Set(results).size, 9);
    const git = simpleGit({ baseDir: r });
    assert.equal((await git.raw(['rev-list', '--count', 'main'])).trim(), '7');
    assert.equal((await git.raw(['rev-list', '--count', 'plan/b'])).trim(), '4');
  });

  test('a nested run() inside run() does not deadlock', async () => {
    const r = await makeRepo();
    const s = await GitService.open(r);
    const other = await GitService.open(r);
    await writeFile(path.join(r, 'nested.txt'), 'n\n');
    const sha = await s.run(async () => other.commitAll('nested'));
    assert.match(sha ?? '', /^[0-9a-f]{40}$/);
  });

  test('different repositories do not wait for each other', async () => {
    const [r1, r2] = await Promise.all([makeRepo(), makeRepo()]);
    const [s1, s2] = await Promise.all([GitService.open(r1), GitService.open(r2)]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const blocked = s1.run(() => gate);
    await writeFile(path.join(r2, 'x.txt'), 'x\n');
    assert.ok(await s2.commitAll('independent'));
    release();
    await blocked;
  });
});
