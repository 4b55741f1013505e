/**
 * Gate commands: what a VERIFY item asks to run to check its phase. Split into argv like a POSIX
 * shell splits words, without any expansion, and run with no shell.
 */
import { PlanError } from '../core/source.js';

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
