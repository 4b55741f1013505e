/**
 * The degraded reading of a chunk, for markdown past the analyzer's per-analysis budget (see
 * complexity.ts): a line scanner, linear in the text and immune to every pathological shape, that
 * produces the same blocks as markdown.ts from the raw lines — headings, top-level paragraphs, and
 * list items (nested by indentation) with their checkbox, ID, title and annotations.
 *
 * It is not a markdown parser and does not try to be one: it skips fenced code and HTML comments,
 * reads emphasis, links and code spans only as far as titles and file references need, and takes a
 * line as a list item when it starts with a list marker. The `plan-too-complex` warning on the chunk
 * says that this is how it was read.
 */
import { emptyAnnotations, gateCommandOf, parseEstimate, scanDependencies, scanFiles, scanLabels, scanMarkers, type InlineCode } from './annotations.js';
import type { ComplexityFinding } from './complexity.js';
import { cleanTitle, readItemHead, type Block, type ItemBlock, type ParsedBlocks } from './markdown.js';

const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*\r?$/;
const LIST_ITEM = /^([ \t]*)([-*+]|\d{1,9}[.)])(?:[ \t]+|(?=\r?$))/;
const FENCE = /^[ \t]*(`{3,}|~{3,})/;
/** Annotation regexes run on at most this much of one item's text, so no line can make them slow. */
const MAX_SCANNED = 4096;

interface OpenItem {
  block: ItemBlock;
  index: number;
  /** Column of the item's text: lines indented at least this much belong to it. */
  contentColumn: number;
  /** [start, end) of the item's own lines (not its children's), chunk-relative. */
  segments: number[];
}

function widthOf(ws: string): number {
  let w = 0;
  for (const c of ws) w += c === '\t' ? 4 - (w % 4) : 1;
  return w;
}

export function lineScanChunk(text: string, findings: ComplexityFinding[]): ParsedBlocks {
  const blocks: Block[] = [];
  const stack: OpenItem[] = [];
  let paragraph: { start: number; end: number } | undefined;
  let fence: { char: string; length: number } | undefined;
  let comment = false;
  let previousBlank = true;

  const closeParagraph = (): void => {
    if (!paragraph) return;
    blocks.push({ kind: 'paragraph', raw: text.slice(paragraph.start, paragraph.end), start: paragraph.start, end: paragraph.end });
    paragraph = undefined;
  };
  const popItem = (): void => {
    const item = stack.pop()!;
    finishItem(text, item);
    const parent = stack[stack.length - 1];
    if (parent) parent.block.end = Math.max(parent.block.end, item.block.end);
  };
  const closeItemsTo = (column: number): void => {
    while (stack.length > 0 && column < stack[stack.length - 1]!.contentColumn) popItem();
  };
  /** The line [start, end) belongs to the innermost open item: its own text, and the end of every open item. */
  const extend = (start: number, end: number): void => {
    const top = stack[stack.length - 1]!;
    const segs = top.segments;
    if (segs.length > 0 && segs[segs.length - 1] === start - 1) segs[segs.length - 1] = end;
    else segs.push(start, end);
    top.block.end = end;
  };

  let pos = 0;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(pos, end);
    const blank = line.trim() === '';
    if (fence) {
      const f = FENCE.exec(line);
      if (f && f[1]![0] === fence.char && f[1]!.length >= fence.length && line.slice(f[0].length).trim() === '') fence = undefined;
      if (stack.length > 0 && !blank) stack[stack.length - 1]!.block.end = end;
    } else if (comment) {
      if (line.includes('-->')) comment = false;
    } else if (blank) {
      closeParagraph();
    } else {
      const indent = widthOf(/^[ \t]*/.exec(line)![0]);
      const heading = indent <= 3 ? HEADING.exec(line) : null;
      const item = LIST_ITEM.exec(line);
      const f = FENCE.exec(line);
      if (line.trimStart().startsWith('<!--')) {
        closeParagraph();
        comment = !line.includes('-->', line.indexOf('<!--') + 4);
      } else if (heading) {
        closeParagraph();
        while (stack.length > 0) popItem();
        blocks.push(headingBlock(text, pos, end, heading[1]!.length, heading[2] ?? ''));
      } else if (item) {
        closeParagraph();
        const markerColumn = widthOf(item[1]!);
        // A marker left of an open item's text starts a sibling (or an outer list), not a child.
        while (stack.length > 0 && markerColumn < stack[stack.length - 1]!.contentColumn) popItem();
        const start = pos + item[1]!.length;
        const head = readItemHead(text, start, end);
        const block: ItemBlock = {
          kind: 'item', start, end, parent: stack.length > 0 ? stack[stack.length - 1]!.index : -1,
          ...head, title: '', titleRaw: '', body: '', ann: emptyAnnotations(),
        };
        const contentStart = pos + item[0].length;
        blocks.push(block);
        stack.push({ block, index: blocks.length - 1, contentColumn: widthOf(item[0].replace(/[^\t]/g, ' ')), segments: [contentStart, end] });
      } else if (stack.length > 0 && (indent >= stack[stack.length - 1]!.contentColumn || !previousBlank)) {
        // Indented under an item, or a lazy continuation of its paragraph.
        if (previousBlank) closeItemsTo(indent);
        extend(pos, end);
      } else {
        while (stack.length > 0) popItem();
        if (paragraph) paragraph.end = end;
        else paragraph = { start: pos + indent, end };
      }
      if (f && !(f[1]![0] === '`' && line.slice(f[0].length).includes('`'))) fence = { char: f[1]![0]!, length: f[1]!.length };
    }
    previousBlank = blank;
    if (nl === -1) break;
    pos = nl + 1;
  }
  closeParagraph();
  while (stack.length > 0) popItem();
  return { blocks, openAtEnd: false, findings };
}

function headingBlock(text: string, start: number, end: number, depth: number, content: string): Block {
  const ann = emptyAnnotations();
  const raw = text.slice(start, Math.min(end, start + MAX_SCANNED));
  scanDependencies(raw, start, ann);
  scanLabels(raw, ann);
  return { kind: 'heading', depth, text: plainText(content).trim(), start, end: end > start && text[end - 1] === '\r' ? end - 1 : end, ann };
}

/** Roughly what mdast-util-to-string gives: no emphasis marks, backticks or link destinations. */
function plainText(raw: string): string {
  return raw
    .slice(0, MAX_SCANNED)
    .replace(/!?\[([^\]\n]*)\]\([^)\n]*\)/g, '$1')
    .replace(/\*\*|__|`/g, '')
    .replace(/(^|[\s(])[*_](?=\S)|(?<=\S)[*_](?=$|[\s),.:;])/g, '$1');
}

const INLINE_CODE = /`([^`\n]+)`/g;

function finishItem(text: string, item: OpenItem): void {
  const b = item.block;
  const ann = b.ann;
  const bodyParts: string[] = [];
  for (let k = 0; k < item.segments.length; k += 2) {
    const s = item.segments[k]!;
    const e = Math.min(item.segments[k + 1]!, s + MAX_SCANNED);
    const raw = text.slice(s, e);
    const codes: InlineCode[] = [];
    for (const m of raw.matchAll(INLINE_CODE)) codes.push({ value: m[1]!, start: s + m.index, end: s + m.index + m[0].length });
    scanDependencies(raw, s, ann);
    scanFiles(raw, s, codes, ann);
    scanMarkers(raw, ann);
    if (ann.estimateMinutes === undefined) ann.estimateMinutes = parseEstimate(raw);
    // The same rule as the full parse: only a `$ ` code span is a command (plan text is data).
    if (ann.command === undefined) ann.command = gateCommandOf(codes);
    if (k === 0) {
      b.titleRaw = raw;
      b.title = cleanTitle(plainText(raw), b.id !== undefined);
      scanLabels(raw, ann);
    } else {
      bodyParts.push(plainText(raw).replace(/^[ \t]+/gm, ''));
    }
  }
  b.body = bodyParts.join('\n');
  if (b.end > b.start && text[b.end - 1] === '\r') b.end--;
}
