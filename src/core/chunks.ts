/**
 * Splits a plan into chunks at headings with a plain line scan, so that only the chunks an edit
 * touched are parsed again (a full remark parse is ~100x slower than this scan).
 *
 * A chunk boundary must never change how markdown reads the text, so we split only at ATX
 * headings written at column 1, outside front matter, fenced code and HTML comments: such a line
 * is a heading whatever came before it, so parsing the pieces separately gives the same tree.
 * When unsure (an unclosed fence), we do not split: a bigger chunk is only slower, never wrong.
 * Only document-level constructs can swallow a column-1 heading (a heading ends any list item or
 * block quote), so only fences indented 0–3 columns open one here. The analyzer checks each split
 * against the parse as well (see `openAtEnd` in markdown.ts) and merges chunks where we were wrong.
 */
export interface Chunk {
  text: string;
  /** Offset of the chunk's first character in the whole text. */
  offset: number;
  /** 0-based line of the chunk's first line in the whole text. */
  lineOffset: number;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})/;
const FENCE_LINE = /^([ \t]*)(`{3,}|~{3,})/;
const RAW_HTML_OPEN = /^ {0,3}<(pre|script|style|textarea)(?=[\s>]|$)/i;
const HTML_START = /^ {0,3}<(?:[A-Za-z/!?])/;

interface Fence {
  marker: string;
  indent: number;
}

/** What keeps a heading-looking line from being a heading: we must not split inside it. */
type Container =
  | { kind: 'front-matter' }
  | { kind: 'fence'; fence: Fence }
  | { kind: 'comment' }
  | { kind: 'raw-html'; tag: string }
  /** Any other HTML block runs to the next blank line (CommonMark block types 6 and 7). */
  | { kind: 'html-block' };

function indentWidth(ws: string): number {
  let w = 0;
  for (const c of ws) w += c === '\t' ? 4 - (w % 4) : 1;
  return w;
}

/** The state after `line`, given the state before it (undefined = plain markdown). */
function advance(state: Container | undefined, line: string, lineNumber: number): Container | undefined {
  switch (state?.kind) {
    case 'front-matter':
      return lineNumber > 0 && line.trimEnd() === '---' ? undefined : state;
    case 'fence': {
      const m = FENCE_LINE.exec(line);
      // A closer may be indented at most 3 columns more than its opener; deeper lines are content.
      const closes =
        m !== null &&
        m[2]![0] === state.fence.marker[0] &&
        m[2]!.length >= state.fence.marker.length &&
        line.slice(m[0].length).trim() === '' &&
        indentWidth(m[1]!) <= state.fence.indent + 3;
      return closes ? undefined : state;
    }
    case 'comment':
      return line.includes('-->') ? undefined : state;
    case 'raw-html':
      return new RegExp(`</${state.tag}>`, 'i').test(line) ? undefined : state;
    case 'html-block': {
      if (line.trim() === '') return undefined;
      // This "HTML block" may really be inline HTML in a paragraph, in which case a fence line here
      // opens a fence. When unsure, take the state that lasts longer: it only means fewer splits.
      const inner = opens(line);
      return inner && inner.kind !== 'html-block' ? inner : state;
    }
    default:
      return opens(line);
  }
}

function opens(line: string): Container | undefined {
  const f = FENCE.exec(line);
  if (f) return { kind: 'fence', fence: { marker: f[2]!, indent: indentWidth(f[1]!) } };
  if (!HTML_START.test(line)) return undefined;
  const trimmed = line.trimStart();
  if (trimmed.startsWith('<!--')) return trimmed.includes('-->', 4) ? undefined : { kind: 'comment' };
  const raw = RAW_HTML_OPEN.exec(line);
  if (raw) return new RegExp(`</${raw[1]}>`, 'i').test(line) ? undefined : { kind: 'raw-html', tag: raw[1]! };
  return { kind: 'html-block' };
}

export function splitIntoChunks(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let chunkStart = 0;
  let chunkLine = 0;
  let line = 0;
  let pos = 0;
  let state: Container | undefined = text.startsWith('---\n') || text.startsWith('---\r\n') ? { kind: 'front-matter' } : undefined;

  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    if (state === undefined && text.charCodeAt(pos) === 35 /* # */ && pos > chunkStart && isAtxHeading(text, pos, end)) {
      chunks.push({ text: text.slice(chunkStart, pos), offset: chunkStart, lineOffset: chunkLine });
      chunkStart = pos;
      chunkLine = line;
    } else {
      const c = text.charCodeAt(pos);
      // Only lines that can open or close a container need a closer look; most plan lines do not.
      if (state !== undefined || c === 32 || c === 9 || c === 96 || c === 126 || c === 60) {
        state = advance(state, text.slice(pos, end), line);
      }
    }
    if (nl === -1) break;
    pos = nl + 1;
    line++;
  }
  chunks.push({ text: text.slice(chunkStart), offset: chunkStart, lineOffset: chunkLine });
  return chunks;
}

function isAtxHeading(text: string, pos: number, end: number): boolean {
  let i = pos;
  while (i < end && i - pos < 7 && text.charCodeAt(i) === 35) i++;
  const level = i - pos;
  if (level < 1 || level > 6) return false;
  if (i === end) return true;
  const c = text.charCodeAt(i);
  return c === 32 || c === 9 || c === 13;
}
