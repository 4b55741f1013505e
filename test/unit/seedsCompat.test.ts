/**
 * A repository in the seeds' layout (their pointer `.claude/current-plan.txt`, a status.json of their
 * shape, plans like seed 001 and 004, seed 004's git-workflow.json) migrates, then runs with the
 * simulated agent; a second migration changes nothing; the backup exists; the old script's view (a
 * stand-in reading `summary` and `tasks` as status-cli.js does) keeps working. Also: `planctl init`'s
 * idempotence and no-overwrite rule, both pointers, file gates in validate, and `serve`'s `api` keys.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPlanctl } from '../../src/cli/planctl.js';
import { apiStartDecision } from '../../src/cli/serveCommands.js';
import { readStatusFile } from '../../src/core/status.js';
import { parseWorkflowConfig } from '../../src/core/workflowConfig.js';
import { starterWorkflowConfig } from '../../src/setup/init.js';
import { SLASH_COMMANDS } from '../../src/setup/slashCommands.js';
import { makeTempRepo, removeTempRepos, type TempRepo } from './helpers/tempRepo.js';
import { runCli, SIM_AGENT_ARGV, simEnv } from './helpers/simAgent.js';

after(removeTempRepos);

/** The seeds sit beside the checkout (../shared/seeds), or where PLAN_SEEDS_DIR says. */
function seedsDir(): string | undefined {
  if (process.env.PLAN_SEEDS_DIR) return existsSync(process.env.PLAN_SEEDS_DIR) ? process.env.PLAN_SEEDS_DIR : undefined;
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) {
      const seeds = path.join(dir, '..', 'shared', 'seeds');
      return existsSync(seeds) ? seeds : undefined;
    }
  }
  return undefined;
}
const SEEDS = seedsDir();
const seed = (n: string): string => readFileSync(path.join(SEEDS!, readdirSync(SEEDS!).find((f) => f.startsWith(`${n}_`))!), 'utf8');

async function planctl(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runPlanctl(args, { out: (s) => (out += `${s}\n`), err: (s) => (err += `${s}\n`), cwd, env });
  return { code, out, err };
}

/** A stand-in for the seeds' status-cli.js: the pointer, then `summary` and the `tasks` array. */
const OLD_SCRIPT = `const fs = require('fs');
const plan = fs.readFileSync('.claude/current-plan.txt', 'utf8').trim();
const name = plan.split('/').pop().replace(/\\.md$/, '');
const status = JSON.parse(fs.readFileSync('docs/plan-outputs/' + name + '/status.json', 'utf8'));
const s = status.summary;
const done = status.tasks.filter((t) => t.status === 'completed').map((t) => t.id);
console.log(JSON.stringify({ plan, phase: status.currentPhase, runs: status.runs.length, total: s.total, completed: s.completed, pending: s.pending, done }));
`;
const oldView = (dir: string): { plan: string; phase: number; runs: number; total: number; completed: number; pending: number; done: string[] } =>
  JSON.parse(execFileSync(process.execPath, ['scripts/status-cli.cjs'], { cwd: dir, encoding: 'utf8' }));

const PLAN1 = 'docs/plans/parallel-execution-architecture.md';
const OUT1 = 'docs/plan-outputs/parallel-execution-architecture';

/** Their status.json: tasks as an array with description and phase, a summary, runs, currentPhase. */
function seedsStatus(ids: string[], completed: string[]): string {
  const tasks = ids.map((id) => ({
    id,
    description: `Task ${id}`,
    phase: Number(id.split('.')[0]),
    status: completed.includes(id) ? 'completed' : 'pending',
    ...(completed.includes(id) ? { completedAt: '2025-12-25T10:00:00.000Z' } : {}),
  }));
  return `${JSON.stringify(
    {
      planPath: PLAN1,
      planName: 'parallel-execution-architecture',
      currentPhase: 1,
      runs: [{ startedAt: '2025-12-25T09:00:00.000Z', tasks: completed }],
      summary: { total: ids.length, completed: completed.length, pending: ids.length - completed.length, in_progress: 0, failed: 0, skipped: 0 },
      tasks,
    },
    null,
    2,
  )}\n`;
}

/** Every file's bytes under the repository (git internals and logs aside): "changes nothing" is this equal. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.set(`${path.relative(dir, p)}/`, '');
        await walk(p);
      } else out.set(path.relative(dir, p), await readFile(p, 'utf8'));
    }
  };
  await walk(dir);
  return out;
}

describe('a repository in the seeds\' layout', { skip: SEEDS ? false : 'the seeds are not beside this checkout (../shared/seeds); set PLAN_SEEDS_DIR' }, () => {
  let repo: TempRepo;

  test('migrates: backup, fields kept, pointers agree, 80% overlap on; a second migration changes nothing', async () => {
    const plan1 = seed('001');
    const ids = [...plan1.matchAll(/^- \[ \] (\d+\.\d+) /gm)].map((m) => m[1]!);
    const config004 = /## Configuration\s+```json\n([\s\S]*?)```/.exec(seed('004'))![1]!;
    repo = await makeTempRepo({
      [PLAN1]: plan1,
      'docs/plans/git-workflow-phase5-worktrees.md': seed('004'),
      '.claude/current-plan.txt': `${PLAN1}\n`,
      [`${OUT1}/status.json`]: seedsStatus(ids, ['1.1', '1.2']),
      'git-workflow.json': config004,
      'scripts/status-cli.cjs': OLD_SCRIPT,
    });
    const before = oldView(repo.dir);
    assert.deepEqual([before.total, before.completed, before.done], [ids.length, 2, ['1.1', '1.2']]);
    const original = await readFile(path.join(repo.dir, OUT1, 'status.json'), 'utf8');

    const check = await planctl(repo.dir, ['migrate', '--check']);
    assert.equal(check.code, 1, 'changes pending');
    assert.match(check.out, /would back up/);
    assert.equal(await readFile(path.join(repo.dir, OUT1, 'status.json'), 'utf8'), original, '--check writes nothing');
    assert.ok(!existsSync(path.join(repo.dir, '.claude-context/current-plan.txt')));

    const first = await planctl(repo.dir, ['migrate']);
    assert.equal(first.code, 0, first.err);
    assert.equal(await readFile(path.join(repo.dir, OUT1, 'status.json.bak'), 'utf8'), original, 'the backup is their file as it was');
    const migrated = JSON.parse(await readFile(path.join(repo.dir, OUT1, 'status.json'), 'utf8'));
    assert.equal(migrated.schemaVersion, 1);
    assert.ok(Array.isArray(migrated.tasks));
    assert.equal(migrated.currentPhase, 1);
    assert.deepEqual(migrated.runs, [{ startedAt: '2025-12-25T09:00:00.000Z', tasks: ['1.1', '1.2'] }]);
    assert.equal(migrated.tasks[0].description, 'Task 1.1');
    assert.equal((await readFile(path.join(repo.dir, '.claude-context/current-plan.txt'), 'utf8')).trim(), PLAN1);
    const config = JSON.parse(await readFile(path.join(repo.dir, 'git-workflow.json'), 'utf8'));
    assert.equal(config.plans.phase_overlap, 0.8);
    assert.deepEqual(config.api, { enabled: false, port: 3100, auth_required: true }, 'the rest of their config is kept');
    assert.ok(existsSync(path.join(repo.dir, OUT1, 'findings')));
    assert.deepEqual(oldView(repo.dir), before, 'the old script sees what it saw');

    const snap = await snapshot(repo.dir);
    const second = await planctl(repo.dir, ['migrate']);
    assert.equal(second.code, 0);
    assert.match(second.out, /nothing to migrate/);
    assert.deepEqual(await snapshot(repo.dir), snap, 'a second migration changes nothing');
    assert.equal((await planctl(repo.dir, ['migrate', '--check'])).code, 0);
  });

  test('then runs with the simulated agent: file gates checked, other VERIFY items not checked, the old script still reads it', async () => {
    assert.equal((await planctl(repo.dir, ['init'])).code, 0);
    repo.commitAll('migrated to planctl');
    const validate = JSON.parse((await planctl(repo.dir, ['validate', '--json'])).out) as { files: Array<{ taskId: string; files: string[] }>; commands: unknown[] };
    assert.deepEqual(validate.commands, []);
    assert.deepEqual(validate.files.map((f) => [f.taskId, f.files]), [
      ['V1.1', ['findings/1-architecture.md']],
      ['V2.1', ['findings/2-parallel-plans.md']],
      ['V3.1', ['findings/3-parallel-phases.md']],
      ['V4.1', ['findings/4-parallel-tasks.md']],
      ['V5.1', ['findings/5-patterns.md']],
      ['V6.1', ['findings/6-recommendations.md']],
    ]);
    const findings: Record<string, string> = { '1.3': '1-architecture.md', '2.1': '2-parallel-plans.md', '3.1': '3-parallel-phases.md', '4.1': '4-parallel-tasks.md', '5.1': '5-patterns.md' };
    const env = simEnv({ PLAN_SIM_MS_PER_MINUTE: '1', PLAN_SIM_FINDINGS: Object.entries(findings).map(([id, f]) => `${id}:${OUT1}/findings/${f}`).join(',') });
    // No task writes 6-recommendations.md: that gate must fail and say so.
    const res = await runCli(['orchestrate', '--in-place', '--max-parallel', '3', '--agent', JSON.stringify(SIM_AGENT_ARGV)], repo.dir, env).done;
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    assert.match(res.out, /V2\.1 file gate: docs\/plan-outputs\/parallel-execution-architecture\/findings\/2-parallel-plans\.md \(\d+ bytes\)/);
    assert.match(res.out, /V1\.2 not checked/);
    assert.match(res.out, /✗ V6\.1 failed: file gate: docs\/plan-outputs\/parallel-execution-architecture\/findings\/6-recommendations\.md was not written/);
    const s = (await readStatusFile(path.join(repo.dir, OUT1, 'status.json')))!;
    for (const id of Object.keys(findings)) assert.equal(s.tasks[id]!.status, 'completed', id);
    assert.equal(s.tasks['V6.1']!.status, 'failed');
    assert.equal(s.tasks['V2.2']!.history.at(-1)!.note, 'not checked: the VERIFY item has no command');

    // The old script: same pointer, and counts that match the tasks.
    const view = oldView(repo.dir);
    assert.equal(view.plan, PLAN1);
    const onDisk = JSON.parse(await readFile(path.join(repo.dir, OUT1, 'status.json'), 'utf8'));
    assert.equal(view.completed, onDisk.tasks.filter((t: { status: string }) => t.status === 'completed').length);
    assert.equal(view.total, onDisk.tasks.length);
    assert.ok(view.done.includes('6.4'));
    assert.equal(view.runs, 1, 'their runs are kept');

    // Written by a task, the deliverable is committed; a second run passes once the missing file exists.
    await writeFile(path.join(repo.dir, OUT1, 'findings/6-recommendations.md'), '# Recommendations\n');
    repo.commitAll('the recommendations');
    const again = await runCli(['orchestrate', '--in-place', '--agent', JSON.stringify(SIM_AGENT_ARGV)], repo.dir, env).done;
    assert.equal(again.code, 0, `${again.out}\n${again.err}`);
    assert.equal((await readStatusFile(path.join(repo.dir, OUT1, 'status.json')))!.tasks['V6.1']!.status, 'completed');
  });
});

describe('planctl init', () => {
  test('writes the commands, a starter config and ignore entries; a second run changes nothing', async () => {
    const repo = await makeTempRepo({ '.gitignore': 'node_modules/\n' });
    const first = await planctl(repo.dir, ['init', '--json']);
    assert.equal(first.code, 0, first.err);
    const report = JSON.parse(first.out) as { files: Array<{ file: string; action: string }> };
    assert.deepEqual(report.files.filter((f) => f.file.startsWith('.claude/commands/plan/')).map((f) => [f.file, f.action]), SLASH_COMMANDS.map((c) => [`.claude/commands/plan/${c.name}.md`, 'created']));
    for (const c of SLASH_COMMANDS) {
      const text = await readFile(path.join(repo.dir, `.claude/commands/plan/${c.name}.md`), 'utf8');
      assert.match(text, /^---\ndescription: ".+"\n(argument-hint: ".+"\n)?allowed-tools: Bash\(planctl \w+:\*\)/, c.name);
      assert.match(text, /planctl/);
    }
    const status = await readFile(path.join(repo.dir, '.claude/commands/plan/status.md'), 'utf8');
    assert.match(status, /^!`planctl status`$/m);
    assert.match(await readFile(path.join(repo.dir, '.claude/commands/plan/start.md'), 'utf8'), /planctl start \$ARGUMENTS/);
    const ignore = await readFile(path.join(repo.dir, '.gitignore'), 'utf8');
    assert.match(ignore, /^node_modules\/\n\n# Plan Orchestrator/);
    assert.match(ignore, /^\.claude-context\/$/m);
    parseWorkflowConfig(JSON.parse(await readFile(path.join(repo.dir, 'git-workflow.json'), 'utf8')), 'git-workflow.json');
    assert.equal(await readFile(path.join(repo.dir, 'git-workflow.json'), 'utf8'), starterWorkflowConfig());

    const snap = await snapshot(repo.dir);
    const second = JSON.parse((await planctl(repo.dir, ['init', '--json'])).out) as { files: Array<{ action: string }> };
    assert.ok(second.files.every((f) => f.action === 'unchanged'), JSON.stringify(second.files));
    assert.deepEqual(await snapshot(repo.dir), snap);
  });

  test('never overwrites a file the user changed (or the seeds\' own command): writes <file>.new and says so', async () => {
    const repo = await makeTempRepo({ '.claude/commands/plan/next.md': '# the seeds\' own /plan:next\nnode scripts/status-cli.js next 5\n', 'git-workflow.json': '{ "worktrees": { "max_concurrent": 2 } }\n' });
    assert.equal((await planctl(repo.dir, ['init'])).code, 0);
    const statusFile = path.join(repo.dir, '.claude/commands/plan/status.md');
    const generated = await readFile(statusFile, 'utf8');
    await writeFile(statusFile, `${generated}\nAlso mention the weather.\n`);

    const r = await planctl(repo.dir, ['init']);
    assert.equal(r.code, 0);
    assert.match(r.out, /kept +\.claude\/commands\/plan\/status\.md: .*the new version is in \.claude\/commands\/plan\/status\.md\.new/);
    assert.match(r.out, /kept +\.claude\/commands\/plan\/next\.md/);
    assert.match(await readFile(statusFile, 'utf8'), /the weather/, 'the user\'s version stays');
    assert.equal(await readFile(`${statusFile}.new`, 'utf8'), generated);
    assert.match(await readFile(path.join(repo.dir, '.claude/commands/plan/next.md'), 'utf8'), /status-cli\.js/);
    assert.equal(await readFile(path.join(repo.dir, 'git-workflow.json'), 'utf8'), '{ "worktrees": { "max_concurrent": 2 } }\n', 'their config is theirs');

    const snap = await snapshot(repo.dir);
    assert.equal((await planctl(repo.dir, ['init'])).code, 0);
    assert.deepEqual(await snapshot(repo.dir), snap, 'idempotent with kept files too');

    // A file still as init wrote it is init's to update (a newer planctl's text).
    const manifest = JSON.parse(await readFile(path.join(repo.dir, '.claude/plan-orchestrator.json'), 'utf8')) as { files: Record<string, string> };
    const validate = path.join(repo.dir, '.claude/commands/plan/validate.md');
    const older = 'an older generated text\n';
    await writeFile(validate, older);
    manifest.files['.claude/commands/plan/validate.md'] = (await import('node:crypto')).createHash('sha256').update(older).digest('hex');
    await writeFile(path.join(repo.dir, '.claude/plan-orchestrator.json'), JSON.stringify(manifest));
    const upd = await planctl(repo.dir, ['init']);
    assert.match(upd.out, /updated +\.claude\/commands\/plan\/validate\.md/);
    assert.match(await readFile(validate, 'utf8'), /planctl validate/);
  });
});

describe('pointers, file gates, serve', () => {
  test('planctl use writes both pointers, which agree, and the findings folder', async () => {
    const repo = await makeTempRepo({ 'docs/plans/a.md': '# Plan: A\n\n## Phase 1: X\n- [ ] 1.1 Do\n' });
    assert.equal((await planctl(repo.dir, ['use', 'docs/plans/a.md'])).code, 0);
    for (const p of ['.claude-context/current-plan.txt', '.claude/current-plan.txt']) assert.equal((await readFile(path.join(repo.dir, p), 'utf8')).trim(), 'docs/plans/a.md', p);
    assert.ok((await stat(path.join(repo.dir, 'docs/plan-outputs/a/findings'))).isDirectory());
  });

  test('a VERIFY item that names a produced file is a file gate; one that names none stays "not checked"', async () => {
    const plan = `# Plan: G

## Phase 1: Write
- [ ] 1.1 Write the report (est: 1m)
- [ ] 1.2 Write the notes (est: 1m)

**VERIFY Phase 1:**
- [ ] Report documented in \`findings/report.md\`
- [ ] Notes written to \`docs/notes.md\`
- [ ] Everything reads well
- [ ] \`$ node -e "process.exit(0)"\` passes
`;
    const repo = await makeTempRepo({ 'docs/plans/g.md': plan });
    const v = JSON.parse((await planctl(repo.dir, ['validate', 'docs/plans/g.md', '--json'])).out) as { files: Array<{ taskId: string; files: string[] }>; commands: Array<{ taskId: string }> };
    assert.deepEqual(v.files.map((f) => [f.taskId, f.files]), [['V1.1', ['findings/report.md']], ['V1.2', ['docs/notes.md']]]);
    assert.deepEqual(v.commands.map((c) => c.taskId), ['V1.4']);
    const env = simEnv({ PLAN_SIM_MS_PER_MINUTE: '1', PLAN_SIM_FINDINGS: '1.1:docs/plan-outputs/g/findings/report.md,1.2:docs/notes.md' });
    const res = await runCli(['orchestrate', '--in-place', '--approve-commands', '--plan', 'docs/plans/g.md', '--agent', JSON.stringify(SIM_AGENT_ARGV)], repo.dir, env).done;
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    const s = (await readStatusFile(path.join(repo.dir, 'docs/plan-outputs/g/status.json')))!;
    assert.match(s.tasks['V1.1']!.history.at(-1)!.note!, /^file gate: docs\/plan-outputs\/g\/findings\/report\.md \(\d+ bytes\)$/);
    assert.match(s.tasks['V1.2']!.history.at(-1)!.note!, /^file gate: docs\/notes\.md/);
    assert.equal(s.tasks['V1.3']!.history.at(-1)!.note, 'not checked: the VERIFY item has no command');
    // An empty file does not pass.
    await writeFile(path.join(repo.dir, 'docs/notes.md'), '');
    repo.commitAll('emptied');
    await planctl(repo.dir, ['reset', 'V1.2', '--plan', 'docs/plans/g.md']);
    const again = await runCli(['orchestrate', '--in-place', '--plan', 'docs/plans/g.md', '--agent', JSON.stringify(SIM_AGENT_ARGV)], repo.dir, env).done;
    assert.equal(again.code, 1);
    assert.match(again.out, /V1\.2 failed: file gate: docs\/notes\.md is empty/);
  });

  test("serve honours git-workflow.json's api section", async () => {
    assert.deepEqual(apiStartDecision({}, {}), {});
    assert.deepEqual(apiStartDecision({ port: 4100 }, {}), { port: 4100 });
    assert.deepEqual(apiStartDecision({ port: 4100 }, { port: 0 }), { port: 0 }, '--port wins');
    assert.throws(() => apiStartDecision({ enabled: false }, {}), /api\.enabled: false.*--force/);
    assert.deepEqual(apiStartDecision({ enabled: false, port: 4200 }, { force: true }), { port: 4200 });
    assert.throws(() => apiStartDecision({ auth_required: false }, { force: true }), /auth_required is false.*always requires its bearer token/);
    const repo = await makeTempRepo({ 'git-workflow.json': JSON.stringify({ api: { enabled: false, port: 3100, auth_required: true } }) });
    const r = await planctl(repo.dir, ['serve', '--port', '0']);
    assert.equal(r.code, 2);
    assert.match(r.err, /api\.enabled: false, so the API is not started/);
    await repo.write('git-workflow.json', JSON.stringify({ api: { port: 'x' } }));
    assert.match((await planctl(repo.dir, ['serve'])).err, /api\.port/);
  });
});
