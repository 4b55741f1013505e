/**
 * The worker-thread side of offThread.ts: analyses plans away from the main thread, so that a CLI
 * stays responsive to signals and the extension host and the API server to everything else. One
 * PlanAnalyzer per document key keeps the chunk cache, so re-analysis after an edit stays incremental.
 * Bundled on its own as dist/analysisWorker.mjs (scripts/bundle-options.mjs).
 */
import { parentPort } from 'node:worker_threads';
import { PlanAnalyzer } from './analyzer.js';
import { analysisReply, type WorkerReply, type WorkerRequest } from './offThread.js';

const analyzers = new Map<string, PlanAnalyzer>();

parentPort?.on('message', (m: WorkerRequest) => {
  if (m.kind === 'forget') {
    analyzers.delete(m.key);
    return;
  }
  let reply: WorkerReply;
  try {
    let analyzer = m.key !== undefined ? analyzers.get(m.key) : undefined;
    if (!analyzer) {
      analyzer = new PlanAnalyzer({ limits: m.limits });
      if (m.key !== undefined) analyzers.set(m.key, analyzer);
    }
    reply = analysisReply(m.id, analyzer.analyze(m.text), analyzer.lastParsedChunks);
  } catch (e) {
    reply = { id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  parentPort!.postMessage(reply);
});
