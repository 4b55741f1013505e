/**
 * Claude Code, headless: `claude -p --output-format stream-json --verbose --permission-mode acceptEdits`.
 * The prompt goes to stdin. Its stdout is one JSON object per line: `system/init` (session id, model),
 * `assistant` messages (tool uses: the live activity), `user` messages (tool results, where a denied
 * tool shows up as an error result), and a final `result` (is_error, api_error_status, permission
 * denials, cost, turns).
 *
 * `claude -p` exits 0 after a denied tool, with `is_error: false`: the denials are what say that the
 * task was not done.
 */
import path from 'node:path';
import { jsonLine, shorten, type AgentAdapter, type AgentEvent, type AgentExit, type AgentLaunch, type AgentOutputReader, type AgentUsage, type AgentVerdict, type TaskLaunchContext, type ToolDenial } from './types.js';

/** HTTP statuses the Anthropic API answers with, in the words a user would search for. */
const API_STATUS_WORDS: Record<number, string> = {
  400: 'invalid request',
  401: 'authentication failed',
  403: 'permission denied by the API',
  404: 'not found',
  413: 'request too large',
  429: 'rate limited',
  500: 'API internal error',
  502: 'bad gateway',
  503: 'service unavailable',
  529: 'overloaded',
};

export function apiErrorText(status: number): string {
  return `API error ${status}${API_STATUS_WORDS[status] ? ` (${API_STATUS_WORDS[status]})` : ''}`;
}

/** The part of a tool call a person recognises: the command, the file, the pattern. */
export function describeToolInput(tool: string, input: unknown, worktree?: string): string {
  if (typeof input !== 'object' || input === null) return '';
  const o = input as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const file = str('file_path') ?? str('notebook_path') ?? str('path');
  if (file !== undefined) return worktree && path.isAbsolute(file) && !path.relative(worktree, file).startsWith('..') ? path.relative(worktree, file) || file : file;
  const text = str('command') ?? str('pattern') ?? str('url') ?? str('query') ?? str('description') ?? str('prompt');
  if (text !== undefined) return text;
  if (tool === 'TodoWrite') return 'updating the todo list';
  return '';
}

/** The allow rule that permits exactly this call, in Claude Code's permission syntax. */
export function claudeRuleFor(tool: string, input: unknown): string {
  const o = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  if (tool === 'Bash' && typeof o.command === 'string') return `Bash(${o.command})`;
  if (tool === 'WebFetch' && typeof o.url === 'string') {
    try {
      return `WebFetch(domain:${new URL(o.url).hostname})`;
    } catch {
      return 'WebFetch';
    }
  }
  return tool;
}

function denialOf(tool: string, input: unknown, worktree?: string): ToolDenial {
  return { tool, input: shorten(describeToolInput(tool, input, worktree), 300), rule: claudeRuleFor(tool, input) };
}

function usageOf(u: unknown): AgentUsage | undefined {
  if (typeof u !== 'object' || u === null) return undefined;
  const o = u as Record<string, unknown>;
  const n = (k: string) => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
  const out: AgentUsage = {};
  if (n('input_tokens') !== undefined) out.inputTokens = n('input_tokens')!;
  if (n('output_tokens') !== undefined) out.outputTokens = n('output_tokens')!;
  if (n('cache_read_input_tokens') !== undefined) out.cacheReadTokens = n('cache_read_input_tokens')!;
  return out;
}

/** A tool result that says the user has not granted the call (the CLI's wording in 2.x). */
const DENIED_RESULT = /requires approval|requested permissions? to|haven't granted|has not been granted|permission to use .* (?:was|has been) denied|was blocked/i;

class ClaudeStreamReader implements AgentOutputReader {
  private turn = 0;
  private readonly seenMessages = new Set<string>();
  private readonly toolUses = new Map<string, { name: string; input: unknown }>();
  private readonly deniedIds = new Set<string>();

  constructor(private readonly worktree: string) {}

  line(text: string): AgentEvent[] {
    const msg = jsonLine(text);
    if (!msg) return [];
    switch (msg.type) {
      case 'system':
        return this.system(msg);
      case 'assistant':
        return this.assistant(msg);
      case 'user':
        return this.user(msg);
      case 'result':
        return this.result(msg);
      default:
        return [];
    }
  }

  private system(msg: Record<string, unknown>): AgentEvent[] {
    if (msg.subtype === 'init' && typeof msg.session_id === 'string') {
      return [{ type: 'session', sessionId: msg.session_id, ...(typeof msg.model === 'string' ? { model: msg.model } : {}) }];
    }
    // Newer CLIs announce a denial as it happens; older ones only in the result.
    if (typeof msg.subtype === 'string' && /denied|denial/.test(msg.subtype)) {
      const tool = String(msg.tool_name ?? msg.tool ?? 'tool');
      const id = typeof msg.tool_use_id === 'string' ? msg.tool_use_id : undefined;
      if (id) this.deniedIds.add(id);
      return [{ type: 'denied', denial: denialOf(tool, msg.tool_input ?? msg.input, this.worktree) }];
    }
    return [];
  }

  private assistant(msg: Record<string, unknown>): AgentEvent[] {
    const message = msg.message as { id?: string; content?: unknown } | undefined;
    if (!message || !Array.isArray(message.content)) return [];
    // One API message can arrive as several stream-json lines (one per content block).
    if (message.id && !this.seenMessages.has(message.id)) {
      this.seenMessages.add(message.id);
      this.turn++;
    } else if (!message.id) this.turn++;
    const events: AgentEvent[] = [];
    for (const block of message.content as Array<Record<string, unknown>>) {
      if (block.type === 'tool_use' && typeof block.name === 'string') {
        if (typeof block.id === 'string') this.toolUses.set(block.id, { name: block.name, input: block.input });
        const what = describeToolInput(block.name, block.input, this.worktree);
        const file = (block.input as { file_path?: unknown } | undefined)?.file_path;
        events.push({
          type: 'activity',
          text: shorten(what ? `${block.name} ${what}` : block.name, 160),
          turn: this.turn,
          tool: block.name,
          ...(typeof file === 'string' ? { files: [path.isAbsolute(file) ? file : path.join(this.worktree, file)] } : {}),
        });
      } else if (block.type === 'text' && typeof block.text === 'string' && block.text.trim()) {
        events.push({ type: 'activity', text: shorten(block.text, 160), turn: this.turn });
      }
    }
    return events;
  }

  private user(msg: Record<string, unknown>): AgentEvent[] {
    const content = (msg.message as { content?: unknown } | undefined)?.content;
    if (!Array.isArray(content)) return [];
    const events: AgentEvent[] = [];
    for (const block of content as Array<Record<string, unknown>>) {
      if (block.type !== 'tool_result' || block.is_error !== true || typeof block.tool_use_id !== 'string') continue;
      const body = typeof block.content === 'string' ? block.content : JSON.stringify(block.content ?? '');
      if (!DENIED_RESULT.test(body) || this.deniedIds.has(block.tool_use_id)) continue;
      const use = this.toolUses.get(block.tool_use_id);
      if (!use) continue;
      this.deniedIds.add(block.tool_use_id);
      events.push({ type: 'denied', denial: denialOf(use.name, use.input, this.worktree) });
    }
    return events;
  }

  private result(msg: Record<string, unknown>): AgentEvent[] {
    const denials: ToolDenial[] = [];
    if (Array.isArray(msg.permission_denials)) {
      for (const d of msg.permission_denials as Array<Record<string, unknown>>) {
        const tool = typeof d.tool_name === 'string' ? d.tool_name : 'tool';
        denials.push(denialOf(tool, d.tool_input, this.worktree));
      }
    }
    const num = (k: string) => (typeof msg[k] === 'number' ? (msg[k] as number) : undefined);
    const usage = usageOf(msg.usage);
    const text = typeof msg.result === 'string' ? msg.result : Array.isArray(msg.errors) ? (msg.errors as unknown[]).map(String).join('; ') : undefined;
    const events: AgentEvent[] = [];
    if (num('total_cost_usd') !== undefined) events.push({ type: 'cost', costUsd: num('total_cost_usd')!, ...(usage ? { usage } : {}) });
    events.push({
      type: 'result',
      isError: msg.is_error === true || (typeof msg.subtype === 'string' && msg.subtype.startsWith('error')),
      denials,
      ...(text ? { message: text } : {}),
      ...(num('api_error_status') !== undefined ? { apiErrorStatus: num('api_error_status')! } : {}),
      ...(typeof msg.subtype === 'string' ? { subtype: msg.subtype } : {}),
      ...(num('total_cost_usd') !== undefined ? { costUsd: num('total_cost_usd')! } : {}),
      ...(num('num_turns') !== undefined ? { turns: num('num_turns')! } : {}),
      ...(num('duration_ms') !== undefined ? { durationMs: num('duration_ms')! } : {}),
      ...(usage ? { usage } : {}),
    });
    return events;
  }
}

/** "API Error: 529 {…}" is how 2.x words an API failure in `result` when api_error_status is absent. */
function apiStatusInText(text: string | undefined): number | undefined {
  const m = text ? /API Error:?\s*(\d{3})\b/i.exec(text) : null;
  return m ? Number(m[1]) : undefined;
}

export function denialsReason(denials: readonly ToolDenial[]): string {
  const unique = [...new Map(denials.map((d) => [d.rule, d])).values()];
  return `permission denied: ${unique.map((d) => d.rule).join(', ')}`;
}

export const claudeAdapter: AgentAdapter = {
  kind: 'claude',
  structured: true,
  canResume: true,

  launch(ctx: TaskLaunchContext): AgentLaunch {
    const s = ctx.settings;
    const argv = [s.executable ?? 'claude', '-p', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits'];
    if (s.model) argv.push('--model', s.model);
    if (s.maxTurns !== undefined) argv.push('--max-turns', String(s.maxTurns));
    if (ctx.resumeSession) argv.push('--resume', ctx.resumeSession);
    // One argument per rule after `=`: the option is variadic, and a bare list would swallow whatever follows.
    for (const rule of ctx.allowedTools) argv.push(`--allowedTools=${rule}`);
    argv.push(...s.extraArgs);
    return { argv, env: {}, stdin: ctx.prompt };
  },

  reader(worktree: string): AgentOutputReader {
    return new ClaudeStreamReader(worktree);
  },

  verdict(exit: AgentExit, events: readonly AgentEvent[]): AgentVerdict {
    const result = [...events].reverse().find((e): e is Extract<AgentEvent, { type: 'result' }> => e.type === 'result');
    // The same call is reported twice: as an error tool_result when it happens, and in the result.
    const denials = [...new Map([...events.flatMap((e) => (e.type === 'denied' ? [e.denial] : [])), ...(result?.denials ?? [])].map((d) => [d.rule, d])).values()];
    if (result?.isError) {
      const status = result.apiErrorStatus ?? apiStatusInText(result.message);
      if (status !== undefined) return { ok: false, reason: apiErrorText(status) };
      if (result.subtype === 'error_max_turns') return { ok: false, reason: `stopped at the turn limit${result.turns ? ` (${result.turns} turns)` : ''}` };
      return { ok: false, reason: `agent error: ${shorten(result.message ?? result.subtype ?? 'no message', 200)}` };
    }
    if (denials.length > 0) return { ok: false, reason: denialsReason(denials), denials };
    if (exit.code !== 0) return { ok: false, reason: exitReason(exit) };
    if (!result) return { ok: false, reason: 'the agent ended without a result' };
    return { ok: true };
  },
};

export function exitReason(exit: AgentExit): string {
  const how = exit.code === null ? `agent killed by ${exit.signal ?? 'a signal'}` : `agent exited ${exit.code}`;
  return exit.lastLine ? `${how}: ${shorten(exit.lastLine, 200)}` : how;
}
