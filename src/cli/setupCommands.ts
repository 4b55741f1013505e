/**
 * `planctl init` and `planctl migrate`: setting a repository up for planctl and Claude Code, and moving
 * it from the seeds' scripts (src/setup/).
 */
import type { Command } from 'commander';
import { findRepoRoot } from '../core/status.js';
import { formatInitReport, initRepository } from '../setup/init.js';
import { formatMigrationReport, migrateRepository } from '../setup/migrate.js';

export interface SetupCommandIo {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  env: NodeJS.ProcessEnv;
  exitWith: (code: number) => never;
}

export function registerSetupCommands(program: Command, io: SetupCommandIo): void {
  program
    .command('init')
    .description('set this repository up: /plan:* slash commands for Claude Code, a starter git-workflow.json, ignore entries; never overwrites your changes (writes <file>.new beside them)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const report = await initRepository(findRepoRoot(io.cwd), io.env);
      if (opts.json) return io.out(JSON.stringify(report, null, 2));
      for (const line of formatInitReport(report)) io.out(line);
    });

  program
    .command('migrate')
    .description("move from the seeds' scripts: back up and convert their status files (keeping their fields), make both plan pointers agree, turn on the 80% phase overlap")
    .option('--check', 'only report what would change; exit 1 when something would')
    .option('--json', 'machine-readable output')
    .action(async (opts: { check?: boolean; json?: boolean }) => {
      const report = await migrateRepository(findRepoRoot(io.cwd), { check: opts.check === true });
      if (opts.json) io.out(JSON.stringify(report, null, 2));
      else for (const line of formatMigrationReport(report)) io.out(line);
      if (opts.check && report.changes.length > 0) io.exitWith(1);
    });
}
