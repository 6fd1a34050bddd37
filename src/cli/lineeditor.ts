// Interactive line editing for pty sessions. Pure: bytes typed in → echo bytes and completed lines
// out, in order; no sockets, no timers. The caller writes `echo` actions to the terminal (unless
// echo is off) and hands `line` actions to the session; `interrupt` is Ctrl-C, `eof` is Ctrl-D on
// an empty line. There is no prompt (Cisco's shell has none), so the line starts at column 0.
//
// Keys: printable text; Backspace; Delete; Left/Right (and Ctrl-B/F); Home/End (and Ctrl-A/E);
// Ctrl-K/U/W kill to end / to start / the word before the cursor; Up/Down (Ctrl-P/N) history;
// Ctrl-R reverse search; Tab completion through `complete`; Ctrl-C drops the line; Ctrl-L
// redraws. CR, LF and CRLF each count as one Enter, also when CR and LF arrive in two chunks.
// `?` is text like any other: `xStatus ?` and `xStatus ??` are asked with Enter, whether typed
// or pasted (submitting at the first `?` made `??` impossible to type).
//
// Lines longer than the terminal is wide wrap: cursor moves are computed in rows and columns of
// `cols` (from the pty request and window changes), and a line ending exactly at the right margin
// is moved to the next row at once, so the terminal's cursor and ours always agree. That move is
// a soft wrap, as readline does it (a space that makes the terminal wrap, then CR), never CRLF: a
// terminal that reflows on resize (tmux, VTE, kitty) keeps the wrapped rows one line, whereas a
// hard line end would leave the redraw one row off after the terminal shrinks. For the same reason
// nothing is erased from column 0 of a continuation row (tmux then forgets the row above wrapped):
// there a space is written and the erase starts at column 1. Every character counts as one column.

export type EditorAction =
  | { type: 'echo'; data: string }
  | { type: 'line'; line: string }
  | { type: 'interrupt' }
  | { type: 'eof' };

export interface Completion {
  /** What could follow; shown below the line when there is more than one. */
  candidates: string[];
  /** The text before the cursor, completed as far as it is unambiguous. */
  replacement: string;
}

export interface LineEditorOptions {
  complete?: (lineBeforeCursor: string) => Completion;
  /** Lines kept for Up/Down and Ctrl-R. */
  historySize?: number;
  /** Longest line accepted; further typing is ignored (bell). */
  maxLine?: number;
  /** Terminal width in columns (default 80). */
  cols?: number;
}

const ESC = '\x1b';
const BELL = '\x07';
const CRLF = '\r\n';
const left = (n: number) => (n > 0 ? `${ESC}[${n}D` : '');
const right = (n: number) => (n > 0 ? `${ESC}[${n}C` : '');
/** Clears from the cursor to the end of the screen: a wrapped line may span several rows. */
const CLEAR = `${ESC}[J`;
/**
 * At column 0 of a continuation row, or in the pending-wrap state at the right margin (the space
 * then wraps softly): blanks column 0, erases from column 1 on, and returns to column 0.
 */
const WRAP_CLEAR = ` ${CLEAR}\r`;

export class LineEditor {
  /** The line as code points, so the cursor never splits a character. */
  private buf: string[] = [];
  private cursor = 0;
  private readonly history: string[] = [];
  /** Position while browsing history; history.length means "the line being typed". */
  private histPos = 0;
  private saved: string[] = [];
  private pending = '';
  private lastWasCR = false;
  private search: { query: string; match: number; original: string[] } | undefined;
  private readonly historySize: number;
  private readonly maxLine: number;
  private cols: number;
  /** Length of the reverse-search prompt on screen (to move back over its rows). */
  private searchShown = 0;

  constructor(private readonly opts: LineEditorOptions = {}) {
    this.historySize = opts.historySize ?? 200;
    this.maxLine = opts.maxLine ?? 8192;
    this.cols = Math.max(1, opts.cols ?? 80);
  }

  /** The terminal was resized. */
  setColumns(cols: number): void {
    if (Number.isInteger(cols) && cols > 0) this.cols = cols;
  }

  /** Cursor motion from one line position to another, across rows when the line wraps. */
  private move(from: number, to: number): string {
    if (from === to) return '';
    const w = this.cols;
    const fr = Math.floor(from / w);
    const tr = Math.floor(to / w);
    const fc = from % w;
    const tc = to % w;
    if (fr === tr) return tc < fc ? left(fc - tc) : right(tc - fc);
    return (tr < fr ? `${ESC}[${fr - tr}A` : `${ESC}[${tr - fr}B`) + '\r' + right(tc);
  }

  /** From line position `from` to the start of the line's first row. */
  private toLineStart(from: number): string {
    const rows = Math.floor(from / this.cols);
    return (rows > 0 ? `${ESC}[${rows}A` : '') + '\r';
  }

  /** After text ending at `end` was written: at the right margin, wrap to the next row now. */
  private wrapAt(end: number): string {
    return this.atRowStart(end) ? WRAP_CLEAR : '';
  }

  /** True when line position `at` is column 0 of a continuation row. */
  private atRowStart(at: number): boolean {
    return at > 0 && at % this.cols === 0;
  }

  /** Erases from line position `at` (where the cursor is, or is pending) to the end of the screen. */
  private clearFrom(at: number): string {
    return this.atRowStart(at) ? WRAP_CLEAR : CLEAR;
  }

  /**
   * With the terminal cursor at line position `from`, writes the line from there on, clears what
   * is left of an older, longer line, and puts the cursor at `this.cursor`.
   */
  private paintFrom(from: number): string {
    const len = this.buf.length;
    // Text ending at the margin leaves the cursor pending there; clearFrom wraps it on softly.
    return this.buf.slice(from).join('') + this.clearFrom(len) + this.move(len, this.cursor);
  }

  /** Clears the line being typed from the screen; the cursor ends at the start of its first row. */
  clear(): string {
    return this.toLineStart(this.cursor) + CLEAR;
  }

  /** The line being typed (for tests and redraws). */
  get line(): string {
    return this.buf.join('');
  }

  get cursorPosition(): number {
    return this.cursor;
  }

  /** True while Ctrl-R reverse search shows its prompt instead of the line. */
  get searching(): boolean {
    return this.search !== undefined;
  }

  /** The bytes that repaint the current line at column 0, e.g. after output interrupted it. */
  redraw(): string {
    return '\r' + this.paintFrom(0);
  }

  feed(data: string): EditorAction[] {
    const out: EditorAction[] = [];
    const echo = (s: string) => {
      if (!s) return;
      const last = out[out.length - 1];
      if (last?.type === 'echo') last.data += s;
      else out.push({ type: 'echo', data: s });
    };
    const input = this.pending + data;
    this.pending = '';
    const chars = [...input];
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!;
      const wasCR = this.lastWasCR;
      this.lastWasCR = false;
      if (c === ESC) {
        const seq = this.escapeSequence(chars, i);
        if (seq === undefined) {
          // Incomplete: keep it for the next chunk.
          this.pending = chars.slice(i).join('');
          break;
        }
        i += seq.length - 1;
        this.key(seq, out, echo);
        continue;
      }
      if (c === '\n' && wasCR) continue;
      if (c === '\r') this.lastWasCR = true;
      this.key(c, out, echo);
    }
    return out;
  }

  /** The whole escape sequence starting at chars[i], or undefined when it is cut off. */
  private escapeSequence(chars: string[], i: number): string | undefined {
    const next = chars[i + 1];
    if (next === undefined) return undefined;
    if (next === '[') {
      for (let j = i + 2; j < chars.length && j < i + 32; j++) {
        const code = chars[j]!.charCodeAt(0);
        if (code >= 0x40 && code <= 0x7e) return chars.slice(i, j + 1).join('');
      }
      return chars.length - i >= 32 ? chars.slice(i, i + 2).join('') : undefined;
    }
    if (next === 'O') {
      const f = chars[i + 2];
      return f === undefined ? undefined : ESC + 'O' + f;
    }
    return ESC + next;
  }

  private key(k: string, out: EditorAction[], echo: (s: string) => void): void {
    if (this.search) {
      if (this.searchKey(k, out, echo)) return;
    }
    switch (k) {
      case '\r':
      case '\n':
        return this.enter(out, echo);
      case '\x7f':
      case '\b':
        return this.backspace(echo);
      case '\x01': case `${ESC}[H`: case `${ESC}OH`: case `${ESC}[1~`: case `${ESC}[7~`:
        echo(this.move(this.cursor, 0));
        this.cursor = 0;
        return;
      case '\x05': case `${ESC}[F`: case `${ESC}OF`: case `${ESC}[4~`: case `${ESC}[8~`:
        echo(this.move(this.cursor, this.buf.length));
        this.cursor = this.buf.length;
        return;
      case '\x02': case `${ESC}[D`: case `${ESC}OD`:
        if (this.cursor > 0) {
          echo(this.move(this.cursor, this.cursor - 1));
          this.cursor--;
        }
        return;
      case '\x06': case `${ESC}[C`: case `${ESC}OC`:
        if (this.cursor < this.buf.length) {
          echo(this.move(this.cursor, this.cursor + 1));
          this.cursor++;
        }
        return;
      case '\x10': case `${ESC}[A`: case `${ESC}OA`:
        return this.historyMove(-1, echo);
      case '\x0e': case `${ESC}[B`: case `${ESC}OB`:
        return this.historyMove(1, echo);
      case `${ESC}[3~`:
        return this.deleteAt(echo);
      case '\x04':
        if (this.buf.length === 0) {
          out.push({ type: 'eof' });
          return;
        }
        return this.deleteAt(echo);
      case '\x0b':
        this.buf.splice(this.cursor);
        echo(this.clearFrom(this.cursor));
        return;
      case '\x15': {
        const n = this.cursor;
        this.buf.splice(0, n);
        this.cursor = 0;
        echo(this.move(n, 0) + this.paintFrom(0));
        return;
      }
      case '\x17': {
        let start = this.cursor;
        while (start > 0 && this.buf[start - 1] === ' ') start--;
        while (start > 0 && this.buf[start - 1] !== ' ') start--;
        const from = this.cursor;
        this.buf.splice(start, from - start);
        this.cursor = start;
        echo(this.move(from, start) + this.paintFrom(start));
        return;
      }
      case '\x03':
        echo(this.move(this.cursor, this.buf.length) + '^C' + CRLF);
        this.buf = [];
        this.cursor = 0;
        this.histPos = this.history.length;
        out.push({ type: 'interrupt' });
        return;
      case '\x0c':
        echo(`${ESC}[H${ESC}[2J` + this.paintFrom(0));
        return;
      case '\x12':
        echo(this.toLineStart(this.cursor));
        this.search = { query: '', match: -1, original: [...this.buf] };
        this.searchShown = 0;
        echo(this.searchPrompt());
        return;
      case '\t':
        return this.tab(echo);
      default:
        if (k.length > 1 && k.startsWith(ESC)) return; // an escape sequence we do not use
        if (k.length === 1 && (k.charCodeAt(0) < 0x20 || k === '\x7f')) return; // other control keys
        if (k.length === 1 && k.charCodeAt(0) >= 0x80 && k.charCodeAt(0) < 0xa0) return; // C1 controls
        return this.insert(k, echo);
    }
  }

  private insert(c: string, echo: (s: string) => void): void {
    if (this.buf.length >= this.maxLine) {
      echo(BELL);
      return;
    }
    const at = this.cursor;
    this.buf.splice(at, 0, c);
    this.cursor++;
    if (at === this.buf.length - 1) echo(c + this.wrapAt(this.cursor)); // typing at the end: the common case
    else echo(this.paintFrom(at));
  }

  private backspace(echo: (s: string) => void): void {
    if (this.cursor === 0) return;
    const from = this.cursor;
    this.cursor--;
    this.buf.splice(this.cursor, 1);
    echo(this.move(from, this.cursor) + this.paintFrom(this.cursor));
  }

  private deleteAt(echo: (s: string) => void): void {
    if (this.cursor >= this.buf.length) return;
    this.buf.splice(this.cursor, 1);
    echo(this.paintFrom(this.cursor));
  }

  /** Replaces the whole line on screen and in the buffer; the cursor goes to the end. */
  private replaceLine(next: string[], echo: (s: string) => void): void {
    const from = this.cursor;
    this.buf = next;
    this.cursor = next.length;
    echo(this.move(from, 0) + this.paintFrom(0));
  }

  private enter(out: EditorAction[], echo: (s: string) => void): void {
    const line = this.line;
    const len = this.buf.length;
    // At the end of a line that filled its last row the cursor is already on a fresh row.
    echo(this.move(this.cursor, len) + (len > 0 && len % this.cols === 0 ? '' : CRLF));
    this.buf = [];
    this.cursor = 0;
    if (line.trim() !== '' && this.history[this.history.length - 1] !== line) {
      this.history.push(line);
      if (this.history.length > this.historySize) this.history.shift();
    }
    this.histPos = this.history.length;
    out.push({ type: 'line', line });
  }

  private historyMove(delta: number, echo: (s: string) => void): void {
    const next = this.histPos + delta;
    if (next < 0 || next > this.history.length) {
      echo(BELL);
      return;
    }
    if (this.histPos === this.history.length) this.saved = [...this.buf];
    this.histPos = next;
    this.replaceLine(next === this.history.length ? [...this.saved] : [...this.history[next]!], echo);
  }

  private tab(echo: (s: string) => void): void {
    if (!this.opts.complete) {
      echo(BELL);
      return;
    }
    const before = this.buf.slice(0, this.cursor).join('');
    const { candidates, replacement } = this.opts.complete(before);
    const after = this.buf.slice(this.cursor);
    const rep = [...replacement];
    if (replacement !== before) {
      // Rewrite from the start of the line: the replacement may change case of earlier words.
      const from = this.cursor;
      this.buf = [...rep, ...after];
      this.cursor = rep.length;
      echo(this.move(from, 0) + this.paintFrom(0));
    }
    if (candidates.length > 1) {
      const len = this.buf.length;
      echo(this.move(this.cursor, len) + (len > 0 && len % this.cols === 0 ? '' : CRLF) + candidates.join('  ') + CRLF + this.paintFrom(0));
    } else if (candidates.length === 0 && replacement === before) {
      echo(BELL);
    }
  }

  /** Repaints the search prompt over the previous one (which may have wrapped). */
  private searchPrompt(): string {
    const match = this.search!.match >= 0 ? this.history[this.search!.match]! : '';
    const text = `(reverse-i-search)'${this.search!.query}': ${match}`;
    const start = this.toLineStart(this.searchShown);
    this.searchShown = [...text].length;
    return start + text + this.clearFrom(this.searchShown);
  }

  /** Leaves search mode: the prompt is replaced by the line, cursor at its end. */
  private endSearch(line: string[]): string {
    const start = this.toLineStart(this.searchShown);
    this.search = undefined;
    this.searchShown = 0;
    this.buf = line;
    this.cursor = line.length;
    return start + this.paintFrom(0);
  }

  /** Finds the newest history line at or before `from` containing the query. */
  private searchFrom(from: number): number {
    const q = this.search!.query.toLowerCase();
    for (let i = Math.min(from, this.history.length - 1); i >= 0; i--) {
      if (this.history[i]!.toLowerCase().includes(q)) return i;
    }
    return -1;
  }

  /** Handles a key in search mode; false when the key ends the search and must be processed normally. */
  private searchKey(k: string, out: EditorAction[], echo: (s: string) => void): boolean {
    const s = this.search!;
    if (k === '\x12') {
      const m = this.searchFrom((s.match >= 0 ? s.match : this.history.length) - 1);
      if (m >= 0) s.match = m;
      else echo(BELL);
      echo(this.searchPrompt());
      return true;
    }
    if (k === '\x07' || k === '\x03') {
      // Abort: back to the line as it was.
      echo(this.endSearch(s.original));
      return k === '\x07';
    }
    if (k === '\x7f' || k === '\b') {
      s.query = [...s.query].slice(0, -1).join('');
      s.match = s.query ? this.searchFrom(this.history.length - 1) : -1;
      echo(this.searchPrompt());
      return true;
    }
    const printable = k.length === 1 && k.charCodeAt(0) >= 0x20 && k !== '\x7f';
    if (printable || (k.length > 1 && !k.startsWith(ESC))) {
      s.query += k;
      const m = this.searchFrom(s.match >= 0 ? s.match : this.history.length - 1);
      if (m >= 0) s.match = m;
      else echo(BELL);
      echo(this.searchPrompt());
      return true;
    }
    // Any other key accepts the match as the line being edited, then acts normally.
    echo(this.endSearch(s.match >= 0 ? [...this.history[s.match]!] : s.original));
    this.histPos = this.history.length;
    void out;
    return false;
  }
}
