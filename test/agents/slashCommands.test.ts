/**
 * The `/plan:*` slash commands `planctl init` writes, run by the real Claude Code CLI (`claude -p
 * "/plan:status"`) in an initialised repository against a scripted Anthropic API on 127.0.0.1. What
 * is asserted is what the scripted server received: the injected `planctl status` output in the
 * prompt, and the result of the Bash call the command file told the model to make.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { makeTempRepo, removeTempRepos, tempDir, type TempRepo } from '../unit/helpers/tempRepo.js';
import { startScriptedAnthropic, type Reply, type ScriptContext, type ScriptedAnthropic } from './scriptedAnthropic.js';
import { agentBinDir, claudeEnv, missing, NOTES_PLAN, notesStatus, planctl, PLANCTL } from './realAgents.js';

const skip = missing('claude');
if (skip) console.log(`# skipping the slash command tests: ${skip}`);

let binDir: string;
let server: ScriptedAnthropic | undefined;

before(async () => {
  if (skip) return;
  binDir = await agentBinDir();
  // The commands call `planctl` by name, as a user's PATH has it after `npm install -g`.
  const shim = path.join(binDir, 'planctl');
  await writeFile(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(PLANCTL)} "$@"\n`);
  await chmod(shim, 0o755);
});
after(async () => {
  await server?.close();
  await removeTempRepos();
  if (binDir) await rm(binDir, { recursive: true, force: true });
});

/** An initialised repository with the notes plan active, and Claude Code's environment. */
async function setUp(script: (ctx: ScriptContext) => Reply | Promise<Reply>): Promise<{ repo: TempRepo; env: NodeJS.ProcessEnv }> {
  await server?.close();
  server = await startScriptedAnthropic(script);
  const repo = await makeTempRepo({ 'README.md': '# notes\n', 'docs/plans/notes.md': NOTES_PLAN });
  const env = await claudeEnv(server.url, path.join(await tempDir('planctl-claude-home-'), 'home'), binDir);
  const init = await planctl(['init'], repo.dir, env);
  assert.equal(init.code, 0, init.err);
  assert.doesNotMatch(init.out, /not on PATH/);
  assert.equal((await planctl(['use', 'docs/plans/notes.md'], repo.dir, env)).code, 0);
  return { repo, env };
}

function claude(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('claude', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    // A safety net for a broken install, not a measurement.
    const timer = setTimeout(() => child.kill('SIGTERM'), 120_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('the /plan:* commands in Claude Code', { skip }, () => {
  test('/plan:status runs planctl status through the command file: its output reaches the model', async () => {
    const { repo, env } = await setUp(() => ({ content: [{ type: 'text', text: 'The notes plan has 3 tasks, none done yet.' }] }));
    const res = await claude(['-p', '/plan:status'], repo.dir, env);
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    const main = server!.requests.filter((r) => r.kind === 'main');
    assert.ok(main.length > 0, 'the model was asked');
    const prompt = main[0]!.prompt!;
    // The command file's body, with `!`planctl status`` replaced by what planctl printed.
    assert.match(prompt, /Status of the active plan/);
    assert.match(prompt, /Notes cache: 0\/3 done \(0%\)/);
    assert.match(prompt, /PHASE\s+TITLE\s+DONE/);
    assert.doesNotMatch(prompt, /!`planctl status`/);
    assert.match(res.out, /none done yet/);
  });

  test('/plan:complete 1.1 makes the model run planctl complete 1.1, which its allowed-tools permit', async () => {
    const { repo, env } = await setUp((ctx) => {
      // The model does what the command file says: run the command it names, then report.
      if (ctx.turn === 0) {
        const command = /Run `(planctl complete [^`]+)`/.exec(ctx.prompt)?.[1];
        if (!command) return { content: [{ type: 'text', text: 'no command found in the prompt' }] };
        return { content: [{ type: 'tool_use', name: 'Bash', input: { command, description: 'complete the task' } }] };
      }
      return { content: [{ type: 'text', text: `Done: ${ctx.toolResults[0]?.text ?? ''}` }] };
    });
    const res = await claude(['-p', '/plan:complete 1.1'], repo.dir, env);
    assert.equal(res.code, 0, `${res.out}\n${res.err}`);
    const main = server!.requests.filter((r) => r.kind === 'main');
    assert.match(main[0]!.prompt!, /Run `planctl complete 1\.1`/, '$ARGUMENTS was filled in');
    const toolUse = main.find((r) => r.reply && 'content' in r.reply && r.reply.content.some((b) => b.type === 'tool_use'));
    assert.ok(toolUse, 'the model asked for the Bash call');
    assert.match(res.out, /Done: 1\.1 → completed/, 'the Bash call was allowed and ran');
    assert.equal((await notesStatus(repo.dir)).tasks['1.1']!.status, 'completed');
  });
});
