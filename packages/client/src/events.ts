/**
 * The API's live changes (`GET /api/events`, a WebSocket) with typed messages: first a snapshot of
 * everything, then one event per change. Works with the browser's WebSocket and with the `ws`
 * package on a server (node 20 has no global WebSocket): pass it as `WebSocket`.
 *
 * Authentication is the `bearer.<token>` subprotocol beside `plan-api.v1`, since a browser cannot set
 * headers on a WebSocket; a page the server logged in with its cookie passes no token.
 */
import type { components } from './schema.js';

type Schemas = components['schemas'];
export type ServerMessage = Schemas['ServerMessage'];
export type SnapshotMessage = Schemas['SnapshotMessage'];
export type EventMessage = Schemas['EventMessage'];
export type TaskMessage = Schemas['TaskMessage'];
export type TaskActivityMessage = Schemas['TaskActivityMessage'];
export type OrchestratorMessage = Schemas['OrchestratorMessage'];
export type PlanMessage = Schemas['PlanMessage'];
export type PlanRemovedMessage = Schemas['PlanRemovedMessage'];
export type WorktreeMessage = Schemas['WorktreeMessage'];
export type ServerMessageType = ServerMessage['type'];

/** The message of one type, narrowed (`orchestrator.started` is an OrchestratorMessage whose type is that one). */
export type MessageOfType<T extends ServerMessageType> = ServerMessage extends infer M ? (M extends { type: infer K } ? (T extends K ? M & { type: T } : never) : never) : never;

/** One handler per message type, each given its own message type. */
export type PlanEventHandlers = { [T in ServerMessageType]?: (message: MessageOfType<T>) => void };

/** The subprotocol the server speaks; it answers with this one, never with the token. */
export const EVENTS_PROTOCOL = 'plan-api.v1';

/** The part of the WebSocket API used here: the browser's WebSocket and the `ws` package both have it. */
export interface WebSocketLike {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'open' | 'error', listener: (event: unknown) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface PlanEventsOptions {
  /** Where `planctl serve` listens (`http://127.0.0.1:3100`); the WebSocket URL is made from it. */
  baseUrl: string;
  /** Offered as the `bearer.<token>` subprotocol. Server-side code only; omit it with the cookie login. */
  token?: string;
  /** Default: globalThis.WebSocket (browsers). On node 20: `import WebSocket from 'ws'`. */
  WebSocket?: WebSocketConstructor;
  /** Every message, snapshot included. */
  onMessage?: (message: ServerMessage) => void;
  /** Or a handler per type. */
  on?: PlanEventHandlers;
  /**
   * A message's seq skipped some: messages were missed (the server drops a client that stops
   * reading). Reconnect for a fresh snapshot.
   */
  onGap?: (expected: number, received: number) => void;
  onOpen?: () => void;
  /** A refused upgrade (401, 403) or a broken connection; a close follows. */
  onError?: (event: unknown) => void;
  onClose?: (code: number, reason: string) => void;
}

export interface PlanEvents {
  readonly socket: WebSocketLike;
  /** The seq of the last message received (-1 before the snapshot). */
  readonly lastSeq: number;
  close(): void;
}

/** `http://host:port` → `ws://host:port/api/events` (https → wss; a path prefix of a proxy is kept, as the REST client keeps it). */
export function eventsUrl(baseUrl: string): string {
  const url = new URL(`${baseUrl.replace(/\/+$/, '')}/api/events`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** A message as sent: one JSON text (a Buffer from `ws` on some versions, a string everywhere else). */
export function parseServerMessage(data: unknown): ServerMessage {
  const text = typeof data === 'string' ? data : String(data);
  return JSON.parse(text) as ServerMessage;
}

export function isMessageOfType<T extends ServerMessageType>(message: ServerMessage, type: T): message is MessageOfType<T> {
  return message.type === type;
}

export function connectPlanEvents(options: PlanEventsOptions): PlanEvents {
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Ctor) throw new Error('no WebSocket here: pass one as options.WebSocket (on node 20, the ws package)');
  const protocols = [EVENTS_PROTOCOL, ...(options.token ? [`bearer.${options.token}`] : [])];
  const socket = new Ctor(eventsUrl(options.baseUrl), protocols);
  let lastSeq = -1;
  socket.addEventListener('open', () => options.onOpen?.());
  // Always listened to: the ws package throws an error nobody listens to.
  socket.addEventListener('error', (e) => options.onError?.(e));
  socket.addEventListener('close', (e) => options.onClose?.(e.code, e.reason));
  socket.addEventListener('message', (event) => {
    const message = parseServerMessage(event.data);
    // A snapshot carries the seq of the last event before it: the next event is that plus one.
    if (message.type !== 'snapshot' && lastSeq >= 0 && message.seq !== lastSeq + 1) options.onGap?.(lastSeq + 1, message.seq);
    lastSeq = message.seq;
    options.onMessage?.(message);
    const handler = options.on?.[message.type] as ((m: ServerMessage) => void) | undefined;
    handler?.(message);
  });
  return {
    socket,
    get lastSeq() {
      return lastSeq;
    },
    close: () => socket.close(),
  };
}
