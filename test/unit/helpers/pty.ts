/**
 * The built planctl (dist/planctl.mjs) on a real pseudo-terminal (@lydell/node-pty), its output
 * applied to a Screen, so that tests press keys and wait for what the screen shows.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn as spawnPty, type IPty } from '@lydell/node-pty';
import { Screen } from './screen.js';

function findBuiltPlanctl(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'dist', 'planctl.mjs');
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error('dist/planctl.mjs not found: run npm run build first');
  }
}

export const BUILT_PLANCTL = findBuiltPlanctl();

/** The environment of a program on the pty: a colour terminal, and not "in CI" (which makes some TUIs draw nothing). */
export function terminalEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...extra };
  for (const key of ['CI', 'CONTINUOUS_INTEGRATION', 'GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[key];
  return env;
}

export class PtyProgram {
  readonly screen: Screen;
  /** Everything the program wrote, escape sequences and all. */
  raw = '';
  readonly exited: Promise<{ exitCode: number; signal?: number }>;
  private readonly pty: IPty;
  private readonly waiters = new Set<() => void>();

  constructor(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; cols: number; rows: number }) {
    this.screen = new Screen(opts.cols, opts.rows);
    this.pty = spawnPty(process.execPath, [BUILT_PLANCTL, ...args], { name: 'xterm-256color', cols: opts.cols, rows: opts.rows, cwd: opts.cwd, env: opts.env as Record<string, string> });
    this.pty.onData((d) => {
      this.raw += d;
      this.screen.write(d);
      for (const w of [...this.waiters]) w();
    });
    this.exited = new Promise((resolve) => this.pty.onExit((e) => resolve(e)));
  }

  get pid(): number {
    return this.pty.pid;
  }

  press(keys: string): void {
    this.pty.write(keys);
  }

  resize(cols: number, rows: number): void {
    this.screen.resize(cols, rows);
    this.pty.resize(cols, rows);
  }

  /**
   * Resolves with the screen's text once `test` holds for it; checked after every write of the program
   * (the dashboard redraws at least once a second, so a condition on the world is re-checked too).
   */
  waitFor(what: string, test: (text: string, lines: string[]) => boolean, timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (!test(this.screen.text(), this.screen.lines())) return false;
        finish();
        resolve(this.screen.text());
        return true;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out waiting for ${what}; the screen shows:\n${this.screen.text()}`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(onData);
      };
      const onData = (): void => void check();
      this.waiters.add(onData);
      check();
    });
  }

  kill(): void {
    try {
      this.pty.kill();
    } catch {
      // already gone
    }
  }
}
