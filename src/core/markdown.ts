/**
 * One chunk of markdown → a flat list of the blocks the plan model is built from.
 * This is the only place that runs remark; its result depends on the chunk text alone,
 * so it is cached by that text (see analyzer.ts). All offsets are relative to the chunk.
 */
import { unified } from 'unified';
import remarkParse from 'remark-parse';
import remarkGfm from 'remark-gfm';
import remarkFrontmatter from 'remark-frontmatter';
import { toString } from 'mdast-util-to-string';
import type { Heading, List, ListItem, Nodes, Paragraph, Root, RootContent } from 'mdast';
import type { CheckboxState } from './model.js';
import type { ComplexityFinding } from './complexity.js';
import {
  emptyAnnotations,
  gateCommandOf,
  parseEstimate,
  scanDependencies,
  scanFiles,
  scanLabels,
  scanMarkers,
  type InlineCode,
  type ItemAnnotations,
} from './annotations.js';

export interface HeadingBlock {
  kind: 'heading';
  depth: number;
  text: string;
  start: number;
  end: number;
  ann: ItemAnnotations;
}

export interface ParagraphBlock {
  kind: 'paragraph';
  /** The paragraph's source, for labels like `**VERIFY Phase 2:**` and execution notes. */
  raw: string;
  start: number;
  end: number;
}

export interface ItemBlock {
  kind: 'item';
  start: number;
  end: number;
  /** Index (in this chunk's block list) of the enclosing list item, or -1. */
  parent: number;
  checkbox: CheckboxState;
  optional: boolean;
  checkboxOffset: number;
  /** The ID at the start of a checklist item, without a trailing `.` or `:`. */
  id?: string;
  idStart: number;
  idEnd: number;
  /** True when the ID was written `N.` (a Kiro top-level group item). */
  idTrailingDot: boolean;
  title: string;
  /** Source of the first paragraph (title line), for metadata and plan-dependency bullets. */
  titleRaw: string;
  body: string;
  ann: ItemAnnotations;
}

export interface OtherBlock {
  kind: 'yaml' | 'other';
  start: number;
  end: number;
}

export type Block = HeadingBlock | ParagraphBlock | ItemBlock | OtherBlock;

const processor = unified().use(remarkParse).use(remarkGfm).use(remarkFrontmatter, ['yaml']);

export function parseMarkdownTree(text: string): Root {
  return processor.parse(text);
}

export interface ParsedBlocks {
  blocks: Block[];
  /**
   * The chunk ends inside a document-level construct that would swallow a heading after it
   * (an unclosed fence, a comment or HTML block still open): the split after it was wrong.
   */
  openAtEnd: boolean;
  /** What could not be analysed in full (see complexity.ts); reported as `plan-too-complex`. */
  findings: ComplexityFinding[];
}

/**
 * Parses a chunk with remark. Call it on text screened by complexity.ts (screenChunk), never on raw
 * input: some shapes make remark quadratic or overflow its stack.
 */
export function parseChunk(text: string, findings: ComplexityFinding[] = []): ParsedBlocks {
  const tree = parseMarkdownTree(text);
  const blocks: Block[] = [];
  for (const node of tree.children) visitTop(node, text, blocks);
  return { blocks, openAtEnd: endsOpen(tree, text), findings };
}

/**
 * Follows the last node down (list → item → code …): an unclosed fence or open HTML anywhere on
 * that chain reaches the end of the chunk. At document level it would swallow the next heading;
 * nested in a list item it would end one character later than in the whole text. Either way the
 * analyzer merges this chunk with the next one.
 */
function endsOpen(tree: Root, text: string): boolean {
  let node: Nodes | undefined = tree.children[tree.children.length - 1];
  while (node) {
    if ((node.type === 'code' || node.type === 'html') && nodeOpen(node, text)) return true;
    node = 'children' in node && node.children.length > 0 ? (node.children[node.children.length - 1] as Nodes) : undefined;
  }
  return false;
}

function nodeOpen(last: Nodes, text: string): boolean {
  const raw = text.slice(startOf(last), endOf(last));
  if (last.type === 'code') {
    const open = /^ {0,3}(`{3,}|~{3,})/.exec(raw);
    if (!open) return false; // indented code ends at any unindented line
    const lines = raw.split(/\r?\n/);
    if (lines.length < 2) return true;
    const close = /^[ \t]*(`{3,}|~{3,})[ \t]*\r?$/.exec(lines[lines.length - 1]!);
    return !(close && close[1]![0] === open[1]![0] && close[1]!.length >= open[1]!.length);
  }
  const trimmed = raw.trimStart();
  if (trimmed.startsWith('<!--')) return !raw.includes('-->');
  const rawTag = /^<(pre|script|style|textarea)\b/i.exec(trimmed);
  if (rawTag) return !new RegExp(`</${rawTag[1]}>`, 'i').test(raw);
  // Other HTML blocks end at a blank line; without one before the next heading, it belongs to them.
  return !/\n[ \t]*\r?\n/.test(text.slice(endOf(last)));
}

function startOf(node: Nodes): number {
  return node.position?.start.offset ?? 0;
}
function endOf(node: Nodes): number {
  return node.position?.end.offset ?? 0;
}

function visitTop(node: RootContent, text: string, blocks: Block[]): void {
  switch (node.type) {
    case 'heading':
      blocks.push(headingBlock(node, text));
      return;
    case 'paragraph':
      blocks.push({ kind: 'paragraph', raw: text.slice(startOf(node), endOf(node)), start: startOf(node), end: endOf(node) });
      return;
    case 'list':
      visitList(node, text, -1, blocks);
      return;
    case 'yaml':
      blocks.push({ kind: 'yaml', start: startOf(node), end: endOf(node) });
      return;
    default:
      blocks.push({ kind: 'other', start: startOf(node), end: endOf(node) });
  }
}

function headingBlock(node: Heading, text: string): HeadingBlock {
  const start = startOf(node);
  const end = endOf(node);
  const ann = emptyAnnotations();
  const raw = text.slice(start, end);
  scanDependencies(raw, start, ann);
  scanLabels(raw, ann);
  return { kind: 'heading', depth: node.depth, text: toString(node).trim(), start, end, ann };
}

function visitList(list: List, text: string, parent: number, blocks: Block[]): void {
  for (const item of list.children) visitItem(item, text, parent, blocks);
}

export const ITEM_HEAD =
  /^(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[([ xX~-])\](\*?)(?:[ \t]+|$))?(?:(\*\*|__)?(T\d+[a-z]?|\d+(?:\.\d+)*\.?)(?:\*\*|__)?(:?)(?=\s|$))?/;

function visitItem(item: ListItem, text: string, parent: number, blocks: Block[]): void {
  const start = startOf(item);
  const end = endOf(item);
  const { checkbox, optional, checkboxOffset, id, idStart, idEnd, idTrailingDot } = readItemHead(text, start, end);
  const ann = emptyAnnotations();
  const codes: InlineCode[] = [];
  let title = '';
  let titleRaw = '';
  const bodyParts: string[] = [];
  const nested: List[] = [];
  let first = true;
  for (const child of item.children) {
    if (child.type === 'list') {
      nested.push(child);
      continue;
    }
    if (child.type === 'code' || child.type === 'html') {
      first = false;
      continue;
    }
    const s = startOf(child);
    const e = endOf(child);
    const raw = text.slice(s, e);
    codes.length = 0;
    collectInlineCode(child, codes);
    scanDependencies(raw, s, ann);
    scanFiles(raw, s, codes, ann);
    scanMarkers(raw, ann);
    if (ann.estimateMinutes === undefined) ann.estimateMinutes = parseEstimate(raw);
    // Only a code span that starts with `$ ` is a command: plan text is data, and prose with a
    // backticked phrase in it (`make sure nobody runs \`touch x\``) must never run.
    if (ann.command === undefined) ann.command = gateCommandOf(codes);
    if (first && child.type === 'paragraph') {
      titleRaw = raw;
      title = titleText(child as Paragraph, id !== undefined);
      scanLabels(raw, ann);
    } else {
      bodyParts.push(toString(child));
    }
    first = false;
  }
  const index = blocks.length;
  blocks.push({
    kind: 'item',
    start,
    end,
    parent,
    checkbox,
    optional,
    checkboxOffset,
    id,
    idStart,
    idEnd,
    idTrailingDot,
    title,
    titleRaw,
    body: bodyParts.join('\n'),
    ann,
  });
  for (const list of nested) visitList(list, text, index, blocks);
}

/** The checkbox and ID at the start of a list item (`- [ ] 2.3 …`), from its source. */
export function readItemHead(
  text: string,
  start: number,
  end: number,
): Pick<ItemBlock, 'checkbox' | 'optional' | 'checkboxOffset' | 'id' | 'idStart' | 'idEnd' | 'idTrailingDot'> {
  const head = ITEM_HEAD.exec(text.slice(start, Math.min(end, start + 120)));
  let checkbox: CheckboxState = 'none';
  let optional = false;
  let checkboxOffset = -1;
  let id: string | undefined;
  let idStart = start;
  let idEnd = start;
  let idTrailingDot = false;
  if (head && head[1] !== undefined) {
    const box = head[1];
    checkbox = box === ' ' ? 'unchecked' : box === '-' ? 'in-progress' : box === '~' ? 'queued' : 'checked';
    optional = head[2] === '*';
    checkboxOffset = start + head[0].indexOf('[') + 1;
    const rawId = head[4];
    if (rawId !== undefined) {
      idTrailingDot = rawId.endsWith('.');
      const bare = idTrailingDot ? rawId.slice(0, -1) : rawId;
      // `- [ ] 6 gaps addressed` is a count, not an ID: a bare number needs `.` or `:` after it.
      if (bare.includes('.') || bare.startsWith('T') || idTrailingDot || head[5] === ':') {
        id = bare;
        idStart = start + head[0].lastIndexOf(rawId);
        idEnd = idStart + bare.length;
      }
    }
  }
  return { checkbox, optional, checkboxOffset, id, idStart, idEnd, idTrailingDot };
}

function collectInlineCode(node: Nodes, out: InlineCode[]): void {
  if (node.type === 'inlineCode') {
    out.push({ value: node.value, start: startOf(node), end: endOf(node) });
    return;
  }
  if ('children' in node) for (const c of node.children) collectInlineCode(c as Nodes, out);
}

const BOX_PREFIX = /^\[[ xX~-]\]\*?\s*/;
const ID_PREFIX = /^(?:T\d+[a-z]?|\d+(?:\.\d+)*\.?):?(?=\s|$)\s*(?:[:\-–—]\s+)?/;

/** Annotations are shown as structure (dependencies, estimate, labels), so titles leave them out. */
const TITLE_ANNOTATIONS = /\s*\((?:depends|deps|est|estimate)\b[^()]*\)|\s*\[(?:SEQUENTIAL|PARALLEL)\]|\s*\(P\)/gi;
const LEADING_LABELS = /^(?:\[[A-Z][A-Za-z0-9_-]{0,40}\]\s*)+/;

function titleText(paragraph: Paragraph, hasId: boolean): string {
  return cleanTitle(toString(paragraph), hasId);
}

/** A task's title from the plain text of its first paragraph: without checkbox, ID and annotations. */
export function cleanTitle(text: string, hasId: boolean): string {
  const plain = text.replace(/\s+/g, ' ').trim().replace(BOX_PREFIX, '');
  if (!hasId) return plain;
  const title = plain.replace(ID_PREFIX, '').replace(TITLE_ANNOTATIONS, '').replace(LEADING_LABELS, '').trim();
  return title || plain;
}
