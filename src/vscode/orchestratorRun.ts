/**
 * One orchestrator run in a terminal that stays: a Pseudoterminal whose process is `planctl
 * orchestrate` (no shell, so no quoting of user strings), started by the extension host with its own
 * runtime. When the run ends, the terminal keeps everything it printed and a summary line, and a
 * notification says how it went, with the actions that follow (Open Dashboard, Show Failed, Open Log)
 * instead of a raw "terminated with exit code".
 */
import * as vscode from 'vscode';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';

export interface RunSpec {
  title: string;
  cwd: string;
  planFile: string;
  /** planctl's arguments, starting with `orchestrate`. */
  args: string[];
  /** The bundled planctl script. */
  cli: string;
  /** Added to the extension host's environment (PATH with planctl, PLAN_FILE, …). */
  env: Record<string, string>;
}

export type RunOutcome = { kind: 'done' | 'failed' | 'refused' | 'stopped'; code: number | null; summary: string };

/** What the exit code of `planctl orchestrate` means (see its --help). */
export function outcomeOf(code: number | null, signal: NodeJS.Signals | null, lastLines: string[]): RunOutcome {
  const last = [...lastLines].reverse();
  const summary = last.find((l) => /\bdone, \d+ failed/.test(l)) ?? last.find((l) => l.startsWith('planctl: '))?.replace(/^planctl: /, '') ?? last[0] ?? '';
  if (code === 0) return { kind: 'done', code, summary };
  if (code === 130 || code === 143 || signal) return { kind: 'stopped', code, summary };
  if (code === 2) return { kind: 'refused', code, summary };
  return { kind: 'failed', code, summary };
}

export class OrchestratorRun implements vscode.Pseudoterminal {
  private readonly write = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number | void>();
  readonly onDidWrite = this.write.event;
  readonly onDidClose = this.closed.event;
  private child: ChildProcess | undefined;
  private ended = false;
  private readonly tail: string[] = [];
  private readonly finished = new vscode.EventEmitter<RunOutcome>();
  /** Fires once when planctl has exited. */
  readonly onDidFinish = this.finished.event;
  outcome: RunOutcome | undefined;

  constructor(readonly spec: RunSpec) {}

  open(): void {
    const { spec } = this;
    this.line(`\x1b[2m$ planctl ${spec.args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\x1b[0m`);
    this.line(`\x1b[2m  in ${spec.cwd}\x1b[0m`);
    // ELECTRON_RUN_AS_NODE: the desktop app's binary runs the bundled CLI as node; planctl removes it
    // again from what its agents inherit.
    const child = spawn(process.execPath, [spec.cli, ...spec.args], {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env, ELECTRON_RUN_AS_NODE: '1', FORCE_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => {
        this.line(l);
        if (l.trim()) {
          this.tail.push(l.trim());
          if (this.tail.length > 20) this.tail.shift();
        }
      });
    }
    child.on('error', (e) => this.line(`cannot start planctl: ${e.message}`));
    child.on('close', (code, signal) => {
      this.ended = true;
      this.outcome = outcomeOf(code, signal, this.tail);
      const words = { done: 'finished', failed: 'finished with failures', refused: 'did not start', stopped: 'was stopped' }[this.outcome.kind];
      this.line('');
      this.line(`\x1b[1m■ The orchestrator ${words}${code !== null ? ` (exit ${code})` : ''}.\x1b[0m Press any key to close this terminal.`);
      this.finished.fire(this.outcome);
    });
  }

  private line(text: string): void {
    this.write.fire(`${text}\r\n`);
  }

  /** Ctrl-C asks the run to stop like in a shell; after the end, any key closes the terminal. */
  handleInput(data: string): void {
    if (this.ended) {
      this.closed.fire();
      return;
    }
    if (data === '\x03') this.child?.kill('SIGINT');
  }

  /** The user closed the terminal: the run winds down as on Ctrl-C (running tasks finish). */
  close(): void {
    if (!this.ended) this.child?.kill('SIGINT');
  }

  get running(): boolean {
    return !this.ended;
  }
}

/** The notification at the end of a run, with what the user would do next. */
export async function announceOutcome(title: string, outcome: RunOutcome, logsDir: string | undefined): Promise<void> {
  const text = outcome.summary ? `${title}: ${outcome.summary}` : title;
  switch (outcome.kind) {
    case 'done': {
      const pick = await vscode.window.showInformationMessage(`${title}: every task is done.`, 'Open Dashboard');
      if (pick === 'Open Dashboard') await vscode.commands.executeCommand('planOrchestrator.showDashboard');
      return;
    }
    case 'stopped':
      void vscode.window.showInformationMessage(`${title}: the orchestrator stopped; unfinished tasks are pending again.`);
      return;
    case 'refused':
      void vscode.window.showErrorMessage(`${text}`);
      return;
    case 'failed': {
      const pick = await vscode.window.showWarningMessage(text, 'Show Failed', 'Open Log');
      if (pick === 'Show Failed') await vscode.commands.executeCommand('planOrchestrator.orchestrators.focus');
      else if (pick === 'Open Log' && logsDir) {
        const failed = /failed \(([^)]+)\)/.exec(outcome.summary)?.[1]?.split(',')[0]?.trim() ?? /need approval \(([^)]+)\)/.exec(outcome.summary)?.[1]?.split(',')[0]?.trim();
        const file = failed ? path.join(logsDir, `${failed}.log`) : undefined;
        if (file) await vscode.window.showTextDocument(vscode.Uri.file(file));
      }
      return;
    }
  }
}
