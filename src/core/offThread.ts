/**
 * Plan analysis off the main thread. complexity.ts bounds what one analysis costs, but "bounded" is
 * still up to a second or two for a pathological or very large plan, and during that time a CLI
 * could not react to Ctrl-C, the extension host could not handle a keystroke, and the API server
 * could not answer. So long analyses run in a worker thread (analysisWorker.ts); the result is the
 * same as PlanAnalyzer's on the main thread, since it is the same code on the same text.
 *
 * Small texts (screen cost ≤ SYNC_COST, a few ms of remark at worst) are analysed in place, since
 * starting a worker costs more than that. When no worker can be started (its file is missing from
 * a bundle), analysis falls back to the main thread. A wall-clock deadline is the last-resort
 * backstop only: past it the worker is stopped and the plan is read by the line scanner alone.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AnalysisCancelled, PlanAnalyzer, type Analysis } from './analyzer.js';
import { DEFAULT_LIMITS, screenChunk, type ComplexityLimits } from './complexity.js';

export type WorkerRequest =
  | { kind: 'analyze'; id: number; key?: string; text: string; limits?: Partial<ComplexityLimits> }
  | { kind: 'forget'; key: string };

/**
 * The plan travels as JSON text: a big plan's model is hundreds of thousands of small objects, and
 * JSON.stringify/parse moves them about three times faster than the structured clone postMessage
 * would do (bench: 10 MB plan, 0.8 s against 2.3 s). The model is plain data, so nothing is lost;
 * the graph (typed arrays and maps) and the diagnostics go as they are.
 */
export type WorkerReply =
  | { id: number; planJson: string; graph: Analysis['graph']; diagnostics: Analysis['diagnostics']; parsedChunks: number }
  | { id: number; error: string };

/** The reply for an analysis (the worker's side of the JSON transfer above). */
export function analysisReply(id: number, analysis: Analysis, parsedChunks: number): WorkerReply {
  return { id, planJson: JSON.stringify(analysis.plan), graph: analysis.graph, diagnostics: analysis.diagnostics, parsedChunks };
}

/** Texts that cost less than this (complexity.ts units: ≈ 50 KB of prose, ≤ ~60 ms of remark) are analysed in place. */
export const SYNC_COST = 50_000;
/** The backstop: no analysis within the shape limits comes near it on any machine we know of. */
export const DEFAULT_DEADLINE_MS = 30_000;

export interface OffThreadOptions {
  limits?: Partial<ComplexityLimits>;
  /** Injected by tests to exercise the backstop; defaults to DEFAULT_DEADLINE_MS. */
  deadlineMs?: number;
  /** Injected by tests: analyse in the worker whatever the text's size. */
  alwaysInWorker?: boolean;
  /** Injected by tests: the worker script (default: analysisWorker beside this module or bundle). */
  workerFile?: string;
}

/** analysisWorker.js beside this module (compiled), or analysisWorker.mjs beside the bundle (dist/). */
function defaultWorkerFile(): string {
  // __filename exists in the CommonJS extension bundle and (shimmed) in the ES module bundles; the
  // compiled ES modules under out/ have only import.meta.url.
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  return path.join(path.dirname(here), here.endsWith('.js') ? 'analysisWorker.js' : 'analysisWorker.mjs');
}

interface Waiting {
  resolve: (a: Analysis) => void;
  reject: (e: Error) => void;
  text: string;
  key?: string;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * A worker thread that analyses plans; `key` names a document whose chunk cache it keeps (an
 * extension's open plan). Requests run in order; the worker holds the process open only while one is
 * outstanding, so a CLI exits as soon as it is done.
 */
export class AnalysisWorker {
  private worker: Worker | undefined;
  private unavailable = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Waiting>();
  /** Main-thread analyzers, when no worker can run. */
  private readonly local = new Map<string, PlanAnalyzer>();
  private readonly limits: ComplexityLimits;
  /** How many chunks the last analysis parsed (see PlanAnalyzer.lastParsedChunks). */
  lastParsedChunks = 0;

  constructor(private readonly options: OffThreadOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /** Analyses `text`; small texts in place (see SYNC_COST). Rejects with AnalysisCancelled when `cancel` fires first. */
  async analyze(text: string, key?: string, cancel?: { readonly isCancellationRequested: boolean }): Promise<Analysis> {
    // Cost grows at least with length, so a long text skips the screen (a 10 MB plan's costs ~0.1 s).
    if (!this.options.alwaysInWorker && text.length <= SYNC_COST && screenChunk(text, this.limits).cost <= SYNC_COST) return this.inPlace(text, key);
    const worker = this.start();
    if (!worker) return this.inPlace(text, key);
    const id = this.nextId++;
    const result = new Promise<Analysis>((resolve, reject) => {
      const w: Waiting = { resolve, reject, text, ...(key !== undefined ? { key } : {}) };
      w.timer = setTimeout(() => this.deadlinePassed(id), this.options.deadlineMs ?? DEFAULT_DEADLINE_MS);
      this.waiting.set(id, w);
    });
    if (this.waiting.size === 1) worker.ref();
    worker.postMessage({ kind: 'analyze', id, text, limits: this.options.limits, ...(key !== undefined ? { key } : {}) } satisfies WorkerRequest);
    const analysis = await result;
    if (cancel?.isCancellationRequested) throw new AnalysisCancelled();
    return analysis;
  }

  /** Drops the chunk cache of a document that is gone. */
  forget(key: string): void {
    this.local.delete(key);
    this.worker?.postMessage({ kind: 'forget', key } satisfies WorkerRequest);
  }

  dispose(): void {
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new AnalysisCancelled());
    }
    this.waiting.clear();
  }

  private inPlace(text: string, key?: string, limits: Partial<ComplexityLimits> = this.limits): Analysis {
    let analyzer = key !== undefined ? this.local.get(key) : undefined;
    if (!analyzer) {
      analyzer = new PlanAnalyzer({ limits });
      if (key !== undefined) this.local.set(key, analyzer);
    }
    const analysis = analyzer.analyze(text);
    this.lastParsedChunks = analyzer.lastParsedChunks;
    return analysis;
  }

  private start(): Worker | undefined {
    if (this.worker) return this.worker;
    if (this.unavailable) return undefined;
    const file = this.options.workerFile ?? defaultWorkerFile();
    if (!existsSync(file)) {
      this.unavailable = true;
      return undefined;
    }
    const worker = new Worker(file);
    worker.unref();
    worker.on('message', (m: WorkerReply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.settle(m.id);
      if ('error' in m) w.reject(new Error(`plan analysis failed: ${m.error}`));
      else {
        this.lastParsedChunks = m.parsedChunks;
        w.resolve({ plan: JSON.parse(m.planJson) as Analysis['plan'], graph: m.graph, diagnostics: m.diagnostics });
      }
    });
    worker.on('error', (e) => {
      // A worker that cannot load (a broken bundle) will not load next time either.
      this.unavailable = true;
      this.failAll(worker, e);
    });
    worker.on('exit', () => this.failAll(worker, new Error('the analysis worker stopped')));
    this.worker = worker;
    return worker;
  }

  private settle(id: number): void {
    const w = this.waiting.get(id);
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting.delete(id);
    if (this.waiting.size === 0) this.worker?.unref();
  }

  /** The worker died (or could not load): what it still owed is analysed in place, and later requests start a new one. */
  private failAll(worker: Worker, _error: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    for (const [id, w] of [...this.waiting]) {
      this.settle(id);
      try {
        w.resolve(this.inPlace(w.text, w.key));
      } catch (e) {
        w.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  /**
   * The backstop. The worker is stopped (its caches go with it; the next request starts a new one) and
   * every request it owed is answered by the line scanner alone — linear, never stuck — with the
   * `plan-too-complex` warning that says the plan was read that way.
   */
  private deadlinePassed(id: number): void {
    if (!this.waiting.has(id)) return;
    const worker = this.worker;
    this.worker = undefined;
    void worker?.terminate();
    for (const [wid, w] of [...this.waiting]) {
      this.settle(wid);
      if (w.key !== undefined) this.local.delete(w.key);
      try {
        w.resolve(new PlanAnalyzer({ limits: { ...this.limits, maxTotalCost: -1 } }).analyze(w.text));
      } catch (e) {
        w.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }
}

let shared: AnalysisWorker | undefined;

/** One-shot analysis off the main thread (one worker per process, started on first use). */
export function analyzeOffThread(text: string): Promise<Analysis> {
  shared ??= new AnalysisWorker();
  return shared.analyze(text);
}
