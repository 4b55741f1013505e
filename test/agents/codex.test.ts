/**
 * `planctl orchestrate` with `agent.kind: "codex"` in git-workflow.json, the real Codex CLI, against a
 * scripted Responses API on 127.0.0.1 (a custom model provider in the run's CODEX_HOME).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempRepo, removeTempRepos, tempDir, type TempRepo } from '../unit/helpers/tempRepo.js';
import { codexConfig, startScriptedResponses, type ResponsesContext, type ResponsesReply, type ScriptedResponses } from './scriptedResponses.js';
import { agentBinDir, missing, NOTES_FILES, NOTES_PLAN, notesStatus, orchestrateNotes } from './realAgents.js';

const skip = missing('codex');
if (skip) console.log(`# skipping the Codex tests: ${skip}`);

const PLAN = NOTES_PLAN;
const FILES = NOTES_FILES;
const taskIdOf = (prompt: string) => /^# Task (\S+):/m.exec(prompt)?.[1];
const addFile = (file: string, line: string) => `*** Begin Patch\n*** Add File: ${file}\n+${line}\n*** End Patch\n`;

let binDir: string;
let server: ScriptedResponses | undefined;

before(async () => {
  if (!skip) binDir = await agentBinDir();
});
after(async () => {
  await server?.close();
  await removeTempRepos();
  if (binDir) await rm(binDir, { recursive: true, force: true });
});

async function setUp(script: (ctx: ResponsesContext) => ResponsesReply) {
  await server?.close();
  server = await startScriptedResponses(script);
  const repo = await makeTempRepo({ 'README.md': '# notes\n', 'docs/plans/notes.md': PLAN, 'git-workflow.json': '{ "agent": { "kind": "codex" } }\n' });
  const base = await tempDir('planctl-codex-');
  const codexHome = path.join(base, 'codex-home');
  await mkdir(codexHome, { recursive: true });
  await writeFile(path.join(codexHome, 'config.toml'), codexConfig(server.url));
  const env: NodeJS.ProcessEnv = { PATH: `${binDir}${path.delimiter}${process.env.PATH ?? ''}`, HOME: path.join(base, 'home'), CODEX_HOME: codexHome, SCRIPTED_API_KEY: 'sk-test', LANG: 'C.UTF-8' };
  await mkdir(env.HOME!, { recursive: true });
  const status = () => notesStatus(repo.dir);
  return { repo, env, status };
}

const orchestrate = (repo: TempRepo, env: NodeJS.ProcessEnv, extra: string[] = []) => orchestrateNotes(repo.dir, env, extra);

describe('planctl orchestrate with the real Codex CLI', { skip }, () => {
  test('two parallel tasks and one that depends on both each write a file, each in its own commit', async () => {
    const { repo, env, status } = await setUp((ctx) => {
      const id = taskIdOf(ctx.prompt)!;
      if (ctx.outputs.length === 0) return { custom: { name: 'apply_patch', input: addFile(FILES[id]!, `// task ${id}`) } };
      return { text: `Task ${id} is done.` };
    });
    const res = await orchestrate(repo, env);
    assert.equal(res.code, 0, `exit 0\n${res.out}\n${res.err}`);
    for (const [id, file] of Object.entries(FILES)) {
      const sha = repo.git(['log', '--format=%H', '--grep', `^task ${id}:`]);
      assert.ok(sha, `a commit for ${id}`);
      assert.equal(repo.git(['show', '--name-only', '--format=', sha]), file, `${id}'s commit holds ${file} only`);
      assert.equal(await readFile(path.join(repo.dir, file), 'utf8'), `// task ${id}\n`);
    }
    const s = await status();
    for (const id of Object.keys(FILES)) {
      assert.equal(s.tasks[id]!.status, 'completed', id);
      assert.match(s.tasks[id]!.run?.sessionId ?? '', /^[0-9a-f-]{36}$/, `${id} has its Codex thread`);
      assert.equal(s.tasks[id]!.run?.kind, 'codex');
    }
  });

  test('a patch the sandbox refuses fails the task and names what was refused', async () => {
    // Not under /tmp: Codex's workspace-write sandbox lets agents write there.
    const outside = `/var/tmp/plan-denied-${process.pid}.txt`;
    const { repo, env, status } = await setUp((ctx) => {
      const id = taskIdOf(ctx.prompt)!;
      if (id === '1.1' && ctx.outputs.length === 0) return { custom: { name: 'apply_patch', input: addFile(outside, 'nope') } };
      if (id !== '1.1' && ctx.outputs.length === 0) return { custom: { name: 'apply_patch', input: addFile(FILES[id]!, `// ${id}`) } };
      return { text: id === '1.1' ? 'The patch was rejected.' : 'done' };
    });
    const res = await orchestrate(repo, env, ['--retries', '0']);
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    const s = await status();
    assert.equal(s.tasks['1.1']!.status, 'failed');
    assert.match(s.tasks['1.1']!.lastError ?? '', /^permission denied: apply_patch/);
    assert.ok(!existsSync(outside), 'nothing was written outside the worktree');
    assert.equal(s.tasks['1.2']!.status, 'completed');
  });

  test('an API error fails the task with the error', async () => {
    const { repo, env, status } = await setUp(() => ({ error: { status: 429, message: 'slow down' } }));
    const res = await orchestrate(repo, env, ['--retries', '0']);
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    const s = await status();
    assert.equal(s.tasks['1.1']!.status, 'failed');
    assert.match(s.tasks['1.1']!.lastError ?? '', /^API error 429: /);
    assert.equal(repo.git(['log', '--format=%s']), 'initial', 'nothing committed');
  });

  test('a model stream that hangs times out', async () => {
    const { repo, env, status } = await setUp((ctx) => (taskIdOf(ctx.prompt) === '1.1' ? { hang: true } : { text: 'Nothing to do.' }));
    const res = await orchestrate(repo, env, ['--retries', '0', '--timeout', '4']);
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    const s = await status();
    assert.equal(s.tasks['1.1']!.lastError, 'timed out after 4 s');
    assert.equal(s.tasks['1.2']!.lastError, 'no changes made: the agent ended without changing a file or writing findings');
  });
});
