/**
 * One agent process for one task attempt: started in its own process group with no shell, the prompt
 * on stdin, every line it prints appended to the task's log and handed to the adapter's reader. Two
 * clocks stop it: the whole run (timeoutMs) and silence (idleMs, no output at all). A stop goes to the
 * whole group (SIGTERM, then SIGKILL), so whatever the agent started ends with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { processStartTime } from './registry.js';
import type { AgentEvent, AgentExit, AgentLaunch, AgentOutputReader } from './agents/types.js';

const KILL_AFTER_MS = 2_000;

export type StopReason = 'timeout' | 'idle' | 'stopped';

export interface AgentProcessOptions {
  launch: AgentLaunch;
  cwd: string;
  env: NodeJS.ProcessEnv;
  logPath: string;
  /** First line of this attempt in the log. */
  logHeader: string;
  reader: AgentOutputReader;
  onEvent: (event: AgentEvent) => void;
  timeoutMs?: number;
  idleMs?: number;
}

export interface AgentProcessResult {
  exit: AgentExit;
  /** From spawn to exit. */
  processMs: number;
  events: AgentEvent[];
  stoppedFor?: StopReason;
  spawnError?: string;
}

/**
 * The agent's environment. VS Code runs planctl with ELECTRON_RUN_AS_NODE=1 (its binary acting as
 * node); passed on, it would turn any Electron program an agent starts into plain node.
 */
export function agentEnv(base: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...base, ...extra };
  delete env.ELECTRON_RUN_AS_NODE;
  return env;
}

export class AgentProcess {
  readonly child: ChildProcess;
  readonly startTime: string | undefined;
  readonly done: Promise<AgentProcessResult>;
  private stoppedFor: StopReason | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: AgentProcessOptions) {
    const log: WriteStream = createWriteStream(opts.logPath, { flags: 'a' });
    // A log that cannot be written (disk full) must not take the orchestrator down; the run goes on.
    log.on('error', () => undefined);
    log.write(`${opts.logHeader}\n`);
    const { argv } = opts.launch;
    // Own process group: a terminal's Ctrl-C reaches only the orchestrator (it decides about the grace
    // period), and a stop reaches whatever the agent started.
    this.child = spawn(argv[0]!, argv.slice(1), {
      shell: false,
      cwd: opts.cwd,
      stdio: [opts.launch.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
      env: opts.env,
    });
    const spawnedAt = performance.now();
    this.startTime = this.child.pid ? processStartTime(this.child.pid) : undefined;
    const events: AgentEvent[] = [];
    let lastLine: string | undefined;
    let spawnError: string | undefined;
    this.child.on('error', (err) => {
      spawnError = `cannot start ${argv[0]}: ${err.message}`;
    });
    if (opts.launch.stdin !== undefined && this.child.stdin) {
      // An agent that exits before reading its prompt closes the pipe: that is its exit's story, not ours.
      this.child.stdin.on('error', () => undefined);
      this.child.stdin.end(opts.launch.stdin);
    }
    const streamsClosed: Array<Promise<void>> = [];
    const read = (stream: NodeJS.ReadableStream, parse: boolean) => {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (text) => {
        log.write(`${text}\n`);
        this.touch();
        if (text.trim()) lastLine = text.trim();
        const found = parse ? opts.reader.line(text) : (opts.reader.stderrLine?.(text) ?? []);
        for (const e of found) {
          events.push(e);
          opts.onEvent(e);
        }
      });
      streamsClosed.push(new Promise((resolve) => rl.on('close', () => resolve())));
    };
    read(this.child.stdout!, true);
    read(this.child.stderr!, false);
    if (opts.timeoutMs) this.timers.push(setTimeout(() => this.stop('timeout'), opts.timeoutMs));
    this.touch();

    this.done = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.closed = true;
        const processMs = Math.round(performance.now() - spawnedAt);
        void Promise.all(streamsClosed).then(() => {
          for (const t of this.timers) clearTimeout(t);
          if (this.idleTimer) clearTimeout(this.idleTimer);
          log.end();
          resolve({
            exit: { code, signal, ...(lastLine ? { lastLine } : {}) },
            processMs,
            events,
            ...(this.stoppedFor ? { stoppedFor: this.stoppedFor } : {}),
            ...(spawnError ? { spawnError } : {}),
          });
        });
      });
    });
  }

  /** Output seen: the silence clock starts again. */
  private touch(): void {
    if (!this.opts.idleMs) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop('idle'), this.opts.idleMs);
  }

  /**
   * Until its output is closed: an agent that exited while something it started in the background
   * still holds its stdout is not done, and a timeout must still stop that whole group.
   */
  get running(): boolean {
    return !this.closed;
  }

  stop(why: StopReason): void {
    if (!this.running || this.stoppedFor) return;
    this.stoppedFor = why;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-this.child.pid!, sig);
      } catch {
        this.child.kill(sig);
      }
    };
    signalGroup('SIGTERM');
    this.timers.push(setTimeout(() => signalGroup('SIGKILL'), KILL_AFTER_MS));
  }
}
