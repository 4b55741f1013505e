/**
 * The agent layer's contract: an adapter knows how to launch one kind of coding agent for a task, how
 * to read what it prints into typed events, and how to decide the task's outcome from those events and
 * the exit. The orchestrator never looks at an agent's output itself: a `claude -p` that was denied a
 * tool exits 0, and only its structured result says that nothing was done.
 */

export const AGENT_KINDS = ['claude', 'codex', 'command'] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

/** What the user configured (git-workflow.json `agent`, VS Code settings, planctl flags), resolved. */
export interface AgentSettings {
  kind: AgentKind;
  /** Tools the agent may use without asking, in the agent's own rule syntax (`Bash(npm test:*)`). */
  allowedTools: string[];
  model?: string;
  /** Appended to the agent's argv as they are (never through a shell). */
  extraArgs: string[];
  maxTurns?: number;
  /** The whole run of one task; 0 turns it off. */
  timeoutMinutes: number;
  /** No output at all for this long counts as stuck; 0 turns it off. */
  idleTimeoutMinutes: number;
  /** A markdown prompt template in the repository (see prompt.ts for its placeholders). */
  promptFile?: string;
  /** The `command` kind's argv template ({id} {title} {body} {plan} {worktree} {prompt} {estimate}). */
  command?: string[];
  /** The program to start for `claude`/`codex` (default: the kind's name, found on PATH). */
  executable?: string;
  /** Whether a task that changed nothing (no files, no findings) counts as done; default: only for `command`. */
  allowNoChanges?: boolean;
}

/** One tool call the agent was not allowed to make, kept so that the user can approve exactly it. */
export interface ToolDenial {
  /** The tool's name as the agent calls it (`Bash`, `Write`, `shell`). */
  tool: string;
  /** The call's input, short and readable (`make deploy-prod`, `src/a.ts`). */
  input: string;
  /** The allow rule that would permit it (`Bash(make deploy-prod)`). */
  rule: string;
}

export interface AgentUsage {
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
}

export type AgentEvent =
  | { type: 'session'; sessionId: string; model?: string }
  /** What the agent is doing now, for the views: `Edit src/cache/lru.ts`, `Bash npm test`, `thinking`. */
  | { type: 'activity'; text: string; turn: number; tool?: string; files?: string[] }
  | { type: 'denied'; denial: ToolDenial }
  | { type: 'cost'; costUsd: number; usage?: AgentUsage }
  | {
      type: 'result';
      isError: boolean;
      /** The agent's own words for the end: its final text, or its error. */
      message?: string;
      apiErrorStatus?: number;
      subtype?: string;
      costUsd?: number;
      turns?: number;
      durationMs?: number;
      usage?: AgentUsage;
      denials: ToolDenial[];
    };

/** Everything an adapter may need to launch an agent for one task. */
export interface TaskLaunchContext {
  taskId: string;
  title: string;
  body: string;
  estimateMinutes: number;
  planPath: string;
  worktree: string;
  prompt: string;
  /** Allowed tools: the settings' list, the plan's gate commands and what the user approved. */
  allowedTools: string[];
  /** The agent session to continue (after an approval), when the agent supports it. */
  resumeSession?: string;
  settings: AgentSettings;
}

export interface AgentLaunch {
  argv: string[];
  /** Added to the orchestrator's environment. */
  env: Record<string, string>;
  /**
   * Written to the agent's stdin, then closed. Prompts go here rather than into argv: Linux caps one
   * argument at 128 KiB, and a prompt with a plan's context can be longer.
   */
  stdin?: string;
}

/** Reads an agent's stdout, one line at a time, into events; kept per run. */
export interface AgentOutputReader {
  line(text: string): AgentEvent[];
  /** A line of stderr, for agents that report some things only there. */
  stderrLine?(text: string): AgentEvent[];
}

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last non-empty line the agent printed (stdout or stderr), for messages. */
  lastLine?: string;
}

/** What an adapter decides from the exit and what it read; the orchestrator adds the change check. */
export type AgentVerdict =
  | { ok: true }
  | { ok: false; reason: string; denials?: ToolDenial[] };

export interface AgentAdapter {
  readonly kind: AgentKind;
  /** Whether the agent prints structured events (and so can report activity, cost and denials). */
  readonly structured: boolean;
  /** Whether `resumeSession` is honoured. */
  readonly canResume: boolean;
  launch(ctx: TaskLaunchContext): AgentLaunch;
  /** A reader for one run; `worktree` makes file paths in activity relative. */
  reader(worktree: string): AgentOutputReader;
  verdict(exit: AgentExit, events: readonly AgentEvent[]): AgentVerdict;
}

/** Keeps a line readable in a status record or a tree row. */
export function shorten(text: string, max = 120): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/**
 * One line of an agent's JSONL output as an object, or undefined for anything else: not every line
 * is an event (a warning printed by a hook, say); it is in the log all the same.
 */
export function jsonLine(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
