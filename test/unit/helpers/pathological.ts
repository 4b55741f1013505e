/**
 * Pathological markdown shapes of the kind CommonMark implementations are tested against (nested
 * emphasis, unmatched delimiters, nested brackets, deep containers, backtick runs, many definitions,
 * huge tables …), generated at any size so that no test checks in a multi-megabyte blob.
 * Shared by test/unit/pathological.test.ts and `npm run bench` (the worst shape's row).
 */

export interface Shape {
  name: string;
  /** The shape with about `bytes` characters; may span many lines (without blank lines unless said). */
  make: (bytes: number) => string;
}

/** `unit` repeated until the text holds about `bytes` characters. */
const rep = (unit: string, bytes: number): string => unit.repeat(Math.max(1, Math.ceil(bytes / unit.length)));

/** Lines of `line(i)` until about `bytes` characters. */
function lines(line: (i: number) => string, bytes: number): string {
  const out: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const l = line(i);
    out.push(l);
    size += l.length + 1;
  }
  return out.join('\n');
}

export const SHAPES: Shape[] = [
  { name: 'emphasis-bracket mix `*a_[`', make: (b) => rep('*a_[', b) },
  { name: 'nested emphasis `*a **a ***a`', make: (b) => { const n = Math.ceil(b / 8); return `${'*a '.repeat(n)}b${' a*'.repeat(n)}`; } },
  { name: 'unmatched openers `*a `', make: (b) => rep('*a _a ', b) },
  { name: 'unmatched closers `a* `', make: (b) => rep('a* a_ ', b) },
  { name: 'nested brackets `[[a]]`', make: (b) => { const n = Math.ceil(b / 2); return `${'['.repeat(n)}a${']'.repeat(n)}`; } },
  { name: 'unclosed brackets `[[[[`', make: (b) => rep('[', b) },
  { name: 'quotes in a link title', make: (b) => `[a](<b> "${rep('\'"', b)}` },
  { name: 'deep block quotes `> > >`', make: (b) => `${rep('> ', b)}a` },
  { name: 'deep lists `- - - -`', make: (b) => `${rep('- ', b)}a` },
  { name: 'backtick runs of mismatched lengths', make: (b) => { let s = ''; for (let k = 1; s.length < b; k++) s += `${'`'.repeat(k)}a`; return s; } },
  { name: 'unclosed links `[a](`', make: (b) => rep('[a](', b) },
  { name: 'link reference definitions', make: (b) => `${lines((i) => `[r${i}]: /u${i} "t${i}"`, b * 0.8)}\n\n${lines((i) => `[r${i}] [x${i}][r${i}]`, b * 0.2)}` },
  { name: 'table of many rows', make: (b) => `| a | b | c |\n|---|---|---|\n${lines((i) => `| ${i} | *x* | \`y\` |`, b)}` },
  { name: 'HTML openers `<a href="`', make: (b) => rep('<a href="', b) },
  { name: 'entity runs `&#1;&amp;`', make: (b) => rep('&#123;&amp;&x', b) },
  { name: 'alternating `_*_*`', make: (b) => rep('_*', b) },
  { name: 'image openers `![`', make: (b) => rep('![', b) },
  { name: 'unclosed autolinks `<http://`', make: (b) => rep('<http://a ', b) },
  { name: 'emphasis inside links `[*a](`', make: (b) => rep('[*a _b](', b) },
  { name: 'nested parentheses in a destination', make: (b) => { const n = Math.ceil(b / 2); return `[a](${'('.repeat(n)}b${')'.repeat(n)})`; } },
  { name: 'strikethrough runs `~~a~`', make: (b) => rep('~~a~', b) },
  { name: 'GFM autolink literals `www.a.`', make: (b) => rep('www.a.b_ ', b) },
  { name: 'footnote openers `[^a`', make: (b) => rep('[^a ', b) },
  { name: 'one long plain line', make: (b) => rep('plain words ', b) },
];

/**
 * A normal plan with `shape` inside the body of task 1.2 (indented under it, so it is the task's
 * body). Tasks 1.1 and 1.3 around it and Phase 2 after it are ordinary.
 */
export function planWithShape(shapeText: string): { text: string; shapeLine: number } {
  const head = [
    '# Plan: Pathological',
    '',
    '## Phase 1: Setup',
    '',
    '- [ ] 1.1 Prepare the schema (est: 30m) `src/schema.ts`',
    '- [ ] 1.2 Write the parser (depends: 1.1)',
    '  - Notes:',
    '',
  ];
  const shapeLine = head.length + 1;
  const body = shapeText
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  const tail = [
    '',
    '- [ ] 1.3 Document it (depends: 1.2) `docs/parser.md`',
    '',
    '## Phase 2: Ship',
    '',
    '- [ ] 2.1 Release (depends: 1.3)',
    '- [ ] 2.2 Announce',
    '',
  ];
  return { text: `${head.join('\n')}\n${body}\n${tail.join('\n')}`, shapeLine };
}
