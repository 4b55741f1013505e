/**
 * How much disk a worktree takes, and that number as a person reads it: `planctl worktree list`
 * and the Worktrees view show it and warn above `worktrees.disk_warn_mb`.
 */
import { lstatSync, readdirSync, type Dirent } from 'node:fs';
import path from 'node:path';

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v >= 10 ? 0 : 1)} ${units[i]}`;
}

/**
 * Sum of file sizes under `root`, skipping its `.git` (a file in a linked worktree) and counting hard
 * links once. Synchronous fs calls in slices, yielding between them: one promise per lstat through
 * libuv's small thread pool made this walk several times slower, and the slices keep an extension
 * host responsive even on a worktree with a large node_modules.
 */
export async function diskUsage(root: string): Promise<number> {
  let total = 0;
  const seen = new Set<string>();
  const dirs = [root];
  let sinceYield = 0;
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (dir === root && e.name === '.git') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        dirs.push(p);
        continue;
      }
      try {
        const st = lstatSync(p);
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += st.size;
      } catch {
        // deleted while we walked
      }
    }
    sinceYield += entries.length + 1;
    if (sinceYield >= 2000) {
      sinceYield = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return total;
}
