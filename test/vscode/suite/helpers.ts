/** Shared by the suites that run inside VS Code: the extension's API, the workspace root, polling. */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { PlanOrchestratorApi } from '../../../src/vscode/extension.js';

/** Activates the extension and waits for its first scan of the workspace. */
export async function api(): Promise<PlanOrchestratorApi> {
  const ext = vscode.extensions.getExtension<PlanOrchestratorApi>('plan-orchestrator.plan-orchestrator');
  assert.ok(ext, 'extension installed');
  const exported = await ext.activate();
  assert.ok(exported, 'activation returned the API');
  await exported.ready;
  return exported;
}

export function root(): string {
  return vscode.workspace.workspaceFolders![0]!.uri.fsPath;
}

/** Polls `probe` until it gives a truthy value; the message may be computed at failure time. */
export async function until<T>(
  what: string | (() => string),
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
