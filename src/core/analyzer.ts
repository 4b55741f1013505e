/**
 * Incremental plan analysis: text → plan → graph → diagnostics, re-parsing only changed chunks.
 * One analyzer per document (the extension keeps one per open plan, the CLI makes one per run).
 */
import { assemblePlan, type ParsedChunk } from './assemble.js';
import { splitIntoChunks } from './chunks.js';
import { parseChunk, type ParsedBlocks } from './markdown.js';
import { DEFAULT_LIMITS, screenChunk, type ComplexityFinding, type ComplexityLimits, type Screened } from './complexity.js';
import { lineScanChunk } from './lineScan.js';
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

export interface AnalyzerOptions {
  /** Shape limits (complexity.ts); tests pass tiny ones to exercise the degraded paths on small texts. */
  limits?: Partial<ComplexityLimits>;
}

/** One chunk text's screen, and its blocks once read (by remark, or by the line scanner). */
interface ChunkEntry {
  /** Screened on first need: chunks past the budget are line-scanned and never need it. */
  screened?: Screened;
  parsed?: ParsedBlocks;
  scanned?: ParsedBlocks;
}

export class PlanAnalyzer {
  /** Chunk text → its entry. Holds only the chunks of the latest text, so it never grows without bound. */
  private cache = new Map<string, ChunkEntry>();
  /** How many chunks the last analysis parsed (the rest came from the cache); for tests and benchmarks. */
  lastParsedChunks = 0;
  readonly limits: ComplexityLimits;

  constructor(options: AnalyzerOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /**
   * Chunks are screened (complexity.ts) and parsed with remark in document order while the text's
   * total cost fits `limits.maxTotalCost`; from the first chunk that does not fit to the end, chunks
   * are read by the line scanner and one `plan-too-complex` warning says from which line. Both
   * decisions depend on the text alone, so a cached chunk is read the same way as a fresh one.
   */
  parse(text: string, cancel?: CancellationSignal): Plan {
    const chunks = splitIntoChunks(text);
    const next = new Map<string, ChunkEntry>();
    let parsed = 0;
    const entryOf = (chunkText: string): ChunkEntry => {
      if (cancel?.isCancellationRequested) throw new AnalysisCancelled();
      let entry = next.get(chunkText) ?? this.cache.get(chunkText);
      if (entry === undefined) entry = {};
      next.set(chunkText, entry);
      return entry;
    };
    const screened = (chunkText: string, entry: ChunkEntry): Screened => (entry.screened ??= screenChunk(chunkText, this.limits));
    const remark = (entry: ChunkEntry): ParsedBlocks => {
      if (entry.parsed === undefined) {
        const screen = entry.screened!;
        entry.parsed = parseChunk(screen.remarkText(), screen.findings);
        parsed++;
      }
      return entry.parsed;
    };
    let remaining = this.limits.maxTotalCost;
    let scanning = false;
    const parsedChunks: ParsedChunk[] = [];
    for (let i = 0; i < chunks.length; i++) {
      const first = chunks[i]!;
      if (first.offset >= this.limits.maxPlanLength) {
        // Past the size limit nothing more is read: one error on the first line not read names the rest.
        parsedChunks.push({ offset: first.offset, blocks: [], findings: [{ kind: 'not-read', start: 0, end: text.length - first.offset, count: this.limits.maxPlanLength }] });
        break;
      }
      let chunkText = first.text;
      let entry = entryOf(chunkText);
      if (!scanning && screened(chunkText, entry).cost <= remaining) {
        let result = remark(entry);
        // The parse says a split was wrong (e.g. a heading inside an unclosed fence): merge and parse again.
        while (result.openAtEnd && i + 1 < chunks.length) {
          chunkText += chunks[++i]!.text;
          entry = entryOf(chunkText);
          screened(chunkText, entry);
          result = remark(entry);
        }
        remaining -= entry.screened!.cost;
        parsedChunks.push({ offset: first.offset, blocks: result.blocks, findings: result.findings });
        continue;
      }
      // Over the budget: this chunk and every one after it are line-scanned, so the degraded part of
      // the plan is one stretch to the end, named by one warning.
      const tooLarge: ComplexityFinding | undefined = scanning
        ? undefined
        : { kind: 'too-large', start: 0, end: Math.min(text.length, this.limits.maxPlanLength) - first.offset, count: this.limits.maxTotalCost };
      scanning = true;
      if (entry.scanned === undefined) {
        entry.scanned = lineScanChunk(chunkText, []);
        parsed++;
      }
      parsedChunks.push({ offset: first.offset, blocks: entry.scanned.blocks, findings: tooLarge ? [tooLarge] : [] });
    }
    this.cache = next;
    this.lastParsedChunks = parsed;
    return assemblePlan(text, parsedChunks, new LineIndex(text), this.limits);
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
export function parsePlan(text: string, options?: AnalyzerOptions): Plan {
  return new PlanAnalyzer(options).parse(text);
}

export function analyzePlan(text: string, options?: AnalyzerOptions): Analysis {
  return new PlanAnalyzer(options).analyze(text);
}
