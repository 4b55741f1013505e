/**
 * `planctl top`: every plan of the repository, live. On a terminal (stdin and stdout both TTYs) a
 * full-screen dashboard drawn with Ink on the alternate screen, so that the user's scrollback is as
 * it was when it ends; anywhere else plain lines: the plans now, then one line per event.
 *
 * planctl loads this file as a sibling bundle (dist/planctl-top.mjs, see scripts/bundle-options.mjs):
 * Ink and React are only paid for by the runs that draw.
 */
import path from 'node:path';
import { render } from 'ink';
import { PlanWatcher } from '../run/events/planWatcher.js';
import type { LaunchOptions } from '../run/orchestratorLaunch.js';
import { PlanActions } from './actions.js';
import { App, type WatchedRun } from './App.js';
import { printPlain } from './plain.js';
import { DashboardSource } from './source.js';

export type { WatchedRun };

export interface TopOptions {
  cwd: string;
  out: (line: string) => void;
  /** How plans started from the dashboard run (planctl's entry, the agent flags). */
  launch: LaunchOptions;
  /** Draw the dashboard; otherwise print lines. */
  interactive: boolean;
  /** Plain lines only: print the plans once and end instead of following events. */
  once?: boolean;
  /** `orchestrate --all`, when the dashboard shows its run. */
  run?: WatchedRun;
  stdin?: NodeJS.ReadStream;
  stdout?: NodeJS.WriteStream;
}

const ALT_SCREEN_ON = '\x1b[?1049h\x1b[H';
/** The alternate screen is cleared before it is left: tmux shows what was on it in the main screen after a resize otherwise. */
const ALT_SCREEN_OFF = '\x1b[2J\x1b[H\x1b[?1049l';

export async function runTop(opts: TopOptions): Promise<void> {
  const watcher = new PlanWatcher({ cwd: opts.cwd });
  await watcher.start();
  const source = new DashboardSource(watcher);
  try {
    if (!opts.interactive) return await printPlain(source, opts.out, opts.once === true);
    await showDashboard(source, new PlanActions(watcher, opts.launch, opts.cwd), opts);
  } finally {
    source.close();
    watcher.close();
  }
}

async function showDashboard(source: DashboardSource, actions: PlanActions, opts: TopOptions): Promise<void> {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  const repo = path.basename(source.snapshot.worktrees[0]?.path ?? opts.cwd);
  stdout.write(ALT_SCREEN_ON);
  const app = render(<App source={source} actions={actions} repo={repo} stdout={stdout} run={opts.run} />, {
    stdout,
    stdin,
    // Ctrl-C is a key of the dashboard: under orchestrate --all it stops the plans rather than the view.
    exitOnCtrlC: false,
    patchConsole: false,
    maxFps: 30,
  });
  // A hang-up (ssh gone) or a kill ends the view and gives the terminal back as it was. A SIGINT
  // under orchestrate --all is orchestrate's own: it stops the plans, and the view shows them stop.
  const signals: NodeJS.Signals[] = opts.run ? ['SIGTERM', 'SIGHUP'] : ['SIGTERM', 'SIGHUP', 'SIGINT'];
  const onSignal = (): void => app.unmount();
  for (const s of signals) process.on(s, onSignal);
  try {
    await app.waitUntilExit();
  } finally {
    for (const s of signals) process.off(s, onSignal);
    app.cleanup();
    stdout.write(ALT_SCREEN_OFF);
    // Ink leaves stdin referenced: the process would not end on its own.
    stdin.pause();
  }
}
