/**
 * A scripted OpenAI Responses API on 127.0.0.1, for driving the real Codex CLI in tests through a
 * custom model provider (`base_url` pointing here). Codex 0.171 replays the whole conversation in
 * `input` on every request and needs three SSE events: response.created, one
 * response.output_item.done per item, and response.completed with usage.
 */
import http from 'node:http';
import { listenOnLoopback } from './loopback.js';

export type ResponsesReply =
  | { text: string }
  /** A function tool call, e.g. `exec_command` with `{ cmd }`. */
  | { call: { name: string; arguments: Record<string, unknown> } }
  /** A freeform tool call, e.g. `apply_patch` with a patch as its input. */
  | { custom: { name: string; input: string } }
  | { error: { status: number; message: string } }
  /** response.created, then nothing. */
  | { hang: true };

export interface ResponsesContext {
  /** The user's prompt (the last user message that is not Codex's environment context). */
  prompt: string;
  /** Tool outputs already in the conversation. */
  outputs: string[];
}

let counter = 0;
const nextId = (prefix: string) => `${prefix}_${(++counter).toString(36).padStart(5, '0')}`;

function textOfMessage(item: Record<string, unknown>): string {
  const content = item.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((c: Record<string, unknown>) => (typeof c.text === 'string' ? c.text : '')).join('');
}

export interface ScriptedResponses {
  /** The provider's base_url (ends in /v1). */
  url: string;
  requests: ResponsesContext[];
  close(): Promise<void>;
}

export async function startScriptedResponses(script: (ctx: ResponsesContext) => ResponsesReply): Promise<ScriptedResponses> {
  const requests: ResponsesContext[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method !== 'POST' || !pathname.endsWith('/responses')) {
      res.writeHead(pathname.endsWith('/models') ? 200 : 404, { 'content-type': 'application/json' });
      res.end(pathname.endsWith('/models') ? JSON.stringify({ object: 'list', data: [], models: [] }) : '{}');
      return;
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      // Answered with an error below.
    }
    const input = (Array.isArray(body.input) ? body.input : []) as Array<Record<string, unknown>>;
    const userTexts = input.filter((i) => i.type === 'message' && i.role === 'user').map(textOfMessage).filter((t) => !t.includes('<environment_context>'));
    const ctx: ResponsesContext = {
      prompt: userTexts[0] ?? '',
      outputs: input.filter((i) => typeof i.type === 'string' && (i.type as string).endsWith('_call_output')).map((i) => (typeof i.output === 'string' ? i.output : JSON.stringify(i.output))),
    };
    requests.push(ctx);
    const reply = script(ctx);
    if ('error' in reply) {
      res.writeHead(reply.error.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: reply.error.message, type: reply.error.status === 429 ? 'rate_limit_exceeded' : 'server_error', param: null, code: null } }));
      return;
    }
    const sse = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const base = { id: nextId('resp'), object: 'response', created_at: Math.floor(Date.now() / 1000), model: body.model ?? 'gpt-5.5', status: 'in_progress', output: [] };
    sse('response.created', { response: base });
    if ('hang' in reply) return;
    let item: Record<string, unknown>;
    if ('text' in reply) item = { type: 'message', id: nextId('msg'), role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: reply.text, annotations: [] }] };
    else if ('call' in reply) item = { type: 'function_call', id: nextId('fc'), call_id: nextId('call'), name: reply.call.name, arguments: JSON.stringify(reply.call.arguments) };
    else item = { type: 'custom_tool_call', id: nextId('ctc'), call_id: nextId('call'), name: reply.custom.name, input: reply.custom.input, status: 'completed' };
    sse('response.output_item.done', { output_index: 0, item });
    const usage = { input_tokens: 1000, input_tokens_details: { cached_tokens: 0 }, output_tokens: 100, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 1100 };
    sse('response.completed', { response: { ...base, status: 'completed', output: [item], usage } });
    res.end();
  });
  const { port, close } = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}/v1`, requests, close };
}

/**
 * A CODEX_HOME config that sends Codex to the scripted provider and nowhere else: no update check,
 * analytics, feedback, telemetry or plugin fetch; no retries (a test wants the first error).
 */
export function codexConfig(baseUrl: string): string {
  return `model = "gpt-5.5"
model_provider = "scripted"
check_for_update_on_startup = false
[analytics]
enabled = false
[feedback]
enabled = false
[otel]
exporter = "none"
[sandbox_workspace_write]
# /tmp is not a writable root: its sandbox would protect /tmp/.git by creating it as a mount point,
# and a /tmp/.git makes every folder under /tmp look like part of a repository.
exclude_slash_tmp = true
exclude_tmpdir_env_var = true
[features]
plugins = false
remote_plugin = false
apps = false
[model_providers.scripted]
name = "scripted"
base_url = "${baseUrl}"
env_key = "SCRIPTED_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
`;
}
