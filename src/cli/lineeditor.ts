// Interactive line editing for pty sessions. Pure: bytes typed in → echo bytes and completed lines
// out, in order; no sockets, no timers. The caller writes `echo` actions to the terminal (unless
// echo is off) and hands `line` actions to the session; `interrupt` is Ctrl-C, `eof` is Ctrl-D on
// an empty line. There is no prompt (Cisco's shell has none), so the line starts at column 0.
//
// Keys: printable text; Backspace; Delete; Left/Right (and Ctrl-B/F); Home/End (and Ctrl-A/E);
// Ctrl-K/U/W kill to end / to start / the word before the cursor; Up/Down (Ctrl-P/N) history;
// Ctrl-R reverse search; Tab completion through `complete`; `?` typed at the end of a line
// (outside quotes) submits the line at once as a help request; Ctrl-C drops the line; Ctrl-L
// redraws. CR, LF and CRLF each count as one Enter, also when CR and LF arrive in two chunks.

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
}

const ESC = '\x1b';
const BELL = '\x07';
const CRLF = '\r\n';
const left = (n: number) => (n > 0 ? `${ESC}[${n}D` : '');
const right = (n: number) => (n > 0 ? `${ESC}[${n}C` : '');
const CLEAR_EOL = `${ESC}[K`;

/** True when the text has an unclosed double quote (`\"` and `\\` escape inside quotes). */
function insideQuotes(text: string): boolean {
  let open = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (open && c === '\\') i++;
    else if (c === '"') open = !open;
  }
  return open;
}

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

  constructor(private readonly opts: LineEditorOptions = {}) {
    this.historySize = opts.historySize ?? 200;
    this.maxLine = opts.maxLine ?? 8192;
  }

  /** The line being typed (for tests and redraws). */
  get line(): string {
    return this.buf.join('');
  }

  get cursorPosition(): number {
    return this.cursor;
  }

  /** The bytes that repaint the current line at column 0, e.g. after output interrupted it. */
  redraw(): string {
    return '\r' + this.line + CLEAR_EOL + left(this.buf.length - this.cursor);
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
        echo(left(this.cursor));
        this.cursor = 0;
        return;
      case '\x05': case `${ESC}[F`: case `${ESC}OF`: case `${ESC}[4~`: case `${ESC}[8~`:
        echo(right(this.buf.length - this.cursor));
        this.cursor = this.buf.length;
        return;
      case '\x02': case `${ESC}[D`: case `${ESC}OD`:
        if (this.cursor > 0) {
          this.cursor--;
          echo(left(1));
        }
        return;
      case '\x06': case `${ESC}[C`: case `${ESC}OC`:
        if (this.cursor < this.buf.length) {
          this.cursor++;
          echo(right(1));
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
        echo(CLEAR_EOL);
        return;
      case '\x15': {
        const n = this.cursor;
        this.buf.splice(0, n);
        this.cursor = 0;
        echo(left(n) + this.tail() + CLEAR_EOL + left(this.buf.length));
        return;
      }
      case '\x17': {
        let start = this.cursor;
        while (start > 0 && this.buf[start - 1] === ' ') start--;
        while (start > 0 && this.buf[start - 1] !== ' ') start--;
        const n = this.cursor - start;
        this.buf.splice(start, n);
        this.cursor = start;
        echo(left(n) + this.tail() + CLEAR_EOL + left(this.buf.length - this.cursor));
        return;
      }
      case '\x03':
        this.buf = [];
        this.cursor = 0;
        this.histPos = this.history.length;
        echo('^C' + CRLF);
        out.push({ type: 'interrupt' });
        return;
      case '\x0c':
        echo(`${ESC}[H${ESC}[2J` + this.line + left(this.buf.length - this.cursor));
        return;
      case '\x12':
        this.search = { query: '', match: -1, original: [...this.buf] };
        echo(this.searchPrompt());
        return;
      case '\t':
        return this.tab(echo);
      case '?':
        if (this.cursor === this.buf.length && !insideQuotes(this.line)) {
          this.buf.push('?');
          this.cursor++;
          echo('?');
          return this.enter(out, echo);
        }
        return this.insert(k, echo);
      default:
        if (k.length > 1 && k.startsWith(ESC)) return; // an escape sequence we do not use
        if (k.length === 1 && (k.charCodeAt(0) < 0x20 || k === '\x7f')) return; // other control keys
        if (k.length === 1 && k.charCodeAt(0) >= 0x80 && k.charCodeAt(0) < 0xa0) return; // C1 controls
        return this.insert(k, echo);
    }
  }

  private tail(): string {
    return this.buf.slice(this.cursor).join('');
  }

  private insert(c: string, echo: (s: string) => void): void {
    if (this.buf.length >= this.maxLine) {
      echo(BELL);
      return;
    }
    this.buf.splice(this.cursor, 0, c);
    this.cursor++;
    const rest = this.tail();
    echo(c + rest + left([...rest].length));
  }

  private backspace(echo: (s: string) => void): void {
    if (this.cursor === 0) return;
    this.cursor--;
    this.buf.splice(this.cursor, 1);
    const rest = this.tail();
    echo('\b' + rest + ' ' + left(this.buf.length - this.cursor + 1));
  }

  private deleteAt(echo: (s: string) => void): void {
    if (this.cursor >= this.buf.length) return;
    this.buf.splice(this.cursor, 1);
    const rest = this.tail();
    echo(rest + ' ' + left(this.buf.length - this.cursor + 1));
  }

  /** Replaces the whole line on screen and in the buffer; the cursor goes to the end. */
  private replaceLine(next: string[], echo: (s: string) => void): void {
    echo(left(this.cursor) + next.join('') + CLEAR_EOL);
    this.buf = next;
    this.cursor = next.length;
  }

  private enter(out: EditorAction[], echo: (s: string) => void): void {
    const line = this.line;
    echo(right(this.buf.length - this.cursor) + CRLF);
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
      echo(left(this.cursor) + replacement + after.join('') + CLEAR_EOL + left(after.length));
      this.buf = [...rep, ...after];
      this.cursor = rep.length;
    }
    if (candidates.length > 1) {
      echo(right(after.length) + CRLF + candidates.join('  ') + CRLF + this.line + left(after.length));
    } else if (candidates.length === 0 && replacement === before) {
      echo(BELL);
    }
  }

  private searchPrompt(): string {
    const match = this.search!.match >= 0 ? this.history[this.search!.match]! : '';
    return `\r(reverse-i-search)'${this.search!.query}': ${match}${CLEAR_EOL}`;
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
      this.search = undefined;
      this.buf = s.original;
      this.cursor = this.buf.length;
      echo('\r' + this.line + CLEAR_EOL);
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
    this.search = undefined;
    this.buf = s.match >= 0 ? [...this.history[s.match]!] : s.original;
    this.cursor = this.buf.length;
    this.histPos = this.history.length;
    echo('\r' + this.line + CLEAR_EOL);
    void out;
    return false;
  }
}
