/**
 * Reads the annotations of plan-format.md out of raw markdown source. Every result carries
 * offsets into the string it was given (plus `base`), so diagnostics point at the exact text.
 * We scan raw source rather than mdast text because mdast drops the indentation of continuation
 * lines, which would shift every offset after the first line of a wrapped task.
 */

export interface RawDependency {
  target: string;
  kind: 'task' | 'phase';
  start: number;
  end: number;
}

export interface RawFileRef {
  path: string;
  isGlob: boolean;
  kind: 'path' | 'boundary';
  start: number;
  end: number;
}

export interface ItemAnnotations {
  deps: RawDependency[];
  /** `(Depends: None)` or `_Depends: -_`. */
  noDeps: boolean;
  files: RawFileRef[];
  estimateMinutes?: number;
  labels: string[];
  sequential: boolean;
  parallel: boolean;
  command?: string;
  /** Kiro's `_Requirements: 1.1_` body line: it names requirements, not dependencies, but marks the dialect. */
  kiroRequirements?: boolean;
}

export function emptyAnnotations(): ItemAnnotations {
  return { deps: [], noDeps: false, files: [], labels: [], sequential: false, parallel: false };
}

/** A task ID: dotted numbers (`2.3`, `1.3.0`, `6.10`) or spec-kit `T012`. */
export const TASK_ID = /^(?:T\d+[a-z]?|\d+(?:\.\d+)*)$/;

const PAREN_DEPS = /\(\s*(?:depends(?:\s+on)?|deps|after)\b\s*(:?)([^()]{0,800}?)\)/gi;
const LINE_DEPS = /(?:^|[\s_*>(-])(?:depends(?:\s+on)?|dependencies)\s*(?:\*\*|__)?\s*:\s*(?:\*\*|__)?([^\n]*)/gim;
const DEP_TOKEN = /\bphase\s+(\d+(?:\.\d+)?)\b|\b(T\d+[a-z]?)\b|(?<![\w.])(\d+(?:\.\d+)*)(?![\w])|\b(none)\b/gi;

/** Finds `(depends: 1.1, 1.2)`, `(depends on T012, T013)`, `_Depends: 2.1_`, `Depends on: 2.1`. */
export function scanDependencies(raw: string, base: number, out: ItemAnnotations): void {
  const taken: Array<[number, number]> = [];
  if (/depend|deps|after/i.test(raw) === false) return;
  for (const m of raw.matchAll(PAREN_DEPS)) {
    const contentStart = m.index! + m[0].length - 1 - m[2]!.length;
    readDependencyList(m[2]!, contentStart, m[1] === ':', base, out);
    taken.push([m.index!, m.index! + m[0].length]);
  }
  for (const m of raw.matchAll(LINE_DEPS)) {
    const at = m.index!;
    if (taken.some(([s, e]) => at >= s - 1 && at < e)) continue;
    let content = m[1]!;
    const closer = content.search(/_\s*$|\*\*\s*$/);
    if (closer !== -1) content = content.slice(0, closer);
    readDependencyList(content, at + m[0].length - m[1]!.length, true, base, out);
  }
}

function readDependencyList(content: string, contentStart: number, colonForm: boolean, base: number, out: ItemAnnotations): void {
  // A `;` ends the list: `(depends on T003, T006; contracts/generate-endpoint.md)`.
  const semicolon = content.indexOf(';');
  const list = semicolon === -1 ? content : content.slice(0, semicolon);
  let found = 0;
  let none = false;
  for (const t of list.matchAll(DEP_TOKEN)) {
    const start = base + contentStart + t.index!;
    if (t[1] !== undefined) {
      out.deps.push({ target: t[1], kind: 'phase', start, end: start + t[0].length });
      found++;
    } else if (t[2] !== undefined) {
      out.deps.push({ target: t[2], kind: 'task', start, end: start + t[2].length });
      found++;
    } else if (t[3] !== undefined) {
      let id = t[3];
      if (id.endsWith('.')) id = id.slice(0, -1);
      // A bare number is an ID only in the colon form (`depends: 3`), not in prose (`depends on 2 tasks`).
      if (!id.includes('.') && !colonForm) continue;
      out.deps.push({ target: id, kind: 'task', start, end: start + id.length });
      found++;
    } else if (t[4] !== undefined) {
      none = true;
    }
  }
  if (none && found === 0) out.noDeps = true;
}

const EXTENSION = /\.[A-Za-z][A-Za-z0-9]{0,9}$/;

/** Does a backticked token name a file or folder (not a command, flag, URL or identifier)? */
export function isPathLike(value: string): boolean {
  if (value.length === 0 || value.length > 240) return false;
  if (/\s/.test(value)) return false;
  if (value.startsWith('-') || value.includes('://') || value.startsWith('@')) return false;
  if (/[()=;|&$<>"'`,]/.test(value)) return false;
  if (value.includes('/')) return /[A-Za-z0-9_*]/.test(value);
  return EXTENSION.test(value);
}

/** Normalises a file reference; a folder (`scripts/`) stands for everything under it. */
export function normaliseFileRef(value: string): { path: string; isGlob: boolean } {
  let path = value.trim().replace(/^\.\//, '').replace(/\\/g, '/');
  if (path.endsWith('/')) path += '**';
  return { path, isGlob: /[*?]/.test(path) };
}

const BARE_PATH =
  /(?<![\w./`@-])((?:src|tests?|docs|lib|app|scripts|packages|e2e|cmd|internal|pkg)\/[\w.\-/*@+]*[\w*/])/g;
const PAREN_GLOB = /\(([^\s()`]*[*?][^\s()`]*)\)/g;
const FILES_BULLET = /(?:\*\*|__)?\bFiles?(?:\*\*|__)?\s*:\s*(?:\*\*|__)?\s*([^\n]+)/g;
const BOUNDARY = /_Boundary:\s*([^_\n]+)_/g;

export interface InlineCode {
  value: string;
  start: number;
  end: number;
}

/** File references: backticked paths, bare `src/…` paths, `(glob/*.md)`, `**Files**: a, b`, `_Boundary: X_`. */
export function scanFiles(raw: string, base: number, codes: InlineCode[], out: ItemAnnotations): void {
  for (const c of codes) {
    if (isPathLike(c.value)) {
      const { path, isGlob } = normaliseFileRef(c.value);
      out.files.push({ path, isGlob, kind: 'path', start: c.start, end: c.end });
    }
  }
  // Blank out code spans so a backticked path is not read a second time as a bare path.
  let text = raw;
  for (const c of codes) {
    const s = c.start - base;
    const e = c.end - base;
    if (s >= 0 && e <= text.length) text = text.slice(0, s) + ' '.repeat(e - s) + text.slice(e);
  }
  for (const m of text.matchAll(BARE_PATH)) {
    const { path, isGlob } = normaliseFileRef(m[1]!);
    out.files.push({ path, isGlob, kind: 'path', start: base + m.index!, end: base + m.index! + m[1]!.length });
  }
  for (const m of text.matchAll(PAREN_GLOB)) {
    const start = base + m.index! + 1;
    const { path, isGlob } = normaliseFileRef(m[1]!);
    if (path.length > 1) out.files.push({ path, isGlob, kind: 'path', start, end: start + m[1]!.length });
  }
  for (const m of raw.matchAll(FILES_BULLET)) {
    let at = m.index! + m[0].length - m[1]!.length;
    for (const part of m[1]!.split(',')) {
      const value = part.replace(/[`*_]/g, '').trim();
      const lead = part.length - part.trimStart().length;
      if (isPathLike(value) || /^[\w.-]+\/?$/.test(value)) {
        const { path, isGlob } = normaliseFileRef(value);
        out.files.push({ path, isGlob, kind: 'path', start: base + at + lead, end: base + at + lead + part.trim().length });
      }
      at += part.length + 1;
    }
  }
  for (const m of raw.matchAll(BOUNDARY)) {
    let at = m.index! + '_Boundary:'.length + (m[0].length - '_Boundary:'.length - m[1]!.length - 1);
    for (const part of m[1]!.split(',')) {
      const value = part.trim();
      const lead = part.length - part.trimStart().length;
      if (value) out.files.push({ path: value, isGlob: false, kind: 'boundary', start: base + at + lead, end: base + at + lead + value.length });
      at += part.length + 1;
    }
  }
}

const ESTIMATE = /\(\s*est(?:imate)?\s*:\s*([^)]{1,40})\)/i;
const DURATION = /(\d+(?:\.\d+)?)\s*(days?|d|hours?|hrs?|h|minutes?|mins?|m)(?![a-z])/gi;

/** `(est: 45m)`, `(est: 2h)`, `(est: 1d)` (a day is 8 hours), `(est: 1h30m)`. */
export function parseEstimate(raw: string): number | undefined {
  const m = ESTIMATE.exec(raw);
  if (!m) return undefined;
  let minutes = 0;
  let any = false;
  for (const d of m[1]!.matchAll(DURATION)) {
    const n = Number(d[1]);
    const unit = d[2]!.toLowerCase();
    minutes += unit.startsWith('d') ? n * 480 : unit.startsWith('h') ? n * 60 : n;
    any = true;
  }
  return any ? Math.round(minutes) : undefined;
}

const LABEL = /\[([A-Z][A-Za-z0-9_-]{0,40})\]/g;

/** Bracket labels of the title line (`[P]`, `[US1]`, `[SEQUENTIAL]`) and cc-sdd's `(P)`. */
export function scanLabels(titleRaw: string, out: ItemAnnotations): void {
  for (const m of titleRaw.matchAll(LABEL)) {
    if (!out.labels.includes(m[1]!)) out.labels.push(m[1]!);
  }
  // cc-sdd writes the parallel marker as `(P)`; kept apart from spec-kit's `[P]` because it names the dialect.
  if (/\(P\)/.test(titleRaw) && !out.labels.includes('(P)')) out.labels.push('(P)');
  if (out.labels.includes('P') || out.labels.includes('(P)') || out.labels.includes('PARALLEL')) out.parallel = true;
  if (out.labels.includes('SEQUENTIAL')) out.sequential = true;
}

export function scanMarkers(raw: string, out: ItemAnnotations): void {
  if (raw.includes('_Requirements:')) out.kiroRequirements = true;
  if (raw.includes('[SEQUENTIAL]')) out.sequential = true;
  if (raw.includes('[PARALLEL]')) out.parallel = true;
}

/** Task IDs named by an `**Execution Note:** Tasks 3.1-3.4 are [SEQUENTIAL]` (a range or a list). */
export function parseSequentialNote(text: string): Array<{ from: string; to?: string; ids: string[] }> | undefined {
  if (!/execution note/i.test(text) || !text.includes('[SEQUENTIAL]')) return undefined;
  const m = /\btasks?\s+([\dT][\w.\s,–—-]*?)\s+(?:are|is|must|run|should)\b/i.exec(text);
  if (!m) return undefined;
  const spec = m[1]!;
  const range = /^(T?\d+(?:\.\d+)*)\s*[-–—]\s*(T?\d+(?:\.\d+)*)$/.exec(spec.trim());
  if (range) return [{ from: range[1]!, to: range[2]!, ids: [] }];
  const ids = spec.split(/[\s,]+(?:and\s+)?/).filter((s) => TASK_ID.test(s));
  return ids.length > 1 ? [{ from: ids[0]!, ids }] : undefined;
}

/**
 * The first code span written as a command (`` `$ npm test` ``), without its `$ `: the one way a plan
 * asks for something to be run. Plan text is data; a backticked phrase in prose never runs.
 */
export function gateCommandOf(codes: ReadonlyArray<{ value: string }>): string | undefined {
  for (const c of codes) {
    const m = /^\$\s+(\S[\s\S]*)$/.exec(c.value.trim());
    if (m) return m[1]!.trim();
  }
  return undefined;
}
