/**
 * The dashboard in a browser: `planctl serve` serves at `/` the page the VS Code webview shows
 * (media/dashboard.js and dashboard.css under the shared page shell), its data at `/api/dashboard`
 * (built by the same dashboard model from the watcher's state, the state the events come from), and
 * the sign-in that gives the page its session cookie (sessions.ts). The page keeps itself live over
 * `/api/events` and starts and stops orchestrators through the REST endpoints, like any client.
 *
 * Pages are sent with a Content-Security-Policy header that allows only the server's own script,
 * stylesheet and WebSocket: nothing inline, nothing from elsewhere, no framing.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { pageShell } from '../core/pageShell.js';
import { DASHBOARD_TITLE, dashboardData, dashboardPlanOf, type DashboardData } from '../run/events/dashboardModel.js';
import type { Analysis } from '../core/analyzer.js';
import type { StatusFile } from '../core/status.js';
import type { KnownPlan, OrchestratorInfo } from '../run/events/messages.js';
import type { PlanSource } from './planSource.js';
import { LOGIN_CODE_TTL_MS, type BrowserSessions, type LoginRefusal } from './sessions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `public`: no token or session needed (Host and Origin are still checked); `token`: the bearer token only, not the browser's session. */
    access?: 'public' | 'token';
  }
}

/** The files of media/ the page loads, by the path they are served at. */
const ASSETS: Record<string, { file: string; type: string }> = {
  '/dashboard.js': { file: 'dashboard.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard.css': { file: 'dashboard.css', type: 'text/css; charset=utf-8' },
  '/plans.svg': { file: 'plans.svg', type: 'image/svg+xml' },
};

/** media/ of this install: beside dist/ (the bundle), or at the repository root (compiled or from source). */
function findMediaDir(): string | undefined {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'media', 'dashboard.js'))) return path.join(dir, 'media');
    if (path.dirname(dir) === dir) return undefined;
  }
}

function pageHeaders(reply: FastifyReply, host: string): FastifyReply {
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    // 'self' covers ws: in current browsers; the explicit address keeps older ones working.
    `connect-src 'self' ws://${host}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return reply
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', csp)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer');
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A page that only says something (signed out, a refused login link): the dashboard's stylesheet, no script. */
function messagePage(title: string, paragraphs: string[]): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="/dashboard.css">
<link rel="icon" href="/plans.svg">
<title>${escapeHtml(title)}</title>
</head>
<body>
<main class="message">
<h1>${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${p}</p>`).join('\n')}
</main>
</body>
</html>`;
}

/** How to get another link; `host` is the checked Host header. */
const newLink = (host: string): string =>
  `Run <code>planctl serve</code> again for a new link, or ask the running server for one: <code>curl -s -X POST -H "Authorization: Bearer $(cat &lt;token file&gt;)" http://${escapeHtml(host)}/api/login-codes</code>.`;

const REFUSED: Record<LoginRefusal, { status: number; title: string; text: string }> = {
  used: { status: 410, title: 'This login link was already used', text: 'A login link works once: it has signed a browser in already.' },
  expired: { status: 410, title: 'This login link has expired', text: `A login link works for ${LOGIN_CODE_TTL_MS / 60_000} minutes after planctl serve printed it.` },
  unknown: { status: 400, title: 'This login link is not valid', text: 'This server did not make it (it may have been restarted since, which ends every link and sign-in).' },
};

export interface BrowserDashboardOptions {
  source: PlanSource;
  sessions: BrowserSessions;
  /** The server's own address, for the login links it makes. */
  url: () => string;
  /** Whether this request may use the session cookie (signed in, and from the server's own page). */
  signedIn: (headers: import('node:http').IncomingHttpHeaders, method: string) => boolean;
}

/** A plan as a source knows it, for its dashboard card. */
export interface SourcePlanState {
  plan: KnownPlan;
  status: StatusFile;
  analysis?: Analysis;
  error?: string;
  orchestrator: OrchestratorInfo | null;
}

/**
 * The dashboard's data from what a source knows of its plans (the watcher's state, or the mock's):
 * every known plan is a card, and can be started. `main` is the main checkout's folder.
 */
export function browserDashboardData(states: readonly SourcePlanState[], main: string | undefined): DashboardData {
  const where = (worktree: string): string => (worktree === main ? 'main checkout' : path.basename(worktree));
  const plans = states.map((s) =>
    dashboardPlanOf({
      key: s.plan.name,
      name: s.plan.name,
      where: where(s.plan.worktree),
      ...(s.plan.branch ? { branch: s.plan.branch } : {}),
      ...(s.analysis ? { analysis: s.analysis } : {}),
      status: s.status,
      ...(s.error ? { error: s.error } : {}),
      ...(s.orchestrator?.alive ? { orchestrator: { pid: s.orchestrator.pid, startedAt: s.orchestrator.startedAt } } : {}),
    }),
  );
  const workspacePlans = states.map((s, i) => ({ file: s.plan.name, title: plans[i]!.title, path: s.plan.worktree === main ? s.plan.plan : `${where(s.plan.worktree)}/${s.plan.plan}` }));
  return dashboardData(plans, { now: new Date(), trusted: true, canOpen: true, workspacePlans });
}

export function registerBrowserDashboard(app: FastifyInstance, options: BrowserDashboardOptions): { loginUrl: () => { url: string; expiresAt: string } } {
  const { source, sessions } = options;
  const media = findMediaDir();
  const loginUrl = (): { url: string; expiresAt: string } => {
    const { code, expiresAt } = sessions.issueCode();
    return { url: `${options.url()}/login?code=${code}`, expiresAt: expiresAt.toISOString() };
  };

  app.get('/', { config: { access: 'public' } }, async (req, reply) => {
    const host = req.headers.host!;
    if (!options.signedIn(req.headers, req.method)) {
      return pageHeaders(reply.code(401), host).send(
        messagePage('Sign in to the Plan Dashboard', [
          'Open the one-time login link that <code>planctl serve</code> printed when it started: it signs this browser in.',
          newLink(host),
        ]),
      );
    }
    return pageHeaders(reply, host).send(pageShell({ styleHref: '/dashboard.css', scriptSrc: '/dashboard.js', iconHref: '/plans.svg', title: DASHBOARD_TITLE }));
  });

  app.get<{ Querystring: Record<string, string> }>('/login', { config: { access: 'public' } }, async (req, reply) => {
    const result = sessions.redeem(typeof req.query.code === 'string' ? req.query.code : undefined);
    if ('session' in result) {
      // 303: the browser asks for / with GET, and the address bar shows / (the code is not kept in it).
      return pageHeaders(reply.code(303), req.headers.host!).header('set-cookie', sessions.cookie(result.session)).header('location', '/').send('');
    }
    const r = REFUSED[result.refused];
    return pageHeaders(reply.code(r.status), req.headers.host!).send(messagePage(r.title, [r.text, newLink(req.headers.host!)]));
  });

  for (const [route, asset] of Object.entries(ASSETS)) {
    app.get(route, { config: { access: 'public' } }, async (_req, reply) => {
      if (!media) return reply.code(500).type('text/plain; charset=utf-8').send('the dashboard files (media/) are not installed beside planctl');
      return reply.type(asset.type).send(await readFile(path.join(media, asset.file)));
    });
  }

  app.get('/api/dashboard', async () => source.dashboard());

  // The token only: a signed-in page has no use for more login links.
  app.post('/api/login-codes', { config: { access: 'token' } }, async (_req, reply) => reply.code(201).send(loginUrl()));

  return { loginUrl };
}
