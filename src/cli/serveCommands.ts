/**
 * `planctl serve`: the plan API (REST + WebSocket, see docs/api.md) on 127.0.0.1 until SIGINT/SIGTERM.
 * The `api` section of git-workflow.json (the seeds' keys) is honoured: `port` is the default port,
 * `enabled: false` refuses to start unless --force, and `auth_required: false` is refused: the API
 * starts agents that run commands here, so it never runs without its token.
 */
import type { Command } from 'commander';
import { PlanError } from '../core/source.js';
import { parseAgent } from './orchestrateCommands.js';
import { isPidAlive } from '../run/registry.js';
import { wholeNumber } from './format.js';
import { loadWorkflowConfig, WORKFLOW_CONFIG_FILE, type ApiConfig } from '../core/workflowConfig.js';
import { findRepoRoot } from '../core/status.js';

const PARENT_POLL_MS = 2_000;

/** The part of planctl's Io this command uses. */
export interface ServeCommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

interface ServeOptions {
  port?: string;
  agent?: string;
  maxParallel?: string;
  tokenFile?: string;
  allowOrigin: string[];
  force?: boolean;
  mock?: boolean;
}

/** The port to listen on, or a refusal, from the flags and git-workflow.json's `api` section. */
export function apiStartDecision(api: ApiConfig, flags: { port?: number; force?: boolean }): { port?: number } {
  if (api.auth_required === false) {
    throw new PlanError(
      'invalid-argument',
      `${WORKFLOW_CONFIG_FILE}: api.auth_required is false, but the plan API always requires its bearer token: it starts agents that run commands in this repository, so anyone who could reach the port could run them; remove the key or set it to true`,
    );
  }
  if (api.enabled === false && !flags.force) {
    throw new PlanError('invalid-argument', `${WORKFLOW_CONFIG_FILE} has api.enabled: false, so the API is not started; set it to true, or pass --force to start it anyway`);
  }
  const port = flags.port ?? api.port;
  return port !== undefined ? { port } : {};
}


export function registerServeCommands(program: Command, io: ServeCommandIo): void {
  program
    .command('serve')
    .description('serve the plan API (REST + WebSocket) on 127.0.0.1; every request needs the token in the token file')
    .option('--port <n>', 'port on 127.0.0.1 (default: git-workflow.json api.port, else 3100; 0 picks a free one and prints it)')
    .option('--force', 'start even though git-workflow.json says api.enabled: false')
    .option('--agent <json>', 'agent argv (JSON array) for orchestrators started through the API (default ["claude","-p","{prompt}"])')
    .option('--max-parallel <n>', 'agents at once for orchestrators started through the API, unless a request says')
    .option('--token-file <file>', 'where the bearer token is kept (default: PLAN_API_TOKEN_FILE, then $XDG_CONFIG_HOME/plan-orchestrator/api-token)')
    .option('--allow-origin <origin>', 'let browser pages from this origin call the API (repeatable; none by default)', (v: string, all: string[]) => [...all, v], [])
    .option('--mock', 'serve made-up plans with a scripted event stream, for frontend work: nothing in the repository is read or written and nothing runs (docs/frontend.md)')
    .action(async (opts: ServeOptions) => {
      const flagPort = opts.port === undefined ? undefined : wholeNumber(opts.port, '--port', 0, 65535);
      // The mock never looks at the repository, not even at its git-workflow.json.
      const config = opts.mock ? undefined : await loadWorkflowConfig(findRepoRoot(io.cwd));
      const { port } = config ? apiStartDecision(config.api, { ...(flagPort !== undefined ? { port: flagPort } : {}), force: opts.force === true }) : { port: flagPort };
      const maxParallel = opts.maxParallel === undefined ? undefined : wholeNumber(opts.maxParallel, '--max-parallel', 1, 32);
      const agent = opts.agent === undefined ? undefined : parseAgent(opts.agent);
      // Loaded here, not at the top: the HTTP stack is only needed by this command, and every other
      // planctl run (agents call `planctl complete` many times) should not pay for loading it. The
      // bundle points this import at dist/planctl-serve.mjs (scripts/bundle-options.mjs).
      let api: typeof import('../server/api.js');
      try {
        api = await import('../server/api.js');
      } catch (e) {
        throw new PlanError('invalid-argument', `the API server cannot be loaded (${e instanceof Error ? e.message : String(e)}); dist/planctl-serve.mjs must sit beside planctl.mjs (npm run build makes both)`);
      }
      const { startApiServer, MockPlans } = api;
      const server = await startApiServer({
        cwd: io.cwd,
        ...(opts.mock ? { source: new MockPlans(maxParallel !== undefined ? { maxParallel } : {}) } : {}),
        env: io.env,
        allowOrigins: opts.allowOrigin,
        log: io.err,
        ...(port !== undefined ? { port } : {}),
        ...(opts.tokenFile !== undefined ? { tokenFile: opts.tokenFile } : {}),
        ...(agent ? { agent } : {}),
        ...(maxParallel !== undefined ? { maxParallel } : {}),
      });
      io.out(`${opts.mock ? 'Mock plan API (made-up plans; nothing runs)' : 'Plan API'} listening on ${server.url} (port ${server.port})`);
      io.out(`token file: ${server.tokenFile}`);
      io.out(`try: curl -H "Authorization: Bearer $(cat ${server.tokenFile})" ${server.url}/api/plans`);
      // A one-time code, not the token: the link signs one browser in and is useless after that.
      const login = server.loginUrl();
      io.out(`dashboard: open ${login.url} (one-time login link, valid until ${new Date(login.expiresAt).toLocaleTimeString()})`);
      await new Promise<void>((resolve) => {
        let parentWatch: NodeJS.Timeout | undefined;
        const stop = (why: string): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          clearInterval(parentWatch);
          io.out(`${why}: stopping the API server`);
          void server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        // Started by the VS Code extension: end with it, even when its host dies without a word,
        // instead of holding the port for the next start.
        const parent = Number(io.env.PLAN_SERVE_PARENT_PID);
        if (Number.isInteger(parent) && parent > 1) {
          parentWatch = setInterval(() => {
            if (!isPidAlive(parent)) stop(`parent process ${parent} is gone`);
          }, PARENT_POLL_MS);
          parentWatch.unref();
        }
      });
    });
}
