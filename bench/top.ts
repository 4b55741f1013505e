/**
 * `planctl top`'s latency: from a StatusStore write (a task starting or going back to pending) to the
 * change on the terminal's screen, with the built planctl (dist/planctl.mjs) drawing on a real
 * pseudo-terminal and its output applied to a terminal emulator (test/unit/helpers/screen.ts).
 * Baseline, in the same run and for the same writes: a PlanWatcher in the benchmark process, from the
 * write to its `task` event, which is where the dashboard's data comes from.
 *
 * Bounded: 40 writes, 5 s at most each; the dashboard and the watcher are closed at the end.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PlanWatcher } from '../src/run/events/planWatcher.js';
import { PtyProgram, terminalEnv } from '../test/unit/helpers/pty.js';
import { makeBenchRepo } from './benchRepo.js';
import type { BenchRow } from './row.js';

const RUN = { writes: 40, gapMs: 100, planTasks: 50, cols: 120, rows: 40 } as const;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const ms = (x: number): string => (x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);

export async function benchTop(): Promise<BenchRow[]> {
  const { root, repo, store } = makeBenchRepo('planctl-bench-top-', RUN.planTasks);
  await store.setTaskStatus('1.2', 'completed');

  const top = new PtyProgram(['top'], { cwd: repo, env: terminalEnv(), cols: RUN.cols, rows: RUN.rows });
  const watcher = new PlanWatcher({ cwd: repo });
  try {
    // The first task is at the cursor of the selected (only) plan: its icon is what changes.
    const cursorLine = (icon: string) => new RegExp(`›${icon} 1\\.1 `);
    await top.waitFor('the plan on screen', (text) => cursorLine('○').test(text), 20_000);
    await watcher.start();
    let expecting = -1;
    let eventAt = 0;
    watcher.onEvent((m) => {
      if (m.type === 'task' && m.task === '1.1' && m.note === `bench ${expecting}`) eventAt = performance.now();
    });
    const toScreen: number[] = [];
    const toEvent: number[] = [];
    for (let i = 0; i < RUN.writes; i++) {
      expecting = i;
      eventAt = 0;
      const running = i % 2 === 0;
      const t0 = performance.now();
      await store.setTaskStatus('1.1', running ? 'in_progress' : 'pending', { note: `bench ${i}` });
      await top.waitFor(`write ${i} on screen`, (text) => cursorLine(running ? '▶' : '○').test(text), 5_000);
      toScreen.push(performance.now() - t0);
      const deadline = performance.now() + 5_000;
      while (eventAt === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      if (eventAt > 0) toEvent.push(eventAt - t0);
      await new Promise((r) => setTimeout(r, RUN.gapMs));
    }
    return [
      {
        name: `planctl top latency: StatusStore write → the task's new state on the terminal screen (${RUN.planTasks}-task plan, pty ${RUN.cols}×${RUN.rows}, ${RUN.writes} writes)`,
        value: `median ${ms(percentile(toScreen, 50))}, p95 ${ms(percentile(toScreen, 95))}`,
        baseline: `PlanWatcher in the writing process, write → task event: median ${ms(percentile(toEvent, 50))}`,
        ratio: `×${(percentile(toScreen, 50) / Math.max(percentile(toEvent, 50), 0.1)).toFixed(1)} of the watcher event`,
        goal: '≤ 100 ms',
      },
    ];
  } finally {
    watcher.close();
    top.press('q');
    await Promise.race([top.exited, new Promise((r) => setTimeout(r, 5_000))]);
    top.kill();
    rmSync(root, { recursive: true, force: true });
  }
}

// `node out/bench/top.js` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const r of await benchTop()) console.log(`| ${r.name} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.goal} |`);
}
