/**
 * `planctl orchestrate` with its default agent, the real Claude Code CLI, against a scripted Anthropic
 * API on 127.0.0.1. Nothing here is simulated but the model's answers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { makeTempRepo, removeTempRepos, tempDir, type TempRepo } from '../unit/helpers/tempRepo.js';
import { startScriptedAnthropic, taskIdOf, type Reply, type ScriptContext, type ScriptedAnthropic } from './scriptedAnthropic.js';
import { agentBinDir, claudeEnv, missing, NOTES_FILES, NOTES_PLAN, notesStatus, orchestrateNotes, planctl } from './realAgents.js';

const skip = missing('claude');
if (skip) console.log(`# skipping the Claude Code tests: ${skip}`);

const PLAN = NOTES_PLAN;
const FILES = NOTES_FILES;

/** The worktree our prompt names: Claude Code's Write tool takes absolute paths. */
const worktreeOf = (prompt: string): string => /Work only inside (\S+) and only/.exec(prompt)![1]!;

let binDir: string;
let server: ScriptedAnthropic | undefined;
const dirs: string[] = [];

before(async () => {
  if (!skip) binDir = await agentBinDir();
});
after(async () => {
  await server?.close();
  await removeTempRepos();
  if (binDir) await rm(binDir, { recursive: true, force: true });
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function setUp(script: (ctx: ScriptContext) => Reply | Promise<Reply>): Promise<{ repo: TempRepo; env: NodeJS.ProcessEnv; status: () => ReturnType<typeof notesStatus> }> {
  await server?.close();
  server = await startScriptedAnthropic(script);
  const repo = await makeTempRepo({ 'README.md': '# notes\n', 'docs/plans/notes.md': PLAN });
  const home = path.join(await tempDir('planctl-claude-home-'), 'home');
  const env = await claudeEnv(server.url, home, binDir);
  const status = () => notesStatus(repo.dir);
  return { repo, env, status };
}

const orchestrate = (repo: TempRepo, env: NodeJS.ProcessEnv, extra: string[] = []) => orchestrateNotes(repo.dir, env, extra);

describe('planctl orchestrate with the real Claude Code CLI', { skip }, () => {
  test('two parallel tasks and one that depends on both each write a file, each in its own commit', async () => {
    const started = new Map<string, number>();
    const { repo, env, status } = await setUp((ctx) => {
      const id = taskIdOf(ctx.prompt)!;
      if (ctx.turn === 0) {
        started.set(id, Date.now());
        const file = path.join(worktreeOf(ctx.prompt), FILES[id]!);
        return { content: [{ type: 'text', text: `Writing ${FILES[id]}.` }, { type: 'tool_use', name: 'Write', input: { file_path: file, content: `// task ${id}\nexport const t${id.replace('.', '_')} = true;\n` } }] };
      }
      assert.ok(!ctx.toolResults[0]?.isError, `the Write of ${id} succeeded: ${ctx.toolResults[0]?.text}`);
      return { content: [{ type: 'text', text: `Task ${id} is done.` }] };
    });
    const res = await orchestrate(repo, env);
    assert.equal(res.code, 0, `exit 0\n${res.out}\n${res.err}`);
    assert.match(res.out, /3 done, 0 failed/);

    // Every file in the commit of the task that wrote it, and nothing else in that commit.
    for (const [id, file] of Object.entries(FILES)) {
      const sha = repo.git(['log', '--format=%H', '--grep', `^task ${id}:`]);
      assert.ok(sha, `a commit for ${id}`);
      assert.equal(repo.git(['show', '--name-only', '--format=', sha]), file, `${id}'s commit holds ${file} only`);
      assert.equal(await readFile(path.join(repo.dir, file), 'utf8'), `// task ${id}\nexport const t${id.replace('.', '_')} = true;\n`);
    }
    const s = await status();
    for (const id of Object.keys(FILES)) {
      const rec = s.tasks[id]!;
      assert.equal(rec.status, 'completed', id);
      assert.match(rec.run?.sessionId ?? '', /^[0-9a-f-]{36}$/, `${id} has its agent session`);
      assert.ok((rec.run?.costUsd ?? 0) > 0, `${id} has its cost`);
      assert.match(rec.run?.commit ?? '', /^[0-9a-f]{40}$/);
    }
    // 1.3 was told what its dependencies did, with their commits.
    const prompt13 = server!.requests.find((r) => r.kind === 'main' && taskIdOf(r.prompt ?? '') === '1.3')!.prompt!;
    for (const dep of ['1.1', '1.2']) assert.match(prompt13, new RegExp(`- ${dep.replace('.', '\\.')} Write the .* \\(completed, commit ${s.tasks[dep]!.run!.commit!.slice(0, 12)}\\)`));
    assert.match(prompt13, /docs\/plan-outputs\/notes\/findings/);
    assert.ok(existsSync(path.join(repo.dir, 'docs/plan-outputs/notes/findings')), 'the findings folder exists');
    // 1.1 and 1.2 ran side by side: each started before the other's agent finished.
    assert.ok(started.has('1.1') && started.has('1.2'));
    assert.equal(repo.git(['status', '--porcelain', '--', 'src']), '', 'nothing left uncommitted');
  });

  test('a task whose agent is denied Bash is not completed; approve + retry resumes the session and completes it', async () => {
    let resumed = false;
    const { repo, env, status } = await setUp((ctx) => {
      const id = taskIdOf(ctx.prompt)!;
      if (id !== '1.1') {
        const file = path.join(worktreeOf(ctx.prompt), FILES[id]!);
        return ctx.turn === 0 ? { content: [{ type: 'tool_use', name: 'Write', input: { file_path: file, content: `// ${id}\n` } }] } : { content: [{ type: 'text', text: 'done' }] };
      }
      // The model asks for the same command until it gets its output.
      const last = ctx.toolResults[0];
      if (last && !last.isError) {
        resumed = /requires approval/.test(ctx.transcript);
        return { content: [{ type: 'text', text: 'Deployed the cache.' }] };
      }
      if (last?.isError && ctx.turn === 1) return { content: [{ type: 'text', text: 'I was not allowed to run the deploy command.' }] };
      return { content: [{ type: 'tool_use', name: 'Bash', input: { command: 'make deploy-prod', description: 'deploy' } }] };
    });
    await repo.write('Makefile', 'deploy-prod:\n\ttouch deployed.txt\n');
    repo.commitAll('a deploy target');
    const first = await orchestrate(repo, env, ['--retries', '0']);
    assert.equal(first.code, 1, `${first.out}\n${first.err}`);
    assert.match(first.out, /\? 1\.1 needs approval: Bash\(make deploy-prod\)/);
    let s = await status();
    assert.equal(s.tasks['1.1']!.status, 'failed');
    assert.equal(s.tasks['1.1']!.lastError, 'permission denied: Bash(make deploy-prod)');
    assert.deepEqual(s.tasks['1.1']!.run?.needsApproval, [{ tool: 'Bash', input: 'make deploy-prod', rule: 'Bash(make deploy-prod)' }]);
    assert.equal(s.tasks['1.2']!.status, 'completed', 'the other tasks went on');
    assert.equal(s.tasks['1.3']?.status ?? 'pending', 'pending', '1.3 waits for 1.1');
    assert.ok(!existsSync(path.join(repo.dir, 'deployed.txt')));

    const approve = await planctl(['approve', '1.1', '--plan', 'docs/plans/notes.md'], repo.dir, env);
    assert.equal(approve.code, 0, approve.err);
    assert.match(approve.out, /allowed Bash\(make deploy-prod\)/);
    const agentFile = JSON.parse(await readFile(path.join(repo.dir, 'docs/plan-outputs/notes/agent.json'), 'utf8')) as { allowedTools: string[] };
    assert.deepEqual(agentFile.allowedTools, ['Bash(make deploy-prod)']);
    s = await status();
    assert.equal(s.tasks['1.1']!.status, 'pending');
    assert.equal(s.tasks['1.1']!.run?.resume, true);

    const second = await orchestrate(repo, env);
    assert.equal(second.code, 0, `${second.out}\n${second.err}`);
    assert.ok(resumed, 'the retry continued the denied conversation');
    s = await status();
    assert.equal(s.tasks['1.1']!.status, 'completed');
    assert.equal(s.tasks['1.3']!.status, 'completed');
    assert.equal(repo.git(['show', '--name-only', '--format=', repo.git(['log', '--format=%H', '--grep', '^task 1.1:'])]), 'deployed.txt');
  });

  test('an API error fails the task with the error', async () => {
    const { repo, env, status } = await setUp(() => ({ error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } }));
    const res = await orchestrate(repo, env, ['--retries', '0']);
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    const s = await status();
    assert.equal(s.tasks['1.1']!.status, 'failed');
    assert.equal(s.tasks['1.1']!.lastError, 'API error 529 (overloaded)');
    assert.match(res.out, /✗ 1\.1 failed: API error 529 \(overloaded\)/);
    assert.equal(repo.git(['log', '--format=%s']), 'initial', 'nothing committed');
  });

  test('a model stream that hangs times out, and the agent is stopped', async () => {
    const { repo, env, status } = await setUp((ctx) => (taskIdOf(ctx.prompt) === '1.1' ? { hang: true } : { content: [{ type: 'text', text: 'Nothing to do.' }] }));
    const res = await orchestrate(repo, env, ['--retries', '0', '--timeout', '4']);
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    const s = await status();
    assert.equal(s.tasks['1.1']!.status, 'failed');
    assert.equal(s.tasks['1.1']!.lastError, 'timed out after 4 s');
    // 1.2's agent answered without touching a file: a real agent that changed nothing did not do the task.
    assert.equal(s.tasks['1.2']!.status, 'failed');
    assert.equal(s.tasks['1.2']!.lastError, 'no changes made: the agent ended without changing a file or writing findings');
  });

  test('--max-cost stops starting tasks once the plan has spent that much', async () => {
    const { repo, env, status } = await setUp((ctx) => {
      const id = taskIdOf(ctx.prompt)!;
      const file = path.join(worktreeOf(ctx.prompt), FILES[id]!);
      // Many tokens: Claude Code prices them at its model's rates, well above the limit.
      return ctx.turn === 0
        ? { content: [{ type: 'tool_use', name: 'Write', input: { file_path: file, content: `// ${id}\n` } }], usage: { input_tokens: 200_000, output_tokens: 20_000 } }
        : { content: [{ type: 'text', text: 'done' }], usage: { input_tokens: 200_000, output_tokens: 20_000 } };
    });
    const res = await orchestrate(repo, env, ['--max-parallel', '1', '--max-cost', '0.5']);
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    assert.match(res.out, /\$ the plan has cost \$\d+\.\d\d of \$0\.50: no new tasks are started/);
    const s = await status();
    const ran = Object.entries(s.tasks).filter(([, r]) => r.status === 'completed').map(([id]) => id);
    assert.equal(ran.length, 1, `one task ran before the limit: ${ran.join(', ')}`);
    assert.ok((s.tasks[ran[0]!]!.run?.totalCostUsd ?? 0) >= 0.5);
    assert.match(res.out, /2 not run/);
  });

  test('an agent that prints nothing for the idle timeout is stopped', async () => {
    const { repo, env, status } = await setUp(() => ({ hang: true }));
    const res = await orchestrate(repo, env, ['--retries', '0', '--idle-timeout', '2']);
    assert.equal(res.code, 1, `${res.out}\n${res.err}`);
    const s = await status();
    assert.equal(s.tasks['1.1']!.lastError, 'no output for 2 s; the agent was stopped');
  });

  test("the prompt template of git-workflow.json's agent.promptFile is used, with its placeholders filled", async () => {
    const prompts = new Map<string, string>();
    const { repo, env } = await setUp((ctx) => {
      const id = /^Task (\S+) of/m.exec(ctx.prompt)![1]!;
      // Claude Code puts a <system-reminder> block before the prompt it was given.
      prompts.set(id, ctx.prompt.slice(ctx.prompt.indexOf('Task ')));
      const file = path.join(/in (\/\S+)\.$/m.exec(ctx.prompt)![1]!, FILES[id]!);
      return ctx.turn === 0 ? { content: [{ type: 'tool_use', name: 'Write', input: { file_path: file, content: `// ${id}\n` } }] } : { content: [{ type: 'text', text: 'done' }] };
    });
    await repo.write('docs/prompts/task.md', 'Task {{task.id}} of {{plan.title}}: {{task.title}}\nFiles:\n{{files}}\nAfter:\n{{dependencies}}\nNotes go to {{findings}}; {{unknown}} stays.\nWork in {{worktree}}.\n');
    await repo.write('git-workflow.json', '{ "agent": { "promptFile": "docs/prompts/task.md" } }\n');
    repo.commitAll('prompt template');
    const res = await orchestrate(repo, env);
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    assert.equal(
      prompts.get('1.3'),
      `Task 1.3 of Notes cache: Wire them together in src/index.ts\nFiles:\n- \`src/index.ts\`\nAfter:\n- 1.1 Write the cache in src/cache.ts (completed, commit ${repo.git(['log', '--format=%H', '--grep', '^task 1.1:']).slice(0, 12)})\n- 1.2 Write the store in src/store.ts (completed, commit ${repo.git(['log', '--format=%H', '--grep', '^task 1.2:']).slice(0, 12)})\nNotes go to docs/plan-outputs/notes/findings; {{unknown}} stays.\nWork in ${repo.dir}.\n`,
    );
  });
});

