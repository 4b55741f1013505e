/**
 * What an orchestrator's agents run with: the settings (git-workflow.json's `agent` section under the
 * caller's overrides), the adapter of their kind, the prompt template, the secret patterns no task
 * commits, and the tool rules each agent is allowed. Read once when a run starts, except the allowed
 * rules, which are read again for each task: `planctl approve` adds to them while the run goes on.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PlanError } from '../core/source.js';
import type { WorkflowConfig } from '../core/workflowConfig.js';
import type { PlanSession } from '../core/session.js';
import { adapterFor, resolveAgentSettings, type AgentAdapter, type AgentOverrides, type AgentSettings } from './agents/index.js';
import { checkToolRule, readApprovedTools } from './approvals.js';
import { DEFAULT_PROMPT_TEMPLATE } from './prompt.js';
import { DEFAULT_SECRET_PATTERNS } from './taskChanges.js';

export interface AgentSetup {
  settings: AgentSettings;
  adapter: AgentAdapter;
  promptTemplate: string;
  secretPatterns: readonly string[];
  /** The plan's budget from git-workflow.json (`agent.maxCostUsd`), when it sets one. */
  maxCostUsd?: number;
}

export interface AgentChoice {
  /** Settings over git-workflow.json's, or an argv template (the `command` kind). */
  agent?: readonly string[] | AgentOverrides;
  timeoutMs?: number;
  idleTimeoutMs?: number;
}

/** The agents' setup from the repository's git-workflow.json (`config`, read once by the caller). */
export async function loadAgentSetup(root: string, config: WorkflowConfig, choice: AgentChoice): Promise<AgentSetup> {
  const given = choice.agent;
  const overrides: AgentOverrides = Array.isArray(given) ? { kind: 'command', command: [...(given as readonly string[])] } : { ...((given ?? {}) as AgentOverrides) };
  if (choice.timeoutMs !== undefined) overrides.timeoutMinutes = choice.timeoutMs / 60_000;
  if (choice.idleTimeoutMs !== undefined) overrides.idleTimeoutMinutes = choice.idleTimeoutMs / 60_000;
  const settings = resolveAgentSettings(config.agent, overrides);
  let promptTemplate = DEFAULT_PROMPT_TEMPLATE;
  if (settings.promptFile) {
    const file = path.resolve(root, settings.promptFile);
    try {
      promptTemplate = await readFile(file, 'utf8');
    } catch (err) {
      throw new PlanError('invalid-argument', `agent.promptFile ${settings.promptFile} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, file);
    }
  }
  return {
    settings,
    adapter: adapterFor(settings.kind),
    promptTemplate,
    secretPatterns: config.agent.secretPatterns ?? DEFAULT_SECRET_PATTERNS,
    ...(config.agent.maxCostUsd !== undefined ? { maxCostUsd: config.agent.maxCostUsd } : {}),
  };
}

/**
 * The plan's gate commands as allow rules, only where the command cannot change the rule's meaning:
 * one with `(`, `)` or `,` could widen it (`x), Bash(*`), so it is left to the agent to ask for.
 */
function gateRules(session: PlanSession): string[] {
  return session.analysis.plan.tasks.flatMap((t) => (t.kind === 'verify' && t.command && !/[(),\n]/.test(t.command) ? [`Bash(${t.command})`] : []));
}

/** Every rule the agent may use: settings, gates and approvals, each checked as a tool rule. */
export async function allowedToolsFor(session: PlanSession, settings: AgentSettings, warn: (message: string) => void): Promise<string[]> {
  const rules = [...settings.allowedTools, ...gateRules(session), ...(await readApprovedTools(session.statusPath))];
  return [...new Set(rules)].filter((r) => {
    try {
      checkToolRule(r);
      return true;
    } catch {
      warn(`"${r}" is not a tool rule; not allowed`);
      return false;
    }
  });
}
