/**
 * A small terminal emulator for tests of full-screen programs: it keeps a grid of cells and applies
 * what a program writes to a pseudo-terminal, so that a test reads the screen as a user would see it
 * rather than a stream of redraws. It knows what Ink and ansi-escapes send: printable text with
 * xterm's deferred wrap at the right margin, CR/LF/BS, cursor moves (CUU/CUD/CUF/CUB/CNL/CPL/CHA/CUP),
 * erasing (ED, EL), and the alternate screen; colours and other modes are read and ignored.
 */
export class Screen {
  private grid: string[][] = [];
  private row = 0;
  private col = 0;
  /** Set after writing the last column: the next printable character goes to the next line (xterm's behaviour). */
  private wrapPending = false;
  private pending = '';

  constructor(
    private cols: number,
    private rows: number,
  ) {
    this.clearAll();
  }

  private blankLine(): string[] {
    return Array.from({ length: this.cols }, () => ' ');
  }

  private clearAll(): void {
    this.grid = Array.from({ length: this.rows }, () => this.blankLine());
  }

  resize(cols: number, rows: number): void {
    const old = this.grid;
    this.cols = cols;
    this.rows = rows;
    this.grid = Array.from({ length: rows }, (_, r) => {
      const line = this.blankLine();
      (old[r] ?? []).slice(0, cols).forEach((c, i) => (line[i] = c));
      return line;
    });
    this.row = Math.min(this.row, rows - 1);
    this.col = Math.min(this.col, cols - 1);
    this.wrapPending = false;
  }

  write(data: string): void {
    const text = this.pending + data;
    this.pending = '';
    let i = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === '\x1b') {
        const consumed = this.escape(text, i);
        if (consumed === 0) {
          // An escape sequence cut in two by the read: keep it for the next write.
          this.pending = text.slice(i);
          return;
        }
        i += consumed;
        continue;
      }
      i += ch.length;
      if (ch === '\r') this.moveTo(this.row, 0);
      else if (ch === '\n') this.lineFeed();
      else if (ch === '\b') this.moveTo(this.row, Math.max(0, this.col - 1));
      else if (ch === '\x07' || ch < ' ') continue;
      else this.put(ch);
    }
  }

  private put(ch: string): void {
    if (this.wrapPending) {
      this.wrapPending = false;
      this.col = 0;
      this.lineFeed();
    }
    this.grid[this.row]![this.col] = ch;
    if (this.col === this.cols - 1) this.wrapPending = true;
    else this.col++;
  }

  private lineFeed(): void {
    this.wrapPending = false;
    if (this.row === this.rows - 1) {
      this.grid.shift();
      this.grid.push(this.blankLine());
    } else {
      this.row++;
    }
  }

  private moveTo(row: number, col: number): void {
    this.row = Math.max(0, Math.min(this.rows - 1, row));
    this.col = Math.max(0, Math.min(this.cols - 1, col));
    this.wrapPending = false;
  }

  /** Applies the escape sequence at `at`; returns its length, or 0 when it is not complete yet. */
  private escape(text: string, at: number): number {
    const next = text[at + 1];
    if (next === undefined) return 0;
    if (next === '[') {
      const m = /^\x1b\[([0-?]*)([ -/]*)([@-~])/.exec(text.slice(at));
      if (!m) return /^\x1b\[[0-?]*[ -/]*$/.test(text.slice(at)) ? 0 : 2;
      this.csi(m[1]!, m[3]!);
      return m[0].length;
    }
    if (next === ']') {
      // OSC (titles, hyperlinks): up to BEL or ST.
      const end = text.slice(at).search(/\x07|\x1b\\/);
      if (end < 0) return 0;
      return end + (text[at + end] === '\x07' ? 1 : 2);
    }
    // ESC 7 / ESC 8 and other two-byte sequences: nothing a test reads depends on them.
    return 2;
  }

  private csi(params: string, final: string): void {
    const privateMode = params.startsWith('?');
    const nums = params.replace(/^\?/, '').split(';').map((p) => (p === '' ? undefined : Number(p)));
    const n = nums[0] ?? 1;
    switch (final) {
      case 'A':
        return this.moveTo(this.row - n, this.col);
      case 'B':
        return this.moveTo(this.row + n, this.col);
      case 'C':
        return this.moveTo(this.row, this.col + n);
      case 'D':
        return this.moveTo(this.row, this.col - n);
      case 'E':
        return this.moveTo(this.row + n, 0);
      case 'F':
        return this.moveTo(this.row - n, 0);
      case 'G':
        return this.moveTo(this.row, n - 1);
      case 'H':
      case 'f':
        return this.moveTo((nums[0] ?? 1) - 1, (nums[1] ?? 1) - 1);
      case 'J': {
        const mode = nums[0] ?? 0;
        if (mode === 2 || mode === 3) return this.clearAll();
        for (let r = 0; r < this.rows; r++) {
          for (let c = 0; c < this.cols; c++) {
            const after = r > this.row || (r === this.row && c >= this.col);
            if ((mode === 0 && after) || (mode === 1 && !after)) this.grid[r]![c] = ' ';
          }
        }
        return;
      }
      case 'K': {
        const mode = nums[0] ?? 0;
        const line = this.grid[this.row]!;
        for (let c = 0; c < this.cols; c++) {
          if (mode === 2 || (mode === 0 && c >= this.col) || (mode === 1 && c <= this.col)) line[c] = ' ';
        }
        return;
      }
      case 'h':
      case 'l':
        // The alternate screen starts blank (and the main one is not kept: tests read only the program's screen).
        if (privateMode && (nums[0] === 1049 || nums[0] === 47)) {
          this.clearAll();
          this.moveTo(0, 0);
        }
        return;
      default:
        // SGR colours, scroll regions and the rest: not part of what a test reads.
        return;
    }
  }

  /** The screen's lines, right-trimmed. */
  lines(): string[] {
    return this.grid.map((l) => l.join('').trimEnd());
  }

  text(): string {
    return this.lines().join('\n');
  }
}
