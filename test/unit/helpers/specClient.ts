/**
 * The typed client (@plan-orchestrator/client) with a check on every response: its status must be
 * one the spec lists for the operation, its content type one the spec gives, and a JSON body must
 * fit the spec's schema. It also records which operations were called, so a test can tell that it
 * went through every one.
 */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { connectPlanEvents, createPlanClient, type PlanClient, type ServerMessage, type WebSocketConstructor } from '../../../packages/client/src/index.js';
import { assertSchema, operations, responseOf, schemaErrors } from './openapiSpec.js';

export interface CheckedClient {
  api: PlanClient;
  /** `get /api/plans/{name}/status`, … for each operation answered. */
  called: Set<string>;
}

export function checkedClient(baseUrl: string, token: string): CheckedClient {
  const api = createPlanClient({ baseUrl, token });
  const called = new Set<string>();
  api.use({
    async onResponse({ request, response, schemaPath }) {
      const method = request.method.toLowerCase();
      const label = `${method.toUpperCase()} ${schemaPath} → ${response.status}`;
      called.add(`${method} ${schemaPath}`);
      const declared = responseOf(schemaPath, method, response.status);
      assert.ok(declared, `${label} is not a response the spec lists`);
      const type = response.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
      const media = declared.content?.[type];
      assert.ok(media, `${label}: content type "${type}" is not in the spec (${Object.keys(declared.content ?? {}).join(', ') || 'no body'})`);
      // A followed log never ends: its type is all there is to check (the schema is a string).
      if (type !== 'application/json') return;
      const body: unknown = await response.clone().json();
      const errors = schemaErrors(media.schema, body);
      assert.equal(errors, undefined, `${label}: ${errors}\n${JSON.stringify(body).slice(0, 2000)}`);
    },
  });
  return { api, called };
}

/** Every operation but the WebSocket (which the events helper checks) was called. */
export function assertEveryOperationCalled(called: Set<string>): void {
  const missing = operations()
    .filter((o) => o.path !== '/api/events')
    .map((o) => `${o.method} ${o.path}`)
    .filter((k) => !called.has(k));
  assert.deepEqual(missing, [], 'operations never called through the client');
}

/** The events helper on node (the `ws` package); every message is checked against ServerMessage. */
export function openEvents(baseUrl: string, token: string): { messages: ServerMessage[]; gaps: number[]; opened: Promise<void>; next: (what: string, pred: (m: ServerMessage) => boolean, timeoutMs?: number) => Promise<ServerMessage>; close: () => void } {
  const messages: ServerMessage[] = [];
  const gaps: number[] = [];
  let wake: (() => void) | undefined;
  let open!: () => void;
  let fail!: (e: unknown) => void;
  const opened = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  const events = connectPlanEvents({
    baseUrl,
    token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    onOpen: open,
    onError: fail,
    onGap: (expected) => gaps.push(expected),
    onMessage: (m) => {
      assertSchema('ServerMessage', m);
      messages.push(m);
      wake?.();
    },
  });
  const next = async (what: string, pred: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<ServerMessage> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = messages.find(pred);
      if (found) return found;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${messages.map((m) => m.type).join(', ')}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  };
  return { messages, gaps, opened, next, close: () => events.close() };
}
