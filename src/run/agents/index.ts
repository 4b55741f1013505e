/**
 * The agent layer's entry: the adapter for a kind, and the settings a run uses, from (lowest first)
 * the built-in defaults, git-workflow.json's `agent` section, and what the caller passed (planctl
 * flags, the VS Code settings through them, the API).
 */
import type { AgentConfig } from '../../core/workflowConfig.js';
import { PlanError } from '../../core/source.js';
import { claudeAdapter } from './claude.js';
import { codexAdapter } from './codex.js';
import { commandAdapter } from './command.js';
import { AGENT_KINDS, type AgentAdapter, type AgentKind, type AgentSettings } from './types.js';

export * from './types.js';

export const DEFAULT_TIMEOUT_MINUTES = 30;
/**
 * An agent that prints nothing for this long is taken as stuck. stream-json agents print at every
 * message and tool call; a long silent test run inside one tool call is the case this must allow.
 */
export const DEFAULT_IDLE_MINUTES = 15;

export function adapterFor(kind: AgentKind): AgentAdapter {
  switch (kind) {
    case 'claude':
      return claudeAdapter;
    case 'codex':
      return codexAdapter;
    case 'command':
      return commandAdapter;
  }
}

export function isAgentKind(value: string): value is AgentKind {
  return (AGENT_KINDS as readonly string[]).includes(value);
}

/** What a caller may set; unset keys fall through to git-workflow.json, then to the defaults. */
export type AgentOverrides = Partial<AgentSettings>;

export function resolveAgentSettings(config: AgentConfig | undefined, overrides: AgentOverrides = {}): AgentSettings {
  const c = config ?? {};
  // A command template given by the caller means the command kind unless a kind is named too.
  const kind = overrides.kind ?? (overrides.command ? 'command' : undefined) ?? c.kind ?? (c.command && !c.kind ? 'command' : undefined) ?? 'claude';
  const pick = <K extends keyof AgentSettings>(k: K, fallback?: AgentSettings[K]): AgentSettings[K] | undefined =>
    (overrides[k] ?? (c as Partial<AgentSettings>)[k] ?? fallback) as AgentSettings[K] | undefined;
  const settings: AgentSettings = {
    kind,
    allowedTools: [...new Set([...(c.allowedTools ?? []), ...(overrides.allowedTools ?? [])])],
    extraArgs: overrides.extraArgs ?? c.extraArgs ?? [],
    timeoutMinutes: pick('timeoutMinutes', DEFAULT_TIMEOUT_MINUTES)!,
    idleTimeoutMinutes: pick('idleTimeoutMinutes', DEFAULT_IDLE_MINUTES)!,
  };
  for (const k of ['model', 'maxTurns', 'promptFile', 'command', 'executable', 'allowNoChanges'] as const) {
    const v = pick(k);
    if (v !== undefined) (settings as unknown as Record<string, unknown>)[k] = v;
  }
  if (kind === 'command' && !settings.command?.length) {
    throw new PlanError('invalid-argument', 'agent kind "command" needs an argv template: agent.command in git-workflow.json, or --agent \'["prog","{prompt}"]\'');
  }
  return settings;
}

/** Whether a task that changed no file counts as done: by default only for `command` agents (their exit code is all we know). */
export function requiresChanges(settings: AgentSettings): boolean {
  return settings.allowNoChanges === undefined ? settings.kind !== 'command' : !settings.allowNoChanges;
}
