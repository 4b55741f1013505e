/**
 * The orchestrator's own overhead per task: what a task costs beyond its agent's process. For each
 * task, (completedAt − startedAt) from status.json minus the agent process's lifetime (spawn to exit)
 * that the orchestrator recorded: building the prompt, the worktree snapshots before and after, the
 * commit of the task's files and the status writes. Measured with the real Claude Code CLI against
 * the scripted Anthropic server of the agent tests (each task writes one file), and with the sh
 * simulated agent on the same plan beside it. Also printed: wall time minus the agent's own reported
 * duration (`duration_ms`), which includes the CLI's start-up.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Orchestrator } from '../src/run/orchestrator.js';
import { readStatusFile } from '../src/core/status.js';
import { startScriptedAnthropic, taskIdOf } from '../test/agents/scriptedAnthropic.js';
import { claudeBinary } from '../test/agents/realAgents.js';
import type { BenchRow } from './row.js';
import { freshRepo } from './orchestrate.js';

const TASKS = 16;
const WORKERS = 2;

const example = (name: string) => path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../examples', name);

function planText(): string {
  const lines = ['# Implementation Plan: Overhead', '', '## Phase 1: Work', ''];
  for (let i = 1; i <= TASKS; i++) lines.push(`- [ ] 1.${i} Write file ${i} in \`out/f${i}.txt\` (est: 5m)`);
  return `${lines.join('\n')}\n`;
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Overheads {
  beyondProcess: number[];
  beyondReported: number[];
}

async function measure(planPath: string, agent: ConstructorParameters<typeof Orchestrator>[0]['agent'], env: NodeJS.ProcessEnv): Promise<Overheads> {
  const summary = await new Orchestrator({ inPlace: true, planPath, agent, maxParallel: WORKERS, retries: 0, env }).run();
  if (summary.failed.length || summary.blocked.length) throw new Error(`overhead bench: ${summary.failed.length} failed, ${summary.blocked.length} not run`);
  const status = await readStatusFile(path.join(path.dirname(planPath), '..', 'plan-outputs', 'overhead', 'status.json'));
  const out: Overheads = { beyondProcess: [], beyondReported: [] };
  for (const rec of Object.values(status!.tasks)) {
    const wall = Date.parse(rec.completedAt!) - Date.parse(rec.startedAt!);
    out.beyondProcess.push(wall - (rec.run?.processMs ?? 0));
    if (rec.run?.agentMs !== undefined) out.beyondReported.push(wall - rec.run.agentMs);
  }
  return out;
}

const fmt = (xs: number[]) => `median ${percentile(xs, 50).toFixed(0)} ms, p95 ${percentile(xs, 95).toFixed(0)} ms`;

export async function benchAgentOverhead(): Promise<BenchRow[]> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'planctl-bench-overhead-')));
  try {
    const sim = await measure(freshRepo(root, 'sim', planText(), 'overhead'), ['/bin/sh', example('sim-agent.sh'), '{id}', '{estimate}'], { ...process.env, PLAN_SIM_MS_PER_MINUTE: '10' });
    const claude = claudeBinary();
    if (!claude) {
      return [{ name: `orchestrator overhead per task, sh sim agent (${TASKS} tasks, ${WORKERS} at once, commits on)`, value: fmt(sim.beyondProcess), baseline: '—', ratio: '— (Claude Code not installed: bash scripts/install-agent-clis.sh)', goal: '≤ 50 ms' }];
    }
    const bin = path.join(root, 'bin');
    mkdirSync(bin);
    symlinkSync(claude, path.join(bin, 'claude'));
    const home = path.join(root, 'home');
    mkdirSync(home);
    const server = await startScriptedAnthropic((ctx) => {
      const id = taskIdOf(ctx.prompt)!;
      const worktree = /Work only inside (\S+) and only/.exec(ctx.prompt)![1]!;
      const n = id.split('.')[1];
      if (ctx.turn === 0) return { content: [{ type: 'tool_use', name: 'Write', input: { file_path: path.join(worktree, 'out', `f${n}.txt`), content: `file ${n}\n` } }] };
      return { content: [{ type: 'text', text: 'done' }] };
    });
    let real: Overheads;
    try {
      real = await measure(freshRepo(root, 'claude', planText(), 'overhead'), { kind: 'claude' }, {
        ...process.env,
        PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
        HOME: home,
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_API_KEY: 'test',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_MAX_RETRIES: '0',
      });
    } finally {
      await server.close();
    }
    const m = (xs: number[]) => percentile(xs, 50);
    return [
      {
        name: `orchestrator overhead per task beyond the agent process, real Claude Code ${TASKS} tasks, ${WORKERS} at once, commits on`,
        value: fmt(real.beyondProcess),
        baseline: `sh sim agent, same plan: ${fmt(sim.beyondProcess)}`,
        ratio: `×${(m(real.beyondProcess) / Math.max(1, m(sim.beyondProcess))).toFixed(2)} of the sim agent's`,
        goal: '≤ 50 ms',
      },
      {
        name: 'task wall time minus Claude Code\'s reported duration_ms (includes the CLI\'s own start-up)',
        value: fmt(real.beyondReported),
        baseline: `overhead beyond the process: ${fmt(real.beyondProcess)}`,
        ratio: `start-up and exit of the CLI ≈ ${(m(real.beyondReported) - m(real.beyondProcess)).toFixed(0)} ms of it`,
        goal: '—',
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// Run directly: `node out/bench/agentOverhead.js`.
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  for (const row of await benchAgentOverhead()) console.log(row);
}
