/**
 * The human-readable form of a ConflictReport (`planctl worktree conflicts`). Kept apart from the
 * command wiring so the extension or other commands can print the same text.
 */
import type { ConflictPairReport, ConflictReport } from '../git/conflicts.js';
import { table } from './format.js';

/** Clean overlaps are only context; a long list would bury the conflicts. */
const MAX_OVERLAP_FILES_SHOWN = 5;

export function formatConflictReport(report: ConflictReport): string {
  const { main, branches, pairs } = report;
  const out: string[] = [];
  const merges = pairs.length;
  out.push(
    `${branches.length} plan branch${branches.length === 1 ? '' : 'es'} against ${main} (${report.mainSha.slice(0, 8)}): ` +
      `${merges} merge${merges === 1 ? '' : 's'} simulated in ${report.elapsedMs} ms`,
  );
  for (const s of report.skipped) out.push(`skipped ${s.branch}: ${s.reason}`);
  if (branches.length === 0) {
    out.push('No plan branches to compare (branches named plan/* with commits main does not have, or --branch).');
    return out.join('\n');
  }

  const index = new Map(branches.map((b, i) => [b.branch, i]));
  const cell = new Map<string, ConflictPairReport>();
  for (const p of pairs) {
    cell.set(`${p.a}\0${p.b}`, p);
    cell.set(`${p.b}\0${p.a}`, p);
  }
  const mark = (p: ConflictPairReport | undefined): string => {
    if (!p) return '?';
    if (p.clean) return '✓';
    return `✗ ${p.conflicts.length} file${p.conflicts.length === 1 ? '' : 's'}`;
  };
  const header = ['', 'BRANCH', 'AHEAD', 'CHANGED', ...branches.map((_, i) => String(i + 1)), main];
  const rows = branches.map((b, i) => [
    String(i + 1),
    b.branch,
    String(b.ahead),
    String(b.changedFiles.length),
    ...branches.map((other, j) => (i === j ? '—' : mark(cell.get(`${b.branch}\0${other.branch}`)))),
    mark(cell.get(`${b.branch}\0${main}`)),
  ]);
  out.push('', table([header, ...rows]));

  const conflicting = pairs.filter((p) => !p.clean);
  const byMatrixOrder = (x: ConflictPairReport, y: ConflictPairReport): number =>
    (index.get(x.a) ?? 0) - (index.get(y.a) ?? 0) || (index.get(x.b) ?? Infinity) - (index.get(y.b) ?? Infinity);
  out.push('');
  if (conflicting.length === 0) {
    out.push('No conflicts: every branch merges cleanly with every other and with main.');
  } else {
    out.push('Conflicts (need manual resolution):');
    for (const p of [...conflicting].sort(byMatrixOrder)) {
      const files = p.conflicts.map((f) => (p.conflictTypes[f]?.length ? `${f} (${p.conflictTypes[f]!.join(', ')})` : f));
      out.push(`  ${p.a} × ${p.b}: ${files.join(', ')}`);
    }
  }
  const overlapping = pairs.filter((p) => p.clean && p.overlapping.length > 0);
  if (overlapping.length > 0) {
    out.push('Changed on both sides but merge cleanly:');
    for (const p of [...overlapping].sort(byMatrixOrder)) {
      const shown = p.overlapping.slice(0, MAX_OVERLAP_FILES_SHOWN);
      const more = p.overlapping.length - shown.length;
      out.push(`  ${p.a} × ${p.b}: ${shown.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
    }
  }

  out.push('', 'Recommended merge order:');
  const width = Math.max(...report.order.map((s) => [...s.branch].length));
  report.order.forEach((s, i) => {
    out.push(`  ${String(i + 1).padStart(String(report.order.length).length)}. ${s.branch.padEnd(width)}  ${s.reason}`);
  });
  const external = branches.filter((b) => b.externalDependencies.length > 0);
  for (const b of external) {
    out.push(`  note: ${b.branch}'s plan also depends on ${b.externalDependencies.join(', ')} (no branch here; assumed merged)`);
  }
  return out.join('\n');
}

