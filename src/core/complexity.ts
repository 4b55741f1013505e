/**
 * A cheap, deterministic screen of a chunk before remark sees it.
 *
 * micromark is linear for most markdown but not for all of it: it matches emphasis, strikethrough,
 * brackets and code-span backticks pairwise inside one run of inline content, so a paragraph of
 * 80 KB of `*a_[` takes ~50 s, and container nesting (`> > > …`, `- - - …`) thousands deep overflows
 * the stack. Measured on the 24 shapes of test/unit/helpers/pathological.ts, nothing else grows faster
 * than the input. So the screen counts, per paragraph, the characters that are matched pairwise, and
 * per line, the nesting depth; above a limit it *neutralises* them: each such character becomes a space
 * (same length, so every offset stays right), and the block structure around it — list items,
 * checkboxes, task IDs, headings — parses exactly as before. The author gets a `plan-too-complex`
 * warning at that paragraph. It also prices the chunk (≈ remark's time, in plain-text bytes), so that
 * the analyzer can cap the markdown parsed per analysis (see analyzer.ts).
 *
 * Limits are on the input's shape, never on the clock: the same text gives the same result on every
 * machine.
 */

export interface ComplexityLimits {
  /** Emphasis/bracket/backtick characters in one paragraph (matched pairwise: time grows with the square). */
  maxInlineDelimiters: number;
  /** Punctuation characters in one paragraph (each a token micromark merges with a splice: quadratic). */
  maxInlinePunctuation: number;
  /** Lists and block quotes nested on one line (deeper nesting overflows the parser's stack). */
  maxNesting: number;
  /** Cost (see `Screened.cost`) of the markdown remark parses in one analysis; later chunks are line-scanned. */
  maxTotalCost: number;
  /** Characters of a plan that are read at all; the rest is not read and an error says so. */
  maxPlanLength: number;
}

/**
 * 1,000 delimiters in a paragraph cost remark ≤ 30 ms on the worst shapes measured (a real paragraph
 * has tens), 3,000 punctuation characters about 100 ms; 32 levels of nesting is five times the deepest real plan; 500 k cost units is
 * ≤ 0.75 s of remark on the slowest shape on a 2-core machine, and holds a plan of about 1,000 ordinary
 * tasks (≈ 125 KB, six times the largest real plan we know, 19 KB), so that a plan of any size is
 * answered within about 2 s (the rest is line-scanned, then not read past maxPlanLength).
 */
export const DEFAULT_LIMITS: ComplexityLimits = {
  maxInlineDelimiters: 1000,
  maxInlinePunctuation: 3000,
  maxNesting: 32,
  maxTotalCost: 500_000,
  // ≈ 15,000 ordinary tasks (a hundred times the largest real plan we know), under a second of analysis
  // on a 2-core machine: a plan up to this size is read whole; a 10 MB one gets its answer, an error,
  // in about 1.5 s through the CLI instead of 5 s.
  maxPlanLength: 2_000_000,
};

/** Something the screen simplified: chunk-relative offsets. */
export interface ComplexityFinding {
  kind: 'delimiters' | 'nesting' | 'too-large' | 'not-read';
  start: number;
  end: number;
  /** How many delimiters / how deep / how many cost units. */
  count: number;
}

export interface Screened {
  /**
   * The text remark should parse: the chunk itself, or a copy with the findings neutralised (same
   * length). A function, because a chunk past the analysis budget is line-scanned and never needs it.
   */
  remarkText: () => string;
  /**
   * An estimate of remark's time, in bytes of plain prose: punctuation costs remark up to 30 times a
   * letter (entities, tables and link definitions are all punctuation), and each paragraph adds its
   * token count (lines + punctuation) squared / 100: micromark merges a paragraph's text tokens with
   * one Array.splice each (resolveAllText), so a 20,000-line paragraph takes seconds. 1,000 units ≈
   * 0.4–1.5 ms of remark.
   */
  cost: number;
  findings: ComplexityFinding[];
}

/**
 * What one punctuation character (other than quotes and parentheses) costs remark, in letters.
 * Measured on the shapes (ms per KB, one paragraph): prose 0.8, tables and link definitions 6–10,
 * `<http://` 13, entity runs 28.
 */
const PUNCTUATION_COST = 30;

const SPACE = 32;
const TAB = 9;

function isHardDelimiter(c: number): boolean {
  // * _ ~ [ ] `
  return c === 42 || c === 95 || c === 126 || c === 91 || c === 93 || c === 96;
}

/** Punctuation remark spends time on; quotes and parentheses cost it no more than letters (measured). */
function isPunctuation(c: number): boolean {
  if (c === 34 || c === 39 || c === 40 || c === 41) return false;
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

/** A list marker (`-`, `*`, `+`, `1.`, `1)`) at `i`, followed by a space, tab or the end of the line: its length, else 0. */
function listMarkerAt(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  let j = i;
  if (c === 45 || c === 42 || c === 43) j = i + 1;
  else {
    while (j < end && j - i < 9 && text.charCodeAt(j) >= 48 && text.charCodeAt(j) <= 57) j++;
    if (j === i || j >= end || (text.charCodeAt(j) !== 46 && text.charCodeAt(j) !== 41)) return 0;
    j++;
  }
  if (j === end) return j - i;
  const n = text.charCodeAt(j);
  return n === SPACE || n === TAB || n === 13 ? j - i : 0;
}

/** A checkbox and a task ID at the start of an item's text (as markdown.ts's ITEM_HEAD reads them). */
const ITEM_HEAD = /^(?:\[[ xX~-]\]\*?[ \t]*)?(?:(?:\*\*|__)?(?:T\d+[a-z]?|\d+(?:\.\d+)*\.?)(?:\*\*|__)?:?(?=\s|$))?/;
const FENCE_CHARS = /^(`{3,}|~{3,})(.*)$/;

interface Run {
  start: number;
  end: number;
  /** Column of the paragraph's text on its first line: a block marker indented 4 more continues it. */
  contentColumn: number;
  delimiters: number;
  /** Punctuation in the paragraph's text (not in container markers or the checkbox). */
  punctuation: number;
  lines: number;
  /** [from, to) pieces of inline text, to neutralise if the run is over the limit. */
  segments: number[];
}

/** Screens one chunk; see the file comment. `limits` only needs the two per-chunk limits. */
export function screenChunk(text: string, limits: ComplexityLimits = DEFAULT_LIMITS): Screened {
  const findings: ComplexityFinding[] = [];
  let cost = 0;
  let neutral: Uint8Array | undefined;
  /**
   * 1: the delimiters in this range become spaces; 2: every character does (container markers);
   * 3: every punctuation character does.
   */
  const mark = (from: number, to: number, how: 1 | 2 | 3): void => {
    neutral ??= new Uint8Array(text.length);
    neutral.fill(how, from, to);
  };
  let run: Run | undefined;
  const finishRun = (): void => {
    if (!run) return;
    let tokens = run.lines + run.punctuation;
    if (run.delimiters > limits.maxInlineDelimiters || run.punctuation > limits.maxInlinePunctuation) {
      const all = run.punctuation > limits.maxInlinePunctuation;
      findings.push({ kind: 'delimiters', start: run.start, end: run.end, count: all ? run.punctuation : run.delimiters });
      for (let k = 0; k < run.segments.length; k += 2) mark(run.segments[k]!, run.segments[k + 1]!, all ? 3 : 1);
      // Neutralised, they are spaces to remark: take back what their lines were charged for them.
      const gone = all ? run.punctuation : run.delimiters;
      cost -= PUNCTUATION_COST * gone;
      tokens -= gone;
    }
    // micromark merges a paragraph's text tokens with Array.splice, once per token: quadratic in them.
    cost += (tokens * tokens) / 100;
    run = undefined;
  };
  /** An open fenced code block: its character and length, and the column its content must keep. */
  let fence: { char: number; length: number; column: number } | undefined;

  let pos = 0;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    // Price the line: bytes plus extra for punctuation.
    let punct = 0;
    let spaces = 0;
    for (let i = pos; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === SPACE) spaces++;
      else if (isPunctuation(c)) punct++;
    }
    // A space costs a letter more: text of one-letter words (what neutralised emphasis leaves) is ~3× prose.
    cost += end - pos + 1 + spaces + PUNCTUATION_COST * punct;

    // Leading whitespace, then container markers (`>` and list markers) with the space after them.
    let i = pos;
    let column = 0;
    while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) {
      column += text.charCodeAt(i) === TAB ? 4 - (column % 4) : 1;
      i++;
    }
    const indent = column;
    let markers = 0;
    /** Where the markers start, and where those beyond the nesting limit start; their character count. */
    const prefixFrom = i;
    let overflowFrom = -1;
    let overflowChars = 0;
    let markerChars = 0;
    for (;;) {
      if (i >= end) break;
      const c = text.charCodeAt(i);
      const len = c === 62 /* > */ ? 1 : listMarkerAt(text, i, end);
      if (len === 0) break;
      markers++;
      markerChars += len;
      if (markers > limits.maxNesting) {
        if (overflowFrom < 0) overflowFrom = i;
        overflowChars += len;
      }
      i += len;
      column += len;
      while (i < end && (text.charCodeAt(i) === SPACE || text.charCodeAt(i) === TAB)) {
        column += text.charCodeAt(i) === TAB ? 4 - (column % 4) : 1;
        i++;
      }
    }
    const blank = i >= end || (i === end - 1 && text.charCodeAt(i) === 13);

    if (fence) {
      // Content of a fenced block is not inline markdown. The block ends at its closer, or (when it was
      // opened in a list item) at a line indented less than its opener: then that item has ended.
      const rest = text.slice(i, end).trimEnd();
      const closes = markers === 0 && rest.length >= fence.length && [...rest].every((ch) => ch.charCodeAt(0) === fence!.char);
      if (closes) fence = undefined;
      else if (blank || indent >= fence.column) {
        if (nl === -1) break;
        pos = nl + 1;
        continue;
      } else fence = undefined;
      if (closes) {
        if (nl === -1) break;
        pos = nl + 1;
        continue;
      }
    }

    const depth = Math.floor(indent / 2) + markers;
    if (depth > limits.maxNesting) {
      findings.push({ kind: 'nesting', start: pos, end, count: depth });
      // The markers beyond the limit (all of them, when the indentation alone is too deep) become
      // spaces: the region holds only markers and the whitespace between them.
      if (Math.floor(indent / 2) > limits.maxNesting || overflowFrom < 0) {
        overflowFrom = prefixFrom;
        overflowChars = markerChars;
      }
      mark(overflowFrom, i, 2);
      cost -= PUNCTUATION_COST * overflowChars;
    }

    if (blank) {
      finishRun();
    } else {
      const c0 = text.charCodeAt(i);
      const f = c0 === 96 || c0 === 126 ? FENCE_CHARS.exec(text.slice(i, end).trimEnd()) : null;
      if (f && !(f[1]![0] === '`' && f[2]!.includes('`'))) {
        finishRun();
        fence = { char: f[1]!.charCodeAt(0), length: f[1]!.length, column: indent };
      } else {
        // A list item, heading or block quote starts a new block unless indented 4 past the paragraph's text.
        const startsBlock = markers > 0 || text.charCodeAt(i) === 35 /* # */;
        if (run && startsBlock && indent < run.contentColumn + 4) finishRun();
        let from = i;
        if (!run) {
          // The checkbox and ID of a task are structure, not inline text: never counted, never neutralised.
          if (markers > 0) {
            const head = ITEM_HEAD.exec(text.slice(i, Math.min(end, i + 40)));
            if (head) from = i + head[0].length;
          }
          run = { start: pos, end, contentColumn: column, delimiters: 0, punctuation: 0, lines: 0, segments: [] };
        }
        let d = 0;
        let p = 0;
        for (let k = from; k < end; k++) {
          const c = text.charCodeAt(k);
          if (isHardDelimiter(c)) d++;
          if (isPunctuation(c)) p++;
        }
        run.delimiters += d;
        run.punctuation += p;
        run.lines++;
        run.end = end;
        if (p > 0) run.segments.push(from, end);
      }
    }
    if (nl === -1) break;
    pos = nl + 1;
  }
  finishRun();
  const marks = neutral;
  if (!marks) return { remarkText: () => text, cost, findings };
  let copy: string | undefined;
  return { remarkText: () => (copy ??= neutralise(text, marks)), cost, findings };
}

/** Marked delimiters (1) and marked container markers (2) become spaces; everything else stays. */
function neutralise(text: string, marks: Uint8Array): string {
  // UTF-16 code units in a buffer: one unit per character offset, so offsets are kept exactly.
  const units = Buffer.from(text, 'utf16le');
  for (let i = 0; i < text.length; i++) {
    const how = marks[i];
    if (how === 0 || (how === 1 && !isHardDelimiter(text.charCodeAt(i))) || (how === 3 && !isPunctuation(text.charCodeAt(i)))) continue;
    units[2 * i] = SPACE;
    units[2 * i + 1] = 0;
  }
  return units.toString('utf16le');
}

const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The author's message for a finding; `lines` is e.g. "lines 40–900" or "line 45". */
export function complexityMessage(f: ComplexityFinding, lines: string, limits: ComplexityLimits = DEFAULT_LIMITS): string {
  switch (f.kind) {
    case 'delimiters':
      return `This paragraph (${lines}) is too complex to analyse: it has ${thousands(f.count)} markup characters (emphasis, brackets, backticks, entities, HTML; the limits are ${thousands(limits.maxInlineDelimiters)} emphasis/bracket/backtick marks and ${thousands(limits.maxInlinePunctuation)} in all), so they are read as plain text — links, code spans and file references in it are not recognised. Split the paragraph, or put it in a code block`;
    case 'nesting':
      return `This line (${lines}) nests ${thousands(f.count)} lists or block quotes (the limit is ${limits.maxNesting}); the deeper levels are read as plain text. Flatten it`;
    case 'too-large':
      return `The plan is too large to analyse in full, so ${lines} are read line by line without markdown parsing: tasks, checkboxes, dependencies and file references are read, but wrapped lines, code blocks and HTML there may be misread. Split the plan into several files`;
    case 'not-read':
      return `The plan is too large: only its first ${thousands(limits.maxPlanLength)} characters are read, so ${lines} are not analysed and the plan cannot be run. Split it into several plans`;
  }
}
