/**
 * Which git-ignored files removing a worktree would destroy. `git worktree remove --force` deletes the
 * whole directory, ignored files included: a local database (`data/app.db`), a `.env` edited in the
 * worktree, notes an agent wrote to an ignored folder. Those exist nowhere else, so removal is refused
 * while any is left, except for what is safe to lose:
 * - what matches the disposable patterns (gitignore syntax: `node_modules`, `dist`, `*.log`, …):
 *   build output and caches that a build or install makes again;
 * - files `create` copied in from the main checkout (`.worktreeinclude`, `copy_files`), as long as
 *   they are unchanged since (the size and modification time recorded then; the copy keeps the
 *   original's time);
 * - files byte-identical to the main checkout's file at the same path (nothing is lost; this also
 *   covers worktrees made before copies were recorded);
 * - symbolic links (removing one leaves what it points to), and the caller's own files (`ours`).
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import ignore from 'ignore';
import type { GitService } from './gitService.js';

/** A file `create` copied into the worktree, as it was right after the copy. */
export interface CopiedFile {
  /** Relative to the worktree root, with `/`. */
  path: string;
  size: number;
  mtimeMs: number;
}

export interface IgnoredScan {
  git: GitService;
  wtPath: string;
  /** The main checkout, whose identical files make a worktree's copy safe to lose. */
  mainRoot: string;
  disposable: readonly string[];
  copied: readonly CopiedFile[];
  /** Paths (relative, `/`) that belong to the tool itself; a directory ends with `/`. */
  ours: (rel: string) => boolean;
}

/** How a copied file looks now, to record at create. */
export async function recordCopies(wtPath: string, rels: readonly string[]): Promise<CopiedFile[]> {
  const out: CopiedFile[] = [];
  for (const rel of rels) {
    const st = await fs.lstat(path.join(wtPath, rel)).catch(() => undefined);
    if (st?.isFile()) out.push({ path: rel, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out;
}

/** The ignored files under the worktree that would be lost, relative with `/`, sorted. */
export async function ignoredFilesAtRisk(scan: IgnoredScan): Promise<string[]> {
  const disposable = ignore().add([...scan.disposable]);
  const copied = new Map(scan.copied.map((c) => [c.path, c]));
  // --directory: an ignored folder is one entry (`node_modules/`), not its hundred thousand files.
  const listed = (await scan.git.read(['-C', scan.wtPath, 'ls-files', '-z', '--others', '--ignored', '--exclude-standard', '--directory', '--no-empty-directory']))
    .split('\0')
    .filter((f) => f.length > 0);
  const atRisk: string[] = [];
  const check = async (rel: string): Promise<void> => {
    if (scan.ours(rel) || disposable.ignores(rel)) return;
    const abs = path.join(scan.wtPath, rel);
    const st = await fs.lstat(abs).catch(() => undefined);
    if (!st || st.isSymbolicLink()) return;
    if (st.isDirectory()) {
      // A trailing `/` as git writes it, so that folder-only patterns (`build/`) match.
      const dir = rel.endsWith('/') ? rel : `${rel}/`;
      for (const d of await fs.readdir(abs, { withFileTypes: true })) await check(`${dir}${d.name}${d.isDirectory() ? '/' : ''}`);
      return;
    }
    const copy = copied.get(rel);
    if (copy && copy.size === st.size && copy.mtimeMs === st.mtimeMs) return;
    if (await sameAsMain(abs, path.join(scan.mainRoot, rel), st.size)) return;
    atRisk.push(rel);
  };
  for (const rel of listed) await check(rel);
  return atRisk.sort();
}

async function sameAsMain(file: string, mainFile: string, size: number): Promise<boolean> {
  const main = await fs.lstat(mainFile).catch(() => undefined);
  if (!main?.isFile() || main.size !== size) return false;
  const [a, b] = await Promise.all([digest(file), digest(mainFile)]);
  return a !== undefined && a === b;
}

function digest(file: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', () => resolve(undefined));
  });
}
