/**
 * The Plan API: a REST + WebSocket server over the same core as planctl, on 127.0.0.1 only.
 *
 * Every request needs the bearer token (a file only the user can read) or, from the server's own
 * dashboard page, the session cookie its one-time login link set (browserDashboard.ts, sessions.ts);
 * a Host header naming the loopback address and our port (a page on another site that rebinds its DNS
 * name to 127.0.0.1 sends its own name); and, when it has an Origin, our own origin or one from the
 * allow-list (empty by default: no other browser page may call us unless the user said so). What the
 * routes serve comes from a PlanSource (planSource.ts): a repository's plans, or `planctl serve
 * --mock`'s made-up ones; nothing from a request becomes a path or a command.
 *
 * No `vscode` import: `planctl serve` runs it, and the extension can host it through startApiServer.
 */
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Duplex, Readable } from 'node:stream';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import * as z from 'zod';
import spec from '../../openapi.json' with { type: 'json' };
import { MAX_WORKERS, MIN_WORKERS } from '../core/scheduleData.js';
import { PlanError } from '../core/source.js';
import type { TaskStatus } from '../core/status.js';
import { ApiError, errorBody, toApiError } from './errors.js';
import type { PlanctlEntry } from '../run/orchestratorLaunch.js';
import type { PlanSource } from './planSource.js';
import { openRepoPlans } from './repoPlans.js';
import { defaultTokenFile, loadOrCreateToken, tokenMatches } from './token.js';
import type { PlanWatcherOptions } from '../run/events/planWatcher.js';
import { registerBrowserDashboard } from './browserDashboard.js';
import { BrowserSessions, ownPageRequest } from './sessions.js';

export { MockPlans, type MockPlansOptions } from './mock/mockPlans.js';

export const DEFAULT_PORT = 3100;
/** Requests carry at most a reason for a failure; 64 KB is far more than any needs. */
export const BODY_LIMIT = 64 * 1024;
/** The WebSocket subprotocol; browsers also offer `bearer.<token>` beside it, as they cannot set headers. */
export const WS_PROTOCOL = 'plan-api.v1';
const WS_BEARER_PREFIX = 'bearer.';
/** A client this far behind (not reading its socket) is dropped rather than buffered without limit. */
const WS_MAX_BUFFERED = 8 * 1024 * 1024;
const WS_HEARTBEAT_MS = 30_000;

/**
 * How long a connection may sit idle or trickle a request in before it is closed, so that idle
 * sockets and slowloris clients (half a request, a byte at a time) cannot pile up. WebSocket
 * connections and followed log streams are exempt: they are meant to stay open with nothing to say.
 */
export interface ApiTimeouts {
  /** From a connection's first byte (or its opening, when it sends none) until the request headers are complete. */
  headersMs: number;
  /** Until the whole request, body included, has arrived. */
  requestMs: number;
  /** An idle keep-alive connection between two requests. */
  keepAliveMs: number;
  /** No traffic at all on the socket while a request is handled or its response sent (a client not reading). */
  idleMs: number;
  /** How often node checks the headers and request deadlines (node's default is 30 s, late for a 10 s deadline). */
  checkIntervalMs: number;
}

export const DEFAULT_TIMEOUTS: ApiTimeouts = { headersMs: 10_000, requestMs: 10_000, keepAliveMs: 5_000, idleMs: 60_000, checkIntervalMs: 1_000 };

export interface ApiServerOptions {
  /** Any directory of the repository; its worktrees' plans are served (unless `source` says otherwise). */
  cwd: string;
  /**
   * Serve these plans instead of the repository's (`planctl serve --mock`); the server closes it.
   * The repository options below (agent, maxParallel, env, entry, watch) then do nothing.
   */
  source?: PlanSource;
  /** 3100 by default; 0 picks a free port. */
  port?: number;
  /** Default: PLAN_API_TOKEN_FILE, then $XDG_CONFIG_HOME/plan-orchestrator/api-token (or ~/.config/…). */
  tokenFile?: string;
  /** Origins (`http://localhost:5173`) whose pages may call the API; empty by default. */
  allowOrigins?: readonly string[];
  /** The agent argv template of the orchestrators the API starts (planctl's default when unset). */
  agent?: readonly string[];
  /** Agents at once for orchestrators the API starts, when a request does not say. */
  maxParallel?: number;
  /** The environment of started orchestrators (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** How to run planctl for a start (default: this process's node, flags and script). */
  entry?: PlanctlEntry;
  bodyLimit?: number;
  /** Connection deadlines (DEFAULT_TIMEOUTS); tests lower them to see a connection closed quickly. */
  timeouts?: Partial<ApiTimeouts>;
  watch?: Omit<PlanWatcherOptions, 'cwd' | 'onError'>;
  /** Where unexpected errors are reported (they reach clients only as "internal error"). */
  log?: (line: string) => void;
}

export interface ApiServer {
  url: string;
  port: number;
  token: string;
  tokenFile: string;
  /** A new one-time login link for the browser dashboard at `/` (sessions.ts). */
  loginUrl(): { url: string; expiresAt: string };
  /** Open log streams and WebSocket clients: lets tests check that nothing is left behind. */
  stats(): { followers: number; websockets: number };
  close(): Promise<void>;
}

const TRANSITIONS: Array<[action: string, status: TaskStatus]> = [
  ['complete', 'completed'],
  ['fail', 'failed'],
  ['skip', 'skipped'],
  ['reset', 'pending'],
];

const emptyBody = z.object({}).strict().optional();
const startBody = z
  .object({
    maxParallel: z.number().int().min(1).max(32).optional(),
    /** The gate commands the client saw (in a 409's `commands`) and approves. */
    approveCommands: z.array(z.string().min(1).max(4000)).max(200).optional(),
    /** Commit to the main checkout's branch (a plan without a worktree). */
    inPlace: z.boolean().optional(),
    /** Run although the checkout has uncommitted changes. */
    allowDirty: z.boolean().optional(),
  })
  .strict()
  .optional();
const failBody = z.object({ error: z.string().trim().min(1).max(4000).optional() }).strict().optional();
const approveBody = z.object({ tools: z.array(z.string().min(1).max(500)).max(50).optional() }).strict().optional();
const logsQuery = z.object({ task: z.string().min(1).max(200).optional(), follow: z.enum(['0', '1', 'true', 'false']).optional() });
const scheduleQuery = z.object({
  workers: z
    .string()
    .regex(/^\d+$/, 'workers must be a whole number')
    .transform(Number)
    .refine((n) => n >= MIN_WORKERS && n <= MAX_WORKERS, `workers must be between ${MIN_WORKERS} and ${MAX_WORKERS}`)
    .optional(),
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const where = issue.path.length ? `${issue.path.map(String).join('.')}: ` : '';
  const message = issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.map((k) => `"${k}"`).join(', ')}` : `${where}${issue.message}`;
  throw new ApiError(400, 'invalid-request', `${what}: ${message}`);
}

function checkOrigins(origins: readonly string[]): Set<string> {
  for (const o of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(o);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== o || !/^https?:$/.test(parsed.protocol)) {
      throw new PlanError('invalid-argument', `--allow-origin must be an origin like http://localhost:5173 (scheme, host, port; no path), not "${o}"`);
    }
  }
  return new Set(origins);
}

function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  const m = /^Bearer +(\S+) *$/i.exec(headers.authorization ?? '');
  return m?.[1];
}

function protocolsOf(headers: IncomingHttpHeaders): string[] {
  return (headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

function rejectUpgrade(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(errorBody(err.code, err.message));
  const head = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(err.status === 401 ? ['WWW-Authenticate: Bearer'] : []),
  ];
  socket.on('error', () => undefined);
  // end() alone leaves the socket half-open (the http server allows that): destroy it once the
  // answer is out, as ws's own abortHandshake does, so refused clients cannot pile up sockets.
  socket.once('finish', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const requestedPort = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(requestedPort) || requestedPort < 0 || requestedPort > 65535) throw new PlanError('invalid-argument', `--port must be 0..65535, not ${requestedPort}`);
  const allowOrigins = checkOrigins(options.allowOrigins ?? []);
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);
  const { token, file: tokenFile } = await loadOrCreateToken(options.tokenFile ?? defaultTokenFile(env));
  const source =
    options.source ??
    (await openRepoPlans({
      cwd: options.cwd,
      launch: {
        entry: options.entry ?? { execArgv: process.execArgv, script: process.argv[1]! },
        env,
        ...(options.agent ? { agent: options.agent } : {}),
        ...(options.maxParallel !== undefined ? { maxParallel: options.maxParallel } : {}),
      },
      ...(options.watch ? { watch: options.watch } : {}),
      log,
    }));

  let port = requestedPort;
  const follows = new Set<Readable>();

  /** Host and Origin: what a browser page on another site (or behind a rebound DNS name) cannot fake. */
  const refuseHostOrOrigin = (headers: IncomingHttpHeaders): ApiError | undefined => {
    const host = headers.host?.toLowerCase();
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      return new ApiError(403, 'bad-host', `the Host header must be 127.0.0.1:${port} or localhost:${port}`);
    }
    // The server's own origin is its dashboard page (browserDashboard.ts).
    const origin = headers.origin;
    if (origin !== undefined && origin !== `http://${host}` && !allowOrigins.has(origin)) return new ApiError(403, 'origin-not-allowed', `origin ${origin} is not allowed (planctl serve --allow-origin)`);
    return undefined;
  };
  const sessions = new BrowserSessions(() => `plan_session_${port}`);
  /** The browser's session cookie counts only on requests of the server's own page (sessions.ts). */
  const signedIn = (headers: IncomingHttpHeaders, method: string): boolean => ownPageRequest(headers, method, headers.host!.toLowerCase()) && sessions.signedIn(headers);
  /**
   * Every request and every WebSocket upgrade pass these, Host and Origin first: they tell the least.
   * Then the bearer token, or the dashboard page's session cookie, unless the route is public.
   */
  const gate = (headers: IncomingHttpHeaders, method: string, access: 'public' | 'token' | undefined, wsToken?: string): ApiError | undefined => {
    const refusal = refuseHostOrOrigin(headers);
    if (refusal) return refusal;
    if (access === 'public' || tokenMatches(token, bearerOf(headers) ?? wsToken)) return undefined;
    if (access !== 'token' && signedIn(headers, method)) return undefined;
    return new ApiError(401, 'unauthorized', 'a valid "Authorization: Bearer <token>" header is required');
  };

  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? BODY_LIMIT,
    // Log streams that follow a file never end on their own; closing must not wait for them.
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 256 },
    // A client that trickles its request in for longer than this is not one of ours.
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    // Node refuses a headers deadline later than the request deadline.
    http: { headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs), connectionsCheckingInterval: timeouts.checkIntervalMs },
  });

  // JSON only (fastify also takes text/plain by default: a body of another type gets 415). An empty
  // body with a JSON content type means "no options", as `curl -X POST -H 'Content-Type: application/json'` sends.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') return done(null, undefined);
    return jsonParser(req, body as string, done);
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('cache-control', 'no-store');
    reply.header('x-content-type-options', 'nosniff');
    const origin = req.headers.origin;
    const corsOk = origin !== undefined && allowOrigins.has(origin);
    if (corsOk) reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    // A browser's preflight never carries the token; it only asks whether the real request may be sent.
    if (req.method === 'OPTIONS' && corsOk && !refuseHostOrOrigin(req.headers)) {
      return reply
        .code(204)
        .header('access-control-allow-methods', 'GET, POST')
        .header('access-control-allow-headers', 'Authorization, Content-Type')
        .header('access-control-max-age', '600')
        .send();
    }
    const refusal = gate(req.headers, req.method, req.routeOptions.config?.access);
    if (refusal) {
      if (refusal.status === 401) reply.header('www-authenticate', 'Bearer');
      return reply.code(refusal.status).send(errorBody(refusal.code, refusal.message));
    }
    return undefined;
  });

  app.setErrorHandler((err, _req, reply) => {
    const e = toApiError(err);
    if (e.status >= 500) log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return reply.code(e.status).send(errorBody(e.code, e.message, e.commands));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('not-found', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`)));

  type NameParams = { Params: { name: string } };

  app.get('/api/openapi.json', async () => spec);
  const browser = registerBrowserDashboard(app, { source, sessions, signedIn, url: () => `http://127.0.0.1:${port}` });

  app.get('/api/plans', async () => ({ plans: await source.listPlans() }));

  app.get<NameParams>('/api/plans/:name/status', async (req) => source.planStatus(req.params.name));

  app.post<NameParams>('/api/plans/:name/start', async (req, reply) => {
    const body = parse(startBody, req.body, 'request body');
    return reply.code(202).send(await source.start(req.params.name, body ?? {}));
  });

  app.post<NameParams>('/api/plans/:name/stop', async (req, reply) => {
    parse(emptyBody, req.body, 'request body');
    return reply.code(202).send(await source.stop(req.params.name));
  });

  app.get<NameParams & { Querystring: Record<string, string> }>('/api/plans/:name/logs', async (req, reply) => {
    const q = parse(logsQuery, req.query, 'query');
    const follow = q.follow === '1' || q.follow === 'true';
    const stream = await source.openLog(req.params.name, q.task, follow);
    reply.header('content-type', 'text/plain; charset=utf-8');
    if (!follow) return reply.send(stream);
    // Taken over from fastify: the headers must go out now, not with the first byte of a log that
    // may not exist yet, and the response ends only when the client goes away.
    follows.add(stream);
    stream.on('close', () => follows.delete(stream));
    reply.hijack();
    const res = reply.raw;
    const headers = Object.fromEntries(Object.entries(reply.getHeaders()).filter(([, v]) => v !== undefined)) as Record<string, string | number | string[]>;
    // A followed log may stay quiet for long: the idle deadline is for clients that stall, not for this.
    req.raw.socket.setTimeout(0);
    res.writeHead(200, { ...headers, 'x-accel-buffering': 'no' });
    res.flushHeaders();
    res.on('close', () => stream.destroy());
    stream.on('error', () => res.destroy());
    // The client may have gone while the plan was being looked up: its 'close' has fired already.
    if (res.destroyed || req.raw.socket.destroyed) {
      stream.destroy();
      return reply;
    }
    stream.pipe(res);
    return reply;
  });

  app.get<NameParams & { Querystring: Record<string, string> }>('/api/plans/:name/schedule', async (req) => {
    const q = parse(scheduleQuery, req.query, 'query');
    return source.schedule(req.params.name, q.workers ?? 3);
  });

  for (const [action, status] of TRANSITIONS) {
    app.post<{ Params: { name: string; id: string } }>(`/api/plans/:name/tasks/:id/${action}`, async (req) => {
      const body = parse(action === 'fail' ? failBody : emptyBody, req.body, 'request body') as { error?: string } | undefined;
      return source.setTaskStatus(req.params.name, req.params.id, status, body?.error);
    });
  }

  app.post<{ Params: { name: string; id: string } }>('/api/plans/:name/tasks/:id/approve', async (req) => {
    const body = parse(approveBody, req.body, 'request body') as { tools?: string[] } | undefined;
    return source.approve(req.params.name, req.params.id, body?.tools);
  });

  // Reached only without an Upgrade header (upgrades go to the 'upgrade' listener below).
  app.get('/api/events', async (_req, reply) =>
    reply.code(426).header('upgrade', 'websocket').send(errorBody('upgrade-required', 'this is a WebSocket endpoint: connect with a WebSocket client')),
  );

  const wss = new WebSocketServer({
    noServer: true,
    // Clients have nothing to send but pings; a big frame is a mistake or an attack.
    maxPayload: 4096,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
  });
  const alive = new WeakSet<WebSocket>();
  wss.on('connection', (ws) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('error', () => ws.terminate());
    // The snapshot is built and queued in the same tick the client joins the broadcast set: no event falls in between.
    ws.send(JSON.stringify(source.snapshot()));
  });
  // ws clears the socket's idle deadline of an accepted upgrade (the heartbeat below finds dead peers);
  // the headers and request deadlines end with the handshake request, which is complete by now.
  app.server.on('upgrade', (req, socket, head) => {
    const pathname = (req.url ?? '/').split('?')[0];
    const bearer = protocolsOf(req.headers).find((p) => p.startsWith(WS_BEARER_PREFIX))?.slice(WS_BEARER_PREFIX.length);
    // As a state-changing request: a WebSocket that uses the cookie must name our origin (browsers always do).
    const refusal = gate(req.headers, 'UPGRADE', undefined, bearer) ?? (pathname === '/api/events' ? undefined : new ApiError(404, 'not-found', `no WebSocket endpoint at ${pathname}`));
    if (refusal) return rejectUpgrade(socket, refusal);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const unsubscribe = source.onEvent((_message, json) => {
    for (const c of wss.clients) {
      if (c.readyState !== WebSocket.OPEN) continue;
      if (c.bufferedAmount > WS_MAX_BUFFERED) c.terminate();
      else c.send(json);
    }
  });
  const heartbeat = setInterval(() => {
    for (const c of wss.clients) {
      if (!alive.has(c)) {
        c.terminate();
        continue;
      }
      alive.delete(c);
      c.ping();
    }
  }, WS_HEARTBEAT_MS);
  heartbeat.unref();

  const shutdown = async (): Promise<void> => {
    clearInterval(heartbeat);
    unsubscribe();
    source.close();
    for (const c of wss.clients) c.terminate();
    wss.close();
    for (const s of follows) s.destroy();
    await app.close();
  };

  try {
    await app.listen({ host: '127.0.0.1', port: requestedPort });
  } catch (e) {
    await shutdown();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new PlanError('invalid-argument', `port ${requestedPort} on 127.0.0.1 is in use; choose another with --port (0 picks a free one)`);
    throw e;
  }
  const address = app.server.address();
  port = typeof address === 'object' && address ? address.port : requestedPort;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    tokenFile,
    loginUrl: browser.loginUrl,
    stats: () => ({ followers: follows.size, websockets: wss.clients.size }),
    close: () => (closing ??= shutdown()),
  };
}
