/**
 * `planctl orchestrate` as a process of its own, for tests that kill it: the same command
 * registration and error mapping as planctl, without depending on planctl.ts wiring it in.
 * Usage: orchestrate-cli orchestrate --plan <file> …
 */
import { Command, CommanderError } from 'commander';
import { registerOrchestrateCommands } from '../../../src/cli/orchestrateCommands.js';
import { PlanError } from '../../../src/core/source.js';

class Exit extends Error {
  constructor(readonly code: number) {
    super('exit');
  }
}

// `node --test out/test/unit/` also runs files under test/; without arguments this must do nothing.
const argv = process.argv.slice(2);
if (argv.length > 0) {
  const io = {
    out: (s: string) => process.stdout.write(`${s}\n`),
    err: (s: string) => process.stderr.write(`${s}\n`),
    cwd: process.cwd(),
    env: process.env,
    exitWith: (code: number): never => {
      throw new Exit(code);
    },
  };
  const program = new Command('planctl').exitOverride();
  registerOrchestrateCommands(program, io);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof Exit) process.exitCode = e.code;
    else if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
    else if (e instanceof PlanError || (e instanceof Error && e.name === 'GitError')) {
      io.err(`planctl: ${e.message}`);
      process.exitCode = 2;
    } else {
      io.err(`planctl: internal error: ${e instanceof Error ? e.stack : String(e)}`);
      process.exitCode = 2;
    }
  }
}
