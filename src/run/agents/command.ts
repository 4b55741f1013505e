/**
 * Any other program as an agent (the simulated agents, a wrapper script): an argv template whose
 * placeholders are filled per task, with no shell in between. It prints nothing we can read, so its
 * exit code is its outcome. This is what `planctl orchestrate --agent '<argv json>'` has always run.
 */
import { exitReason } from './claude.js';
import type { AgentAdapter, AgentExit, AgentLaunch, AgentOutputReader, AgentVerdict, TaskLaunchContext } from './types.js';

/** Each argv element is substituted on its own, so a title with spaces or quotes stays one argument. */
export function expandTemplate(template: readonly string[], vars: Record<string, string>): string[] {
  return template.map((arg) => arg.replace(/\{(\w+)\}/g, (m, key: string) => (key in vars ? vars[key]! : m)));
}

const silentReader: AgentOutputReader = { line: () => [] };

export const commandAdapter: AgentAdapter = {
  kind: 'command',
  structured: false,
  canResume: false,

  launch(ctx: TaskLaunchContext): AgentLaunch {
    const template = ctx.settings.command;
    if (!template || template.length === 0 || !template[0]) throw new Error('the command agent needs an argv template (agent.command, or --agent \'["prog","{prompt}"]\')');
    const argv = expandTemplate(template, {
      id: ctx.taskId,
      title: ctx.title,
      body: ctx.body,
      plan: ctx.planPath,
      worktree: ctx.worktree,
      estimate: String(ctx.estimateMinutes),
      prompt: ctx.prompt,
    });
    return { argv: [...argv, ...ctx.settings.extraArgs], env: {} };
  },

  reader(): AgentOutputReader {
    return silentReader;
  },

  verdict(exit: AgentExit): AgentVerdict {
    return exit.code === 0 ? { ok: true } : { ok: false, reason: exitReason(exit) };
  },
};
