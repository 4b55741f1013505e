/**
 * Gate commands: what a VERIFY item explicitly asks to run to check its phase, written as a code span
 * that starts with `$ ` (`` - [ ] `$ npm test` passes ``). Nothing else in a plan ever runs. A command
 * is split into argv like a POSIX shell splits words, without any expansion, and run with no shell
 * (`$ sh -c "…"` is a shell because the plan says so, and is listed like any other command).
 *
 * Before a plan's commands run the first time, the user approves them: the approved command texts are
 * kept in the plan's agent.json (`approvedCommands`), so a command the plan adds or changes later is
 * asked about again.
 */
import type { Plan } from '../core/model.js';
import { PlanError } from '../core/source.js';

export interface GateCommand {
  /** The VERIFY item (`V2.1`, or its own ID). */
  taskId: string;
  command: string;
  /** How it will be started: argv, no shell. Undefined when it cannot be split (an unclosed quote). */
  argv?: string[];
  line: number;
}

export function gateCommands(plan: Plan): GateCommand[] {
  return plan.tasks.flatMap((t) => {
    if (t.kind !== 'verify' || !t.command) return [];
    let argv: string[] | undefined;
    try {
      argv = splitCommand(t.command);
    } catch {
      argv = undefined;
    }
    return [{ taskId: t.id, command: t.command, ...(argv ? { argv } : {}), line: t.range.start.line }];
  });
}

/** The commands of `gates` not yet approved, each once. */
export function unapprovedCommands(gates: readonly GateCommand[], approved: readonly string[]): string[] {
  const ok = new Set(approved);
  return [...new Set(gates.map((g) => g.command))].filter((c) => !ok.has(c));
}

/** A start refused because nobody approved these gate commands: `commands` is what to show the user before they approve. */
export class CommandsNotApproved extends PlanError {
  constructor(
    relPath: string,
    readonly commands: readonly string[],
  ) {
    super(
      'commands-not-approved',
      `${relPath} runs ${commands.length === 1 ? 'a command' : `${commands.length} commands`} as VERIFY gates that ${commands.length === 1 ? 'has' : 'have'} not been approved: ${commands.map((c) => `"${c}"`).join(', ')}; check ${commands.length === 1 ? 'it' : 'them'} and run again with --approve-commands`,
    );
  }
}

export function commandsNotApproved(relPath: string, commands: readonly string[]): CommandsNotApproved {
  return new CommandsNotApproved(relPath, commands);
}

/** Splits a VERIFY command like a POSIX shell would split words, without any expansion. */
export function splitCommand(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) cur += command[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      cur += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new PlanError('invalid-argument', `unterminated ${quote} quote in command: ${command}`);
  if (inWord) out.push(cur);
  return out;
}
