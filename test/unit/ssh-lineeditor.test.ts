// The pty line editor: bytes in, echo and lines out. Pure, so every key is checked exactly.
import t from 'tap';
import { LineEditor, type EditorAction } from '../../src/cli/lineeditor.js';

const lines = (a: EditorAction[]) => a.filter((x) => x.type === 'line').map((x) => (x as { line: string }).line);
const echo = (a: EditorAction[]) => a.filter((x) => x.type === 'echo').map((x) => (x as { data: string }).data).join('');

t.test('typed characters are echoed and Enter gives the line with CRLF', async (t) => {
  const ed = new LineEditor();
  const a = ed.feed('xstat\r');
  t.same(lines(a), ['xstat']);
  t.equal(echo(a), 'xstat\r\n');
});

t.test('CR, LF and CRLF are one Enter each, also split across chunks', async (t) => {
  const ed = new LineEditor();
  t.same(lines(ed.feed('a\r\nb\nc\r')), ['a', 'b', 'c']);
  t.same(lines(ed.feed('\nd\r')), ['d'], 'LF after a CR from the previous chunk is not a second Enter');
  t.same(lines(ed.feed('\n\n')), [''], 'a second LF is an empty line');
  t.same(lines(ed.feed('\r\r')), ['', ''], 'two CRs are two Enters');
});

t.test('backspace, left/right, home/end, delete edit in the middle', async (t) => {
  const ed = new LineEditor();
  ed.feed('xstatu');
  let a = ed.feed('\x7f');
  t.equal(echo(a), '\x1b[1D\x1b[J');
  t.equal(ed.line, 'xstat');
  ed.feed('\x1b[D\x1b[D'); // cursor before "at"
  a = ed.feed('X');
  t.equal(ed.line, 'xstXat');
  t.equal(echo(a), 'Xat\x1b[J\x1b[2D');
  ed.feed('\x01'); // home
  t.equal(ed.cursorPosition, 0);
  ed.feed('\x1b[3~'); // delete under cursor
  t.equal(ed.line, 'stXat');
  ed.feed('\x05'); // end
  t.equal(ed.cursorPosition, 5);
  ed.feed('\x1bOH\x1b[C');
  t.equal(ed.cursorPosition, 1);
  t.same(lines(ed.feed('\r')), ['stXat']);
});

t.test('escape sequences split across chunks are reassembled', async (t) => {
  const ed = new LineEditor();
  ed.feed('ab\x1b');
  ed.feed('[');
  ed.feed('D');
  t.equal(ed.cursorPosition, 1);
  ed.feed('\x1b[1');
  ed.feed('~');
  t.equal(ed.cursorPosition, 0);
});

t.test('Ctrl-K, Ctrl-U and Ctrl-W kill', async (t) => {
  const ed = new LineEditor();
  ed.feed('xConfiguration Http Redirect');
  ed.feed('\x17');
  t.equal(ed.line, 'xConfiguration Http ');
  ed.feed('\x17\x17');
  t.equal(ed.line, '');
  ed.feed('hello world\x1b[D\x1b[D\x1b[D\x1b[D\x1b[D');
  ed.feed('\x0b');
  t.equal(ed.line, 'hello ');
  ed.feed('\x1b[D\x15');
  t.equal(ed.line, ' ');
  t.equal(ed.cursorPosition, 0);
});

t.test('history up/down and Ctrl-R reverse search', async (t) => {
  const ed = new LineEditor();
  ed.feed('xStatus SystemUnit\rxConfiguration Http\recho off\r');
  ed.feed('par');
  ed.feed('\x1b[A');
  t.equal(ed.line, 'echo off');
  ed.feed('\x1b[A\x1b[A');
  t.equal(ed.line, 'xStatus SystemUnit');
  const bell = ed.feed('\x1b[A');
  t.equal(echo(bell), '\x07', 'nothing older');
  ed.feed('\x1b[B\x1b[B\x1b[B');
  t.equal(ed.line, 'par', 'back to the line being typed');
  ed.feed('\x15');
  ed.feed('\x12sys');
  t.equal(ed.line, '', 'search does not touch the line until accepted');
  t.same(lines(ed.feed('\r')), ['xStatus SystemUnit']);
  ed.feed('\x12x');
  ed.feed('\x12');
  ed.feed('\x1b[C'); // accepts the match, then moves right (at end: nothing)
  t.equal(ed.line, 'xConfiguration Http');
  ed.feed('\x15\x12zzz');
  const abort = ed.feed('\x07');
  t.equal(ed.line, '');
  t.match(echo(abort), /^\r/);
});

t.test('Tab completes through the session and lists several candidates', async (t) => {
  const calls: string[] = [];
  const ed = new LineEditor({
    complete(before) {
      calls.push(before);
      if (before === 'xstat') return { candidates: ['xStatus'], replacement: 'xStatus ' };
      if (before === 'xStatus S') return { candidates: ['Security', 'SystemUnit'], replacement: 'xStatus S' };
      return { candidates: [], replacement: before };
    },
  });
  ed.feed('xstat');
  let a = ed.feed('\t');
  t.equal(ed.line, 'xStatus ');
  t.equal(echo(a), '\x1b[5DxStatus \x1b[J');
  a = ed.feed('S\t');
  t.equal(ed.line, 'xStatus S');
  t.equal(echo(a), 'S\r\nSecurity  SystemUnit\r\nxStatus S\x1b[J');
  a = ed.feed('zz\t');
  t.equal(echo(a), 'zz\x07');
  t.same(calls, ['xstat', 'xStatus S', 'xStatus Szz']);
});

t.test('? and ?? are typed like any text and asked with Enter, typed or pasted', async (t) => {
  const ed = new LineEditor();
  let a = ed.feed('xCommand Security ?');
  t.same(lines(a), [], 'the first ? does not submit');
  t.equal(echo(a), 'xCommand Security ?');
  a = ed.feed('?');
  t.same(lines(a), []);
  t.equal(ed.line, 'xCommand Security ??');
  t.same(lines(ed.feed('\r')), ['xCommand Security ??']);
  t.same(lines(ed.feed('xStatus ?\rxStatus ??\r')), ['xStatus ?', 'xStatus ??'], 'pasted');
  a = ed.feed('xConfiguration SystemUnit Name: "who?');
  t.same(lines(a), []);
  t.same(lines(ed.feed('"\r')), ['xConfiguration SystemUnit Name: "who?"']);
  ed.feed('ab\x1b[D?');
  t.equal(ed.line, 'a?b', 'not at the end: inserted');
});

t.test('Ctrl-C drops the line and reports an interrupt; Ctrl-D ends only on an empty line', async (t) => {
  const ed = new LineEditor();
  ed.feed('xsta');
  const a = ed.feed('\x03');
  t.same(a.map((x) => x.type), ['echo', 'interrupt']);
  t.equal(echo(a), '^C\r\n');
  t.equal(ed.line, '');
  ed.feed('ab\x01');
  t.same(ed.feed('\x04').map((x) => x.type), ['echo'], 'Ctrl-D deletes under the cursor');
  t.equal(ed.line, 'b');
  ed.feed('\x05\x15');
  t.same(ed.feed('\x04'), [{ type: 'eof' }]);
});

t.test('multi-byte characters are one cursor step each', async (t) => {
  const ed = new LineEditor();
  ed.feed('xConfiguration SystemUnit Name: "Zürich 🚀"');
  ed.feed('\x1b[D\x7f');
  t.equal(ed.line, 'xConfiguration SystemUnit Name: "Zürich "');
  t.same(lines(ed.feed('\r')), ['xConfiguration SystemUnit Name: "Zürich "']);
});

t.test('a pasted block gives every line in order, control bytes ignored', async (t) => {
  const ed = new LineEditor();
  const paste = 'xCommand Security Certificates CA Add\r\n-----BEGIN CERTIFICATE-----\r\nMIIB\x00x\r\n-----END CERTIFICATE-----\r\n.\r\n';
  t.same(lines(ed.feed(paste)), [
    'xCommand Security Certificates CA Add', '-----BEGIN CERTIFICATE-----', 'MIIBx', '-----END CERTIFICATE-----', '.',
  ]);
});

t.test('the line length is bounded', async (t) => {
  const ed = new LineEditor({ maxLine: 4 });
  const a = ed.feed('abcdef');
  t.equal(ed.line, 'abcd');
  t.match(echo(a), /\x07\x07$/);
});

t.test('redraw repaints the line with the cursor in place', async (t) => {
  const ed = new LineEditor();
  ed.feed('abc\x1b[D');
  t.equal(ed.redraw(), '\rabc\x1b[J\x1b[1D');
  t.equal(ed.clear(), '\r\x1b[J');
});

t.test('long lines wrap: moves cross rows, a full row moves the cursor on at once', async (t) => {
  const ed = new LineEditor({ cols: 10 });
  let a = ed.feed('123456789');
  t.equal(echo(a), '123456789');
  a = ed.feed('0');
  t.equal(echo(a), '0 \x1b[J\r', 'the tenth character fills the row: a soft wrap takes the cursor to the next row');
  a = ed.feed('abc');
  t.equal(echo(a), 'abc');
  a = ed.feed('\x01');
  t.equal(echo(a), '\x1b[1A\r', 'home: one row up, column 0');
  a = ed.feed('\x05');
  t.equal(echo(a), '\x1b[1B\r\x1b[3C', 'end: one row down, column 3');
  ed.feed('\x1b[D\x1b[D\x1b[D'); // at 10: start of row 2
  a = ed.feed('\x1b[D');
  t.equal(echo(a), '\x1b[1A\r\x1b[9C', 'left from column 0 goes to the end of the row above');
  a = ed.feed('\x7f');
  t.equal(ed.line, '12345678' + '0abc');
  t.equal(echo(a), '\x1b[1D0abc\x1b[J\x1b[1A\r\x1b[8C', 'backspace repaints the rest across the wrap, then returns to column 8 of row 0');
  t.equal(ed.cursorPosition, 8);
  t.equal(ed.clear(), '\r\x1b[J', 'row 0: clear from the start');
  ed.feed('\x05');
  t.equal(ed.clear(), '\x1b[1A\r\x1b[J', 'from row 1: one row up first');
  t.equal(ed.redraw(), '\r123456780abc\x1b[J');
  const enter = ed.feed('\r');
  t.equal(echo(enter), '\r\n');
  ed.setColumns(4);
  a = ed.feed('abcd');
  t.equal(echo(a), 'abcd \x1b[J\r');
  t.equal(echo(ed.feed('\r')), '', 'a line that filled its last row: the cursor is already on a fresh row');
});

// ---- Property: what the terminal shows is the line, and its cursor is ours ----

/** A small xterm model: autowrap with a pending wrap at the right margin, the sequences we emit. */
class Screen {
  rows: string[][] = [[]];
  /** Rows the text ran off by autowrap (soft): a reflowing terminal keeps them one line. */
  soft = new Set<number>();
  r = 0;
  c = 0;
  pending = false;
  constructor(public cols: number) {}
  /** Resizes as tmux does: soft-wrapped rows are re-cut to the new width, hard line ends stay. */
  resize(cols: number): void {
    const lines: { text: string[]; start: number }[] = [];
    let cursorAt: { line: number; offset: number } | undefined;
    for (let i = 0; i < this.rows.length; i++) {
      const row = [...this.row(i)];
      const joined = i > 0 && this.soft.has(i - 1);
      if (joined) {
        const cur = lines[lines.length - 1]!;
        while (cur.text.length < (i - cur.start) * this.cols) cur.text.push(' ');
        cur.text.push(...row);
      } else lines.push({ text: row, start: i });
      if (i === this.r) {
        const cur = lines[lines.length - 1]!;
        cursorAt = { line: lines.length - 1, offset: (i - cur.start) * this.cols + this.c };
      }
    }
    this.rows = [];
    this.soft = new Set();
    lines.forEach((l, n) => {
      const start = this.rows.length;
      const count = Math.max(1, Math.ceil(l.text.length / cols), n === cursorAt?.line ? Math.floor(cursorAt.offset / cols) + 1 : 0);
      for (let k = 0; k < count; k++) {
        this.rows.push(l.text.slice(k * cols, (k + 1) * cols));
        if (k < count - 1) this.soft.add(start + k);
      }
      if (n === cursorAt?.line) {
        this.r = start + Math.floor(cursorAt.offset / cols);
        this.c = cursorAt.offset % cols;
      }
    });
    this.cols = cols;
    this.pending = false;
  }
  private row(r: number): string[] {
    while (this.rows.length <= r) this.rows.push([]);
    return this.rows[r]!;
  }
  write(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '\x1b') {
        const m = /^\x1b\[(\d*)([A-DJKH])/.exec(s.slice(i));
        if (!m) throw new Error(`unexpected escape ${JSON.stringify(s.slice(i, i + 6))}`);
        i += m[0].length - 1;
        const n = m[1] ? Number(m[1]) : 1;
        this.pending = false;
        switch (m[2]) {
          case 'A': this.r = Math.max(0, this.r - n); break;
          case 'B': this.r += n; break;
          case 'C': this.c = Math.min(this.cols - 1, this.c + n); break;
          case 'D': this.c = Math.max(0, this.c - n); break;
          case 'K':
            if (this.c === 0) this.soft.delete(this.r - 1); // tmux: erasing from column 0 unwraps
            this.row(this.r).length = Math.min(this.row(this.r).length, this.c);
            break;
          case 'J':
            if (this.c === 0) this.soft.delete(this.r - 1);
            this.row(this.r).length = Math.min(this.row(this.r).length, this.c);
            this.rows.length = Math.min(this.rows.length, this.r + 1);
            break;
          case 'H': this.r = 0; this.c = 0; break;
        }
      } else if (ch === '\r') {
        this.c = 0;
        this.pending = false;
      } else if (ch === '\n') {
        this.soft.delete(this.r);
        this.r++;
        this.pending = false;
      } else if (ch === '\x07') {
        // bell
      } else {
        if (this.pending) {
          this.soft.add(this.r);
          this.r++;
          this.c = 0;
          this.pending = false;
        }
        const row = this.row(this.r);
        while (row.length < this.c) row.push(' ');
        row[this.c] = ch;
        if (this.c === this.cols - 1) this.pending = true;
        else this.c++;
      }
    }
  }
  /** Everything on screen from `from` on, rows padded to full width, trailing blanks dropped. */
  text(from = 0): string {
    return this.rows.slice(from).map((r) => [...r, ...Array(this.cols - r.length).fill(' ')].join('')).join('').replace(/ +$/, '');
  }
}

t.test('property: after any edit the screen shows exactly the line, cursor where the editor says', async (t) => {
  const fc = (await import('fast-check')).default;
  const key = fc.oneof(
    fc.constantFrom('a', 'b', 'x', 'Q', '7', '"', '-', '.'),
    fc.constantFrom('\x1b[D', '\x1b[C', '\x01', '\x05', '\x7f', '\x1b[3~', '\x0b', '\x15', '\x17', '\x02', '\x06', '\x1bOH', '\x1bOF'),
  );
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 12 }), fc.array(key, { maxLength: 80 }), (cols, keys) => {
      const ed = new LineEditor({ cols });
      const screen = new Screen(cols);
      for (const k of keys) {
        for (const a of ed.feed(k)) if (a.type === 'echo') screen.write(a.data);
        if (screen.text() !== ed.line.replace(/ +$/, '')) return false;
        if (screen.pending) return false;
        if (screen.r * cols + screen.c !== ed.cursorPosition) return false;
      }
      return true;
    }),
    { numRuns: 400 },
  );
  t.pass('400 random edit sequences at widths 3..12');
});

t.test('property: the same with Enter, history, Tab listings, Ctrl-C and Ctrl-R in the mix', async (t) => {
  const fc = (await import('fast-check')).default;
  const key = fc.oneof(
    fc.constantFrom('a', 'x', 'q', ' ', '"', '?'),
    fc.constantFrom('\x1b[D', '\x1b[C', '\x01', '\x05', '\x7f', '\x0b', '\x15', '\x17'),
    fc.constantFrom('\r', '\n', '\x1b[A', '\x1b[B', '\t', '\x03', '\x12', '\x07', '\x0c'),
  );
  const complete = (before: string) => {
    if (before.endsWith('x')) return { candidates: ['xyz'], replacement: before + 'yz ' };
    if (before.endsWith('q')) return { candidates: ['q1', 'q2'], replacement: before };
    return { candidates: [], replacement: before };
  };
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 12 }), fc.array(key, { maxLength: 100 }), (cols, keys) => {
      const ed = new LineEditor({ cols, complete });
      const screen = new Screen(cols);
      for (const k of keys) {
        for (const a of ed.feed(k)) if (a.type === 'echo') screen.write(a.data);
        if (screen.pending) return false;
        if (ed.searching) continue;
        const base = screen.r - Math.floor(ed.cursorPosition / cols);
        if (base < 0 || screen.c !== ed.cursorPosition % cols) return false;
        if (screen.text(base) !== ed.line.replace(/ +$/, '')) return false;
      }
      return true;
    }),
    { numRuns: 400 },
  );
  t.pass('400 random sessions at widths 3..12');
});

t.test('after the terminal shrinks (and reflows, as tmux does) the line is redrawn where it is', async (t) => {
  for (const typed of ['0123456789abc', '0123456789', '01234567890123456789x']) {
    const ed = new LineEditor({ cols: 10 });
    const screen = new Screen(10);
    const type = (k: string) => {
      for (const a of ed.feed(k)) if (a.type === 'echo') screen.write(a.data);
    };
    type(typed);
    screen.resize(6);
    ed.setColumns(6);
    type('\x01X'); // Home, then insert: the whole line is repainted from its start
    t.equal(screen.text(), ed.line, `${typed}: the screen shows the line`);
    t.equal(screen.r * 6 + screen.c, ed.cursorPosition, `${typed}: the cursor is where the editor thinks`);
    screen.write(ed.clear() + 'out\r\n' + ed.redraw());
    t.equal(screen.text(1), ed.line, `${typed}: output over the line, then the line again below it`);
  }
});

t.test('property: resizes between edits keep the screen and the editor aligned', async (t) => {
  const fc = (await import('fast-check')).default;
  const step = fc.oneof(
    fc.constantFrom('a', 'b', 'x', '7', '?'),
    fc.constantFrom('\x1b[D', '\x1b[C', '\x01', '\x05', '\x7f', '\x0b', '\x15', '\x17'),
    fc.integer({ min: 3, max: 12 }),
  );
  fc.assert(
    fc.property(fc.integer({ min: 3, max: 12 }), fc.array(step, { maxLength: 80 }), (cols, steps) => {
      const ed = new LineEditor({ cols });
      const screen = new Screen(cols);
      for (const s of steps) {
        if (typeof s === 'number') {
          // A resize never redraws by itself; the next edit must still land right.
          screen.resize(s);
          ed.setColumns(s);
          continue;
        }
        for (const a of ed.feed(s)) if (a.type === 'echo') screen.write(a.data);
        if (screen.text() !== ed.line.replace(/ +$/, '')) return false;
        if (screen.r * screen.cols + screen.c !== ed.cursorPosition) return false;
      }
      return true;
    }),
    { numRuns: 400 },
  );
  t.pass('400 random edit sequences with resizes');
});
