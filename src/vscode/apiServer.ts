/**
 * Plan: Start/Stop API Server. The server is `planctl serve` (src/server) run as a child process of
 * the extension host: a crash of the HTTP stack cannot take the extension down, and the extension
 * bundle does not carry fastify. Its URL and token file go in a status bar item's tooltip.
 */
import * as vscode from 'vscode';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { readFile } from 'node:fs/promises';
import { PlanError } from '../core/source.js';

export interface ApiServerState {
  url: string;
  port: number;
  tokenFile: string;
  pid: number;
}

const LISTENING = /^Plan API listening on (http:\/\/\S+) \(port (\d+)\)$/;
const TOKEN_FILE = /^token file: (.+)$/;
const START_TIMEOUT_MS = 15_000;

export class ApiServerController implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private current: ApiServerState | undefined;
  private starting: Promise<ApiServerState> | undefined;
  private readonly item = vscode.window.createStatusBarItem('planOrchestrator.api', vscode.StatusBarAlignment.Left, 49);
  private readonly changed = new vscode.EventEmitter<ApiServerState | undefined>();
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly cwd: () => string | undefined,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.item.name = 'Plan API';
  }

  /** The running server, if any. */
  get state(): ApiServerState | undefined {
    return this.current;
  }

  /** Starts `planctl serve` (or returns the running one) and resolves once it listens. */
  start(): Promise<ApiServerState> {
    if (this.current) return Promise.resolve(this.current);
    if (this.starting) return this.starting;
    if (!vscode.workspace.isTrusted) return Promise.reject(new PlanError('invalid-argument', 'this workspace is not trusted: the API server, which can start orchestrators, is not started'));
    const cwd = this.cwd();
    if (!cwd) return Promise.reject(new PlanError('invalid-argument', 'open a folder first: the API serves the plans of its repository'));
    this.starting = this.spawnServer(cwd).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private spawnServer(cwd: string): Promise<ApiServerState> {
    const config = vscode.workspace.getConfiguration('planOrchestrator');
    const args = [path.join(this.context.extensionPath, 'dist', 'planctl.mjs'), 'serve', '--port', String(config.get<number>('apiPort', 3100))];
    args.push('--max-parallel', String(config.get<number>('maxParallel', 3)));
    const agent = config.get<string[]>('agentCommand');
    if (Array.isArray(agent) && agent.length > 0) args.push('--agent', JSON.stringify(agent));
    // The extension host's runtime runs the bundled CLI (ELECTRON_RUN_AS_NODE turns the desktop
    // app's binary into node); argv only, no shell.
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', PLAN_SERVE_PARENT_PID: String(process.pid) }, stdio: ['ignore', 'pipe', 'pipe'], shell: false });
    this.child = child;
    return new Promise<ApiServerState>((resolve, reject) => {
      let url: string | undefined;
      let port = 0;
      let errors = '';
      const timer = setTimeout(() => fail(`it did not report listening within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
      const fail = (why: string): void => {
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        reject(new PlanError('invalid-argument', `the API server did not start: ${why}`));
      };
      createInterface({ input: child.stdout! }).on('line', (line) => {
        this.log.info(`api: ${line}`);
        const listening = LISTENING.exec(line);
        if (listening) [url, port] = [listening[1]!, Number(listening[2])];
        const token = TOKEN_FILE.exec(line);
        if (token && url) {
          clearTimeout(timer);
          this.current = { url, port, tokenFile: token[1]!, pid: child.pid! };
          this.show(this.current);
          resolve(this.current);
        }
      });
      createInterface({ input: child.stderr! }).on('line', (line) => {
        this.log.info(`api: ${line}`);
        errors = `${errors}${line}\n`.slice(-2000);
      });
      child.on('error', (e) => fail(e.message));
      child.on('close', (code, signal) => {
        const last = errors.trim().split('\n').pop();
        if (!this.current) fail(last || `exit ${code ?? signal}`);
        else if (this.child === child) {
          this.log.info(`api: the server ended (${code ?? signal})`);
          if (code !== 0 && signal !== 'SIGTERM') void vscode.window.showWarningMessage(`Plan Orchestrator: the API server ended: ${last ?? `exit ${code ?? signal}`}`);
        }
        if (this.child === child) {
          this.child = undefined;
          this.current = undefined;
          this.item.hide();
          this.changed.fire(undefined);
        }
      });
    });
  }

  private show(s: ApiServerState): void {
    this.item.text = `$(broadcast) Plan API`;
    const md = new vscode.MarkdownString(`**Plan API** on `);
    md.appendText(s.url);
    md.appendMarkdown(`\n\nBearer token in `);
    md.appendText(s.tokenFile);
    md.appendMarkdown(`\n\nClick to copy the URL. **Plan: Stop API Server** ends it.`);
    this.item.tooltip = md;
    this.item.command = { command: 'planOrchestrator.copyApiUrl', title: 'Copy API URL' };
    this.item.show();
    this.changed.fire(s);
  }

  /** A new one-time login link for the browser dashboard, asked of the running server with its token. */
  async loginLink(): Promise<string> {
    const s = this.current;
    if (!s) throw new PlanError('invalid-argument', 'the API server is not running');
    const token = (await readFile(s.tokenFile, 'utf8')).trim();
    const res = await fetch(`${s.url}/api/login-codes`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json().catch(() => ({}))) as { url?: string; error?: { message?: string } };
    if (!res.ok || !body.url) throw new PlanError('invalid-argument', `the API server gave no login link: ${body.error?.message ?? `HTTP ${res.status}`}`);
    return body.url;
  }

  /** Ends the server (SIGTERM: it closes its connections) and resolves once the process is gone. */
  async stop(): Promise<boolean> {
    await this.starting?.catch(() => undefined);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return false;
    const gone = new Promise<void>((resolve) => child.once('close', () => resolve()));
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await gone;
    clearTimeout(killer);
    return true;
  }

  dispose(): void {
    void this.stop();
    this.item.dispose();
    this.changed.dispose();
  }
}

export function apiServerCommands(api: ApiServerController): Record<string, () => Promise<unknown>> {
  return {
    'planOrchestrator.startApiServer': async () => {
      const s = await api.start();
      void vscode.window.showInformationMessage(`Plan API on ${s.url} (token in ${s.tokenFile})`);
      return s;
    },
    'planOrchestrator.stopApiServer': async () => {
      if (!(await api.stop())) void vscode.window.showInformationMessage('The Plan API server is not running.');
    },
    // The browser dashboard (planctl serve's `/`): a fresh one-time login link, opened in the user's
    // browser; the token stays in its file and the link works once (browserDashboard.ts).
    'planOrchestrator.openBrowserDashboard': async () => {
      await api.start();
      const link = await api.loginLink();
      await vscode.env.openExternal(vscode.Uri.parse(link));
      return link;
    },
    'planOrchestrator.copyApiUrl': async () => {
      if (api.state) await vscode.env.clipboard.writeText(api.state.url);
    },
  };
}
