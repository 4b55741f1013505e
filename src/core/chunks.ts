/**
 * Splits a plan into chunks at headings with a plain line scan, so that only the chunks an edit
 * touched are parsed again (a full remark parse is ~100x slower than this scan).
 *
 * A chunk boundary must never change how markdown reads the text, so we split only at ATX
 * headings written at column 1, outside front matter, fenced code and HTML comments: such a line
 * is a heading whatever came before it, so parsing the pieces separately gives the same tree.
 * When unsure (an unclosed fence), we do not split: a bigger chunk is only slower, never wrong.
 */
export interface Chunk {
  text: string;
  /** Offset of the chunk's first character in the whole text. */
  offset: number;
  /** 0-based line of the chunk's first line in the whole text. */
  lineOffset: number;
}

const FENCE = /^\s*(`{3,}|~{3,})/;

export function splitIntoChunks(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let chunkStart = 0;
  let chunkLine = 0;
  let line = 0;
  let pos = 0;
  let fence: string | undefined;
  let inComment = false;
  let inFrontMatter = text.startsWith('---\n') || text.startsWith('---\r\n');

  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const first = text.charCodeAt(pos);

    if (inFrontMatter) {
      if (line > 0 && (first === 45 /* - */ || first === 46) /* . */) {
        const l = text.slice(pos, end).trimEnd();
        if (l === '---' || l === '...') inFrontMatter = false;
      }
    } else if (fence !== undefined) {
      const m = FENCE.exec(text.slice(pos, Math.min(end, pos + 64)));
      if (m && m[1]![0] === fence[0] && m[1]!.length >= fence.length && text.slice(pos, end).trim() === m[1]) {
        fence = undefined;
      }
    } else if (inComment) {
      if (text.slice(pos, end).includes('-->')) inComment = false;
    } else if (first === 35 /* # */ && pos > chunkStart && isAtxHeading(text, pos, end)) {
      chunks.push({ text: text.slice(chunkStart, pos), offset: chunkStart, lineOffset: chunkLine });
      chunkStart = pos;
      chunkLine = line;
    } else if (first === 32 || first === 96 || first === 126 || first === 9) {
      const m = FENCE.exec(text.slice(pos, Math.min(end, pos + 64)));
      if (m) fence = m[1]!;
    } else if (first === 60 /* < */) {
      const l = text.slice(pos, end);
      const open = l.lastIndexOf('<!--');
      if (open !== -1 && l.indexOf('-->', open + 4) === -1) inComment = true;
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
