/**
 * `planctl worktree conflicts`: which active plan branches will conflict when merged, with each
 * other and with main, and the merge order that keeps manual resolution to a minimum.
 */
import type { Command } from 'commander';
import { GitService } from '../git/gitService.js';
import { predictConflicts } from '../git/conflicts.js';
import { formatConflictReport } from './conflictReport.js';
import { worktreeCommand } from './worktreeCommands.js';

/** The part of planctl's Io this command uses. */
export interface ConflictCommandIo {
  out: (s: string) => void;
  cwd: string;
}

interface ConflictOptions {
  json?: boolean;
  branch?: string[];
  main?: string;
}

export function registerConflictCommands(program: Command, io: ConflictCommandIo): Command {
  return worktreeCommand(program)
    .command('conflicts')
    .description('predict merge conflicts between plan branches and with main; recommend a merge order')
    .option('--branch <branch...>', 'compare these branches (repeatable) instead of every plan/* branch')
    .option('--main <branch>', 'the branch they merge into (default: the main worktree\'s branch)')
    .option('--json', 'machine-readable output')
    .action(async (opts: ConflictOptions) => {
      const git = await GitService.open(io.cwd);
      const report = await predictConflicts(git, {
        ...(opts.branch?.length ? { branches: opts.branch } : {}),
        ...(opts.main !== undefined ? { main: opts.main } : {}),
      });
      io.out(opts.json ? JSON.stringify(report, null, 2) : formatConflictReport(report));
    });
}
