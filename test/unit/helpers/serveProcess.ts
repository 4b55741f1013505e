/**
 * `planctl serve` in a child process, as a user starts it: what it prints, the port once it says it
 * listens, and how it ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './simAgent.js';

export interface ServeProcess {
  child: ChildProcess;
  out(): string;
  err(): string;
  /** The port it printed (`… (port N)`); fails with its output when none comes within 20 s. */
  port(): Promise<number>;
  /** Its exit code. */
  exited: Promise<number | null>;
}

export function spawnServe(entry: string, args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): ServeProcess {
  const child = spawn(process.execPath, [entry, 'serve', ...args], { cwd: options.cwd, env: options.env ?? { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const port = async (): Promise<number> => {
    await waitFor('the port', async () => /port (\d+)/.test(out), 20_000).catch((e) => {
      throw new Error(`${(e as Error).message}: ${out} ${err}`);
    });
    return Number(/port (\d+)/.exec(out)![1]);
  };
  return { child, out: () => out, err: () => err, port, exited };
}
