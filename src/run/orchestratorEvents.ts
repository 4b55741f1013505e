/**
 * What an orchestrator tells its caller while a plan runs (`planctl orchestrate` prints it). In a file
 * of its own so that the parts of a run that emit events need not import the orchestrator.
 */
import type { ToolDenial } from './agents/index.js';

export type OrchestratorEvent =
  | { type: 'plan'; total: number; done: number }
  | { type: 'started'; id: string; title: string; attempt: number; resume?: boolean }
  | { type: 'activity'; id: string; text: string; turn: number; costUsd?: number }
  | { type: 'completed'; id: string; ms: number; commit?: string; costUsd?: number }
  | { type: 'failed'; id: string; error: string; retrying: boolean }
  | { type: 'needs-approval'; id: string; denials: ToolDenial[] }
  | { type: 'unchecked'; id: string }
  /** A file gate passed: the VERIFY item's files exist and are not empty. */
  | { type: 'file-checked'; id: string; note: string }
  | { type: 'reset'; id: string; reason: string }
  | { type: 'stopping'; signal: NodeJS.Signals }
  | { type: 'budget'; spentUsd: number; maxUsd: number }
  | { type: 'warning'; message: string };
