import type { SourcePoint, SourceRange } from './model.js';

/** Failures that the CLI and the extension turn into one clear line for the user. */
export type PlanErrorCode =
  | 'plan-not-found'
  | 'plan-not-a-file'
  | 'plan-binary'
  | 'plan-not-utf8'
  | 'plan-unreadable'
  | 'no-active-plan'
  | 'status-corrupt'
  | 'status-unreadable'
  | 'status-locked'
  | 'task-claimed'
  | 'unknown-task'
  | 'invalid-argument'
  | 'plan-has-errors'
  /** The plan's gate commands have not been approved to run. */
  | 'commands-not-approved'
  /** The checkout has uncommitted changes the run would mix with its own. */
  | 'checkout-dirty'
  /** The run would commit to the main checkout's branch and was not told it may. */
  | 'in-place-required'
  /** A start found another live orchestrator for the plan. */
  | 'orchestrator-running'
  /** `planctl orchestrate --daemon` refused or ended with an error. */
  | 'start-failed'
  /** A stop found no live orchestrator for the plan. */
  | 'not-running'
  /** The plan's orchestrator runs on another host: only there can it be signalled. */
  | 'other-host'
  /** The Redis of `--queue` cannot be reached, or refused us (a password missing or wrong). */
  | 'queue-unavailable';

export class PlanError extends Error {
  constructor(
    readonly code: PlanErrorCode,
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = 'PlanError';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns file bytes into plan text, refusing what is not a text plan.
 * A NUL byte in the first 8 KiB is how git and most editors recognise binary content.
 */
export function decodePlanBytes(bytes: Uint8Array, path: string): string {
  const probe = bytes.subarray(0, 8192);
  if (probe.includes(0)) {
    throw new PlanError('plan-binary', `${path} is a binary file, not a markdown plan`, path);
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new PlanError('plan-not-utf8', `${path} is not valid UTF-8 text; save it as UTF-8`, path);
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** Maps character offsets to 1-based line/column with a binary search over line starts. */
export class LineIndex {
  readonly lineStarts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    let i = text.indexOf('\n');
    while (i !== -1) {
      starts.push(i + 1);
      i = text.indexOf('\n', i + 1);
    }
    this.lineStarts = starts;
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }

  point(offset: number): SourcePoint {
    const starts = this.lineStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1, offset };
  }

  range(start: number, end: number): SourceRange {
    return { start: this.point(start), end: this.point(end) };
  }

  /** Offset of the start of a 1-based line. */
  lineStart(line: number): number {
    return this.lineStarts[Math.max(0, Math.min(line - 1, this.lineStarts.length - 1))]!;
  }
}
