/**
 * `planctl top` where there is no terminal to draw on (a pipe, a log file, a CI job): the plans as
 * they are, one line each with their running and failed tasks under them, then one line per event
 * until SIGINT or SIGTERM (or, with --once, nothing more).
 */
import path from 'node:path';
import type { SnapshotMessage } from '../run/events/messages.js';
import { aggregate, feedLineOf, money, orchestratorLabel, planCost, printable, runningLine } from './model.js';
import type { DashboardSource } from './source.js';

export function snapshotLines(s: SnapshotMessage, now: number): string[] {
  const total = aggregate(s.plans);
  const lines = [`${total.plans} plan${total.plans === 1 ? '' : 's'}, ${total.running} running: ${total.done}/${total.total} done (${total.percent}%)${total.costUsd ? `, ${money(total.costUsd)}` : ''}`];
  for (const p of s.plans) {
    const cost = planCost(p) ? `, ${money(planCost(p))}` : '';
    lines.push(
      `${printable(p.name)}  ${p.percent}%  ${p.done}/${p.total} done, ${p.running} running, ${p.failed} failed${cost}  orchestrator ${orchestratorLabel(p.orchestrator)}  (${p.branch ?? 'detached'} in ${path.basename(p.worktree)})`,
    );
    if (p.error) lines.push(`  ! ${printable(p.error)}`);
    for (const t of p.tasks) {
      if (t.state === 'running') lines.push(`  ▶ ${printable(t.id)} ${printable(t.title)}  ${runningLine(t, now)}`.trimEnd());
      else if (t.state === 'failed') lines.push(`  ✗ ${printable(t.id)} ${printable(t.title)}${t.lastError ? `: ${printable(t.lastError)}` : ''}`);
    }
  }
  return lines;
}

export async function printPlain(source: DashboardSource, out: (line: string) => void, once: boolean): Promise<void> {
  for (const l of snapshotLines(source.snapshot, Date.now())) out(l);
  if (once) return;
  const off = source.onEvent((e) => {
    const f = feedLineOf(e);
    if (f) out(`${e.at.slice(11, 19)} ${f.plan ?? '-'}  ${f.line.text}`);
  });
  try {
    await new Promise<void>((resolve) => {
      // The watcher's timers do not hold the process open (they are unref'd): this does, until a signal.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      const stop = (): void => {
        clearInterval(keepAlive);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  } finally {
    off();
  }
}
