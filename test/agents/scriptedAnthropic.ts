/**
 * A scripted Anthropic Messages API on 127.0.0.1, for driving the real Claude Code CLI in tests.
 * It streams SSE the way the API does (message_start, content_block_start/_delta/_stop,
 * message_delta, message_stop) and answers each request of the agent loop from a script:
 * tool_use blocks (Write, Edit, Bash), then final text once the tool_result came back; or an HTTP
 * error; or a stream that starts and never goes on.
 *
 * Requests that carry no tools are the CLI's side requests (titles, summaries): they get short text.
 */
import http from 'node:http';
import { listenOnLoopback } from './loopback.js';

export type Block = { type: 'text'; text: string } | { type: 'tool_use'; name: string; input: Record<string, unknown>; id?: string };

export type Reply =
  | { content: Block[]; stopReason?: string; usage?: { input_tokens?: number; output_tokens?: number } }
  | { error: { status: number; type: string; message: string } }
  /** Headers and message_start, then nothing: the model stream hangs. */
  | { hang: true };

export interface ScriptContext {
  /** The agent's first user message: our prompt. */
  prompt: string;
  /** Assistant turns already in the conversation: 0 for the first request of a session. */
  turn: number;
  /** tool_result blocks of the last user message, as text, with their error flag. */
  toolResults: Array<{ text: string; isError: boolean }>;
  /** The whole conversation so far, as text, for assertions on what the model was told. */
  transcript: string;
}

export interface RecordedRequest {
  path: string;
  kind: 'main' | 'side' | 'other';
  prompt?: string;
  turn?: number;
  reply?: Reply;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b: Record<string, unknown>) =>
      b.type === 'text' ? String(b.text) : b.type === 'tool_result' ? `[tool_result${b.is_error ? ' error' : ''}: ${textOf(b.content)}]` : b.type === 'tool_use' ? `[tool_use ${String(b.name)} ${JSON.stringify(b.input)}]` : '',
    )
    .join('\n');
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}_${process.pid.toString(36)}${(++counter).toString(36).padStart(5, '0')}`;

export interface ScriptedAnthropic {
  url: string;
  requests: RecordedRequest[];
  /** Called when a client goes away before its answer was complete (its process was stopped). */
  onDisconnect?: () => void;
  close(): Promise<void>;
}

export async function startScriptedAnthropic(script: (ctx: ScriptContext) => Reply | Promise<Reply>): Promise<ScriptedAnthropic> {
  const requests: RecordedRequest[] = [];
  // eslint-disable-next-line prefer-const
  let self: ScriptedAnthropic;
  const server = http.createServer(async (req, res) => {
    res.on('close', () => {
      if (!res.writableEnded) self.onDisconnect?.();
    });
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      // Not JSON: answered below like any other side request.
    }
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'POST' || pathname !== '/v1/messages') {
      requests.push({ path: req.url ?? '', kind: 'other' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(pathname === '/v1/messages/count_tokens' ? JSON.stringify({ input_tokens: 100 }) : pathname === '/v1/models' ? JSON.stringify({ data: [], has_more: false }) : '{}');
      return;
    }
    // The CLI adds role "system" messages mid-conversation; the conversation is user/assistant only.
    const messages = ((body.messages as Array<{ role: string; content: unknown }>) ?? []).filter((m) => m.role !== 'system');
    const isMain = Array.isArray(body.tools) && (body.tools as unknown[]).length > 0;
    let reply: Reply;
    const entry: RecordedRequest = { path: req.url ?? '', kind: isMain ? 'main' : 'side' };
    if (!isMain) reply = { content: [{ type: 'text', text: 'Plan task' }] };
    else {
      const last = messages[messages.length - 1];
      const ctx: ScriptContext = {
        prompt: textOf(messages.find((m) => m.role === 'user')?.content),
        turn: messages.filter((m) => m.role === 'assistant').length,
        toolResults: Array.isArray(last?.content)
          ? (last.content as Array<Record<string, unknown>>).filter((b) => b.type === 'tool_result').map((b) => ({ text: textOf(b.content), isError: b.is_error === true }))
          : [],
        transcript: messages.map((m) => `${m.role}: ${textOf(m.content)}`).join('\n'),
      };
      try {
        reply = await script(ctx);
      } catch (err) {
        reply = { error: { status: 500, type: 'api_error', message: `script failed: ${(err as Error).message}` } };
      }
      entry.prompt = ctx.prompt;
      entry.turn = ctx.turn;
    }
    entry.reply = reply;
    requests.push(entry);

    if ('error' in reply) {
      res.writeHead(reply.error.status, { 'content-type': 'application/json', 'request-id': nextId('req') });
      res.end(JSON.stringify({ type: 'error', error: { type: reply.error.type, message: reply.error.message } }));
      return;
    }
    const model = typeof body.model === 'string' ? body.model : 'claude-sonnet-4-5';
    const blocks = 'content' in reply ? reply.content.map((b) => (b.type === 'tool_use' ? { ...b, id: b.id ?? nextId('toolu') } : b)) : [];
    const usage = { input_tokens: 1000, output_tokens: 200, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, ...('usage' in reply ? reply.usage : {}) };
    const stopReason = ('stopReason' in reply && reply.stopReason) || (blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn');
    if (!body.stream) {
      if ('hang' in reply) return;
      res.writeHead(200, { 'content-type': 'application/json', 'request-id': nextId('req') });
      res.end(JSON.stringify({ id: nextId('msg'), type: 'message', role: 'assistant', model, content: blocks, stop_reason: stopReason, stop_sequence: null, usage }));
      return;
    }
    const sse = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': nextId('req') });
    sse('message_start', { type: 'message_start', message: { id: nextId('msg'), type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } });
    if ('hang' in reply) return;
    blocks.forEach((b, index) => {
      if (b.type === 'text') {
        sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } });
      } else {
        sse('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
        const json = JSON.stringify(b.input);
        const mid = Math.ceil(json.length / 2);
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(0, mid) } });
        sse('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json.slice(mid) } });
      }
      sse('content_block_stop', { type: 'content_block_stop', index });
    });
    sse('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
    sse('message_stop', { type: 'message_stop' });
    res.end();
  });
  const { port, close } = await listenOnLoopback(server);
  self = { url: `http://127.0.0.1:${port}`, requests, close };
  return self;
}

/** The task ID our default prompt starts with (`# Task 2.1: …`). */
export function taskIdOf(prompt: string): string | undefined {
  return /^# Task (\S+):/m.exec(prompt)?.[1];
}
