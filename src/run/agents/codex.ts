/**
 * OpenAI Codex, headless: `codex exec --json -` with the prompt on stdin, sandbox workspace-write and
 * approval policy never (set with `-c`: `exec resume` has no --sandbox flag).
 * Its stdout is JSONL: `thread.started` (the session), `turn.started`, `item.started`/`item.completed`
 * (command executions, file changes, messages: the live activity), `turn.completed` (token usage),
 * and `turn.failed` or `error` when the model or the API failed.
 *
 * Codex has no per-tool allow-list: what it may do is its sandbox (workspace-write: files in the
 * worktree, no network). Codex 0.171 tells the model, not us, when the sandbox refused a command: such
 * a command leaves no item in the JSONL. A patch or an escalation it rejected shows as an
 * `ERROR codex_core::tools::router` line on stderr, which counts as a denial here; anything else
 * refused shows in the outcome as "no changes made" and in the model's last message.
 */
import path from 'node:path';
import { exitReason } from './claude.js';
import { jsonLine, shorten, type AgentAdapter, type AgentEvent, type AgentExit, type AgentLaunch, type AgentOutputReader, type AgentVerdict, type TaskLaunchContext, type ToolDenial } from './types.js';

/** Codex's stderr line for a tool call its approval settings rejected. */
const REJECTED = /codex_core::tools::router:\s*(.*(?:rejected|reject command|escalat).*)$/i;

class CodexJsonReader implements AgentOutputReader {
  private turn = 0;

  constructor(private readonly worktree: string) {}

  line(text: string): AgentEvent[] {
    const msg = jsonLine(text);
    if (!msg) return [];
    switch (msg.type) {
      case 'thread.started':
        return typeof msg.thread_id === 'string' ? [{ type: 'session', sessionId: msg.thread_id }] : [];
      case 'turn.started':
        this.turn++;
        return [];
      case 'item.started':
      case 'item.completed':
        return this.item(msg.type, msg.item as Record<string, unknown> | undefined);
      case 'turn.completed': {
        const u = (msg.usage ?? {}) as Record<string, unknown>;
        const usage = {
          ...(typeof u.input_tokens === 'number' ? { inputTokens: u.input_tokens } : {}),
          ...(typeof u.output_tokens === 'number' ? { outputTokens: u.output_tokens } : {}),
          ...(typeof u.cached_input_tokens === 'number' ? { cacheReadTokens: u.cached_input_tokens } : {}),
        };
        return [{ type: 'result', isError: false, denials: [], turns: this.turn, usage }];
      }
      case 'turn.failed': {
        const message = String((msg.error as { message?: unknown } | undefined)?.message ?? 'turn failed');
        return [{ type: 'result', isError: true, message, denials: [], turns: this.turn, ...apiStatus(message) }];
      }
      case 'error': {
        const message = String(msg.message ?? 'error');
        return [{ type: 'result', isError: true, message, denials: [], turns: this.turn, ...apiStatus(message) }];
      }
      default:
        return [];
    }
  }

  stderrLine(text: string): AgentEvent[] {
    const m = REJECTED.exec(text);
    if (!m) return [];
    const what = m[1]!.trim();
    const tool = /patch/i.test(what) ? 'apply_patch' : 'exec_command';
    return [{ type: 'denied', denial: { tool, input: shorten(what, 300), rule: tool } }];
  }

  private item(phase: string, item: Record<string, unknown> | undefined): AgentEvent[] {
    if (!item) return [];
    switch (item.type) {
      case 'command_execution': {
        const command = String(item.command ?? '');
        if (phase === 'item.started') return [{ type: 'activity', text: shorten(`Run ${unwrapShell(command)}`, 160), turn: this.turn, tool: 'shell' }];
        if (item.status === 'declined') {
          const input = unwrapShell(command);
          const denial: ToolDenial = { tool: 'shell', input: shorten(input, 300), rule: `shell(${input})` };
          return [{ type: 'denied', denial }];
        }
        return [];
      }
      case 'file_change': {
        if (phase !== 'item.completed') return [];
        const changes = Array.isArray(item.changes) ? (item.changes as Array<{ path?: unknown; kind?: unknown }>) : [];
        const files = changes.map((c) => String(c.path ?? '')).filter(Boolean);
        const shown = files.map((f) => (path.isAbsolute(f) ? path.relative(this.worktree, f) : f));
        return [{ type: 'activity', text: shorten(`Edit ${shown.join(', ')}`, 160), turn: this.turn, tool: 'apply_patch', files: files.map((f) => path.resolve(this.worktree, f)) }];
      }
      case 'agent_message':
        return phase === 'item.completed' && typeof item.text === 'string' ? [{ type: 'activity', text: shorten(item.text, 160), turn: this.turn }] : [];
      case 'error':
        return [];
      default:
        return [];
    }
  }
}

/** `bash -lc 'npm test'` reads as `npm test`. */
function unwrapShell(command: string): string {
  const m = /^(?:\/\S*\/)?(?:ba)?sh -l?c ['"]?([\s\S]*?)['"]?$/.exec(command);
  return m ? m[1]! : command;
}

function apiStatus(message: string): { apiErrorStatus?: number } {
  const m = /\b(?:status|http)\s*:?\s*(\d{3})\b|\b(\d{3}) (?:Too Many Requests|Internal Server Error|Service Unavailable|Bad Gateway|Unauthorized)/i.exec(message);
  const status = m ? Number(m[1] ?? m[2]) : undefined;
  return status ? { apiErrorStatus: status } : {};
}

export const codexAdapter: AgentAdapter = {
  kind: 'codex',
  structured: true,
  canResume: true,

  launch(ctx: TaskLaunchContext): AgentLaunch {
    const s = ctx.settings;
    const exe = s.executable ?? 'codex';
    const common = ['--json', '--skip-git-repo-check', '-c', 'sandbox_mode="workspace-write"', '-c', 'approval_policy="never"'];
    if (s.model) common.push('--model', s.model);
    // `-`: the prompt is read from stdin (a prompt with the plan's context can outgrow one argument).
    const argv = ctx.resumeSession ? [exe, 'exec', 'resume', ...common, ...s.extraArgs, ctx.resumeSession, '-'] : [exe, 'exec', ...common, ...s.extraArgs, '-'];
    return { argv, env: {}, stdin: ctx.prompt };
  },

  reader(worktree: string): AgentOutputReader {
    return new CodexJsonReader(worktree);
  },

  verdict(exit: AgentExit, events: readonly AgentEvent[]): AgentVerdict {
    const results = events.filter((e): e is Extract<AgentEvent, { type: 'result' }> => e.type === 'result');
    const failed = results.find((r) => r.isError);
    if (failed) {
      if (failed.apiErrorStatus) return { ok: false, reason: `API error ${failed.apiErrorStatus}: ${shorten(failed.message ?? '', 160)}` };
      return { ok: false, reason: `agent error: ${shorten(failed.message ?? 'no message', 200)}` };
    }
    const denials = events.flatMap((e) => (e.type === 'denied' ? [e.denial] : []));
    // Not returned as approvable denials: Codex has no allow-list an approval could extend.
    if (denials.length > 0) return { ok: false, reason: `permission denied: ${denials.map((d) => `${d.rule} (${d.input})`).join(', ')}` };
    if (exit.code !== 0) return { ok: false, reason: exitReason(exit) };
    if (results.length === 0) return { ok: false, reason: 'the agent ended without finishing a turn' };
    return { ok: true };
  },
};
