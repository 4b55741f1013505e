/**
 * Incremental plan analysis: text → plan → graph → diagnostics, re-parsing only changed chunks.
 * One analyzer per document (the extension keeps one per open plan, the CLI makes one per run).
 */
import { assemblePlan } from './assemble.js';
import { splitIntoChunks } from './chunks.js';
import { parseChunk, type ParsedBlocks } from './markdown.js';
import type { Plan } from './model.js';
import { LineIndex } from './source.js';
import { buildGraph, type PlanGraph } from './graph.js';
import { computeDiagnostics, type Diagnostic } from './diagnostics.js';

export interface Analysis {
  plan: Plan;
  graph: PlanGraph;
  diagnostics: Diagnostic[];
}

/** Lets a long analysis stop early when the editor has moved on (a newer edit arrived). */
export interface CancellationSignal {
  readonly isCancellationRequested: boolean;
}

export class AnalysisCancelled extends Error {
  constructor() {
    super('analysis cancelled');
    this.name = 'AnalysisCancelled';
  }
}

export class PlanAnalyzer {
  /** Chunk text → its blocks. Holds only the chunks of the latest text, so it never grows without bound. */
  private cache = new Map<string, ParsedBlocks>();
  /** How many chunks the last analysis parsed (the rest came from the cache); for tests and benchmarks. */
  lastParsedChunks = 0;

  parse(text: string, cancel?: CancellationSignal): Plan {
    const chunks = splitIntoChunks(text);
    const next = new Map<string, ParsedBlocks>();
    let parsed = 0;
    const get = (chunkText: string): ParsedBlocks => {
      if (cancel?.isCancellationRequested) throw new AnalysisCancelled();
      let result = next.get(chunkText) ?? this.cache.get(chunkText);
      if (result === undefined) {
        result = parseChunk(chunkText);
        parsed++;
      }
      next.set(chunkText, result);
      return result;
    };
    const parsedChunks: Array<{ offset: number; blocks: ParsedBlocks['blocks'] }> = [];
    for (let i = 0; i < chunks.length; i++) {
      const first = chunks[i]!;
      let chunkText = first.text;
      let result = get(chunkText);
      // The parse says a split was wrong (e.g. a heading inside an unclosed fence): merge and parse again.
      while (result.openAtEnd && i + 1 < chunks.length) {
        chunkText += chunks[++i]!.text;
        result = get(chunkText);
      }
      parsedChunks.push({ offset: first.offset, blocks: result.blocks });
    }
    this.cache = next;
    this.lastParsedChunks = parsed;
    return assemblePlan(text, parsedChunks, new LineIndex(text));
  }

  analyze(text: string, cancel?: CancellationSignal): Analysis {
    const plan = this.parse(text, cancel);
    if (cancel?.isCancellationRequested) throw new AnalysisCancelled();
    const graph = buildGraph(plan);
    const diagnostics = computeDiagnostics(plan, graph);
    return { plan, graph, diagnostics };
  }
}

/** One-shot parse of a whole text (no cache kept). */
export function parsePlan(text: string): Plan {
  return new PlanAnalyzer().parse(text);
}

export function analyzePlan(text: string): Analysis {
  return new PlanAnalyzer().analyze(text);
}
