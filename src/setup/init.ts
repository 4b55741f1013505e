/**
 * `planctl init`: sets a repository up for planctl and Claude Code. Writes the `/plan:*` slash commands
 * (slashCommands.ts), a starter `git-workflow.json` when there is none, and ignore entries for the
 * orchestrator's own files.
 *
 * Idempotent, and it never overwrites a file the user changed: `.claude/plan-orchestrator.json` records
 * the hash of what init wrote, so a file still as init left it is updated in place, while a file that
 * differs from it (edited by the user, or the seeds' own command of that name) is kept and the new
 * version goes beside it as `<file>.new`, which the report names.
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { WORKFLOW_CONFIG_FILE } from '../core/workflowConfig.js';
import { renderSlashCommand, SLASH_COMMANDS } from './slashCommands.js';

export const COMMANDS_DIR = '.claude/commands/plan';
export const MANIFEST_FILE = '.claude/plan-orchestrator.json';

export type FileAction = 'created' | 'updated' | 'unchanged' | 'kept' | 'appended';

export interface FileReport {
  /** Relative to the repository root, with `/`. */
  file: string;
  action: FileAction;
  /** With `kept`: where the new version was written instead. */
  newFile?: string;
  note?: string;
}

export interface InitReport {
  root: string;
  files: FileReport[];
  /** Things the user should know (planctl not on PATH …). */
  warnings: string[];
}

/** The orchestrator's files that belong to one machine or one run, never to the repository's history. */
export const IGNORE_ENTRIES = [
  '.claude-context/',
  '.claude/current-plan.txt',
  '/worktrees/',
  'docs/plan-outputs/*/logs/',
  'docs/plan-outputs/*/status.json.lock',
];
const IGNORE_HEADER = '# Plan Orchestrator (planctl init): per-checkout pointers, plan worktrees, run logs and locks';

/** What `git-workflow.json` starts as: the seeds' worktree defaults, the API off, the strict phase barrier. */
export function starterWorkflowConfig(): string {
  const config = {
    worktrees: { enabled: true, directory: 'worktrees', max_concurrent: 3, auto_cleanup: true, stale_days: 14, merge_strategy: 'merge', copy_files: [] },
    agent: { kind: 'claude', allowedTools: [], maxTurns: 40, timeoutMinutes: 30 },
    plans: { phase_overlap: 1 },
    api: { enabled: false, port: 3100, auth_required: true },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

interface Manifest {
  generatedBy: string;
  /** sha256 of each file as init last wrote it. */
  files: Record<string, string>;
}

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

async function readManifest(root: string): Promise<Manifest> {
  const text = await readText(path.join(root, MANIFEST_FILE));
  try {
    const json = text ? (JSON.parse(text) as Partial<Manifest>) : {};
    return { generatedBy: 'planctl init', files: json.files && typeof json.files === 'object' ? { ...json.files } : {} };
  } catch {
    // A broken manifest only costs us knowing which files are ours: everything counts as the user's.
    return { generatedBy: 'planctl init', files: {} };
  }
}

async function write(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, text);
}

/** Writes one generated file under the no-overwrite rule; records what it wrote in the manifest. */
async function writeManaged(root: string, rel: string, text: string, manifest: Manifest): Promise<FileReport> {
  const file = path.join(root, rel);
  const current = await readText(file);
  if (current === undefined) {
    await write(file, text);
    manifest.files[rel] = sha(text);
    return { file: rel, action: 'created' };
  }
  if (current === text) {
    manifest.files[rel] = sha(text);
    return { file: rel, action: 'unchanged' };
  }
  if (manifest.files[rel] === sha(current)) {
    // Still exactly what init wrote last time: a newer planctl may replace it.
    await write(file, text);
    manifest.files[rel] = sha(text);
    return { file: rel, action: 'updated' };
  }
  const newRel = `${rel}.new`;
  if ((await readText(path.join(root, newRel))) !== text) await write(path.join(root, newRel), text);
  return { file: rel, action: 'kept', newFile: newRel, note: 'differs from what planctl init writes (your changes, or an older command of that name)' };
}

/** Adds the missing ignore entries to `.gitignore`, under one header; existing lines are not touched. */
async function addIgnoreEntries(root: string): Promise<FileReport> {
  const rel = '.gitignore';
  const file = path.join(root, rel);
  const current = (await readText(file)) ?? '';
  const have = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = IGNORE_ENTRIES.filter((e) => !have.has(e));
  if (missing.length === 0) return { file: rel, action: 'unchanged' };
  const eol = current.includes('\r\n') ? '\r\n' : '\n';
  const lead = current === '' ? '' : current.endsWith('\n') ? eol : `${eol}${eol}`;
  const header = have.has(IGNORE_HEADER) ? [] : [IGNORE_HEADER];
  await write(file, `${current}${lead}${[...header, ...missing].join(eol)}${eol}`);
  return { file: rel, action: current === '' ? 'created' : 'appended', note: missing.join(', ') };
}

/** Whether `planctl` can be found on PATH (the slash commands call it by that name). */
function planctlOnPath(env: NodeJS.ProcessEnv): boolean {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  return (env.PATH ?? '').split(path.delimiter).some((dir) => dir && exts.some((e) => existsSync(path.join(dir, `planctl${e.toLowerCase()}`)) || existsSync(path.join(dir, `planctl${e}`))));
}

export async function initRepository(root: string, env: NodeJS.ProcessEnv = process.env): Promise<InitReport> {
  const manifest = await readManifest(root);
  const files: FileReport[] = [];
  for (const c of SLASH_COMMANDS) files.push(await writeManaged(root, `${COMMANDS_DIR}/${c.name}.md`, renderSlashCommand(c), manifest));
  // The config is the user's from the moment it exists: never replaced, no `.new` beside it either.
  const configRel = WORKFLOW_CONFIG_FILE;
  if (existsSync(path.join(root, configRel))) files.push({ file: configRel, action: 'unchanged', note: 'yours; left as it is' });
  else {
    const text = starterWorkflowConfig();
    await write(path.join(root, configRel), text);
    files.push({ file: configRel, action: 'created' });
  }
  files.push(await addIgnoreEntries(root));
  const manifestText = `${JSON.stringify({ generatedBy: manifest.generatedBy, files: Object.fromEntries(Object.entries(manifest.files).sort()) }, null, 2)}\n`;
  if ((await readText(path.join(root, MANIFEST_FILE))) !== manifestText) await write(path.join(root, MANIFEST_FILE), manifestText);
  const warnings: string[] = [];
  if (!planctlOnPath(env)) warnings.push('planctl is not on PATH: the /plan:* commands call it by that name; install it with "npm install -g <this package>" (or link dist/planctl.mjs as planctl)');
  return { root, files, warnings };
}

/** The report as lines for a terminal or an output channel. */
export function formatInitReport(report: InitReport): string[] {
  const lines = report.files.map((f) => {
    switch (f.action) {
      case 'kept':
        return `kept     ${f.file}: ${f.note}; the new version is in ${f.newFile}`;
      case 'appended':
        return `appended ${f.file}: ${f.note}`;
      default:
        return `${f.action.padEnd(8)} ${f.file}${f.note ? ` (${f.note})` : ''}`;
    }
  });
  const kept = report.files.filter((f) => f.action === 'kept').length;
  if (kept > 0) lines.push(`${kept} file(s) kept as they are; compare each with its .new file and merge what you want`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return lines;
}
