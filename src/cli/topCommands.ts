/**
 * `planctl top`: the live dashboard of every plan of the repository (src/tui). The dashboard and its
 * Ink/React stack live in a sibling bundle, dist/planctl-top.mjs, loaded only by the commands that
 * draw it (this one and `orchestrate --all` on a terminal).
 */
import type { Command } from 'commander';
import { isAgentKind } from '../run/agents/index.js';
import { PlanError } from '../core/source.js';
import type { LaunchOptions } from '../run/orchestratorLaunch.js';
import { parseAgent, wholeNumber } from './format.js';

export interface TopCommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Draw the dashboard (default: stdin and stdout are terminals). */
  interactive?: boolean;
}

/** The dashboard's module; the bundle points this import at dist/planctl-top.mjs (scripts/bundle-options.mjs). */
export async function loadTop(): Promise<typeof import('../tui/top.js')> {
  try {
    return await import('../tui/top.js');
  } catch (e) {
    throw new PlanError('invalid-argument', `the terminal dashboard cannot be loaded (${e instanceof Error ? e.message : String(e)}); dist/planctl-top.mjs must sit beside planctl.mjs (npm run build makes both)`);
  }
}

/** Whether this process can draw the dashboard: keys come from a terminal and the frame goes to one. */
export function onTerminal(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

interface TopOptions {
  once?: boolean;
  plain?: boolean;
  agent?: string;
  agentKind?: string;
  maxParallel?: string;
}

export function registerTopCommands(program: Command, io: TopCommandIo): void {
  program
    .command('top')
    .description('live dashboard of every plan of the repository: progress, running agents, activity; start, stop, retry, approve (plain lines when not on a terminal)')
    .option('--plain', 'print lines even on a terminal: the plans now, then one line per event')
    .option('--once', 'with plain lines: print the plans once and end')
    .option('--agent <json>', 'for plans started from the dashboard: a command agent, argv as a JSON array (default: git-workflow.json, else Claude Code)')
    .option('--agent-kind <kind>', 'for plans started from the dashboard: claude, codex, or command')
    .option('--max-parallel <n>', 'for plans started from the dashboard: agents at once')
    .action(async (opts: TopOptions) => {
      const extraArgs: string[] = [];
      if (opts.agentKind !== undefined) {
        if (!isAgentKind(opts.agentKind)) throw new PlanError('invalid-argument', `--agent-kind must be claude, codex or command, not "${opts.agentKind}"`);
        extraArgs.push('--agent-kind', opts.agentKind);
      }
      const launch: LaunchOptions = {
        entry: { execArgv: process.execArgv, script: process.argv[1]! },
        env: io.env,
        extraArgs,
        ...(opts.agent !== undefined ? { agent: parseAgent(opts.agent) } : {}),
        ...(opts.maxParallel !== undefined ? { maxParallel: wholeNumber(opts.maxParallel, '--max-parallel', 1, 32) } : {}),
      };
      const interactive = opts.plain !== true && opts.once !== true && (io.interactive ?? onTerminal());
      const { runTop } = await loadTop();
      await runTop({ cwd: io.cwd, out: io.out, launch, interactive, once: opts.once === true });
    });
}
