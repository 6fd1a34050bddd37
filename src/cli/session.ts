// One admin session, whatever carries it (pty shell, plain shell, exec, a test). Input is taken
// as lines (CR, LF and CRLF each end one), or as jsxapi frames (`{N} ` then N bytes); requests
// run one at a time in arrival order; each reply is written in one chunk; feedback waits for the
// reply in progress. No sockets here: the SSH layer (or a test) supplies a SessionIO.
import type { Actor } from '../services/interfaces.js';
import type { Bus, BusRequest } from '../bus/bus.js';
import { errorReply, isFailure, type Reply } from '../bus/reply.js';
import { CommandError, Internal, InvalidPath } from '../errors.js';
import type { Feedback, Registration, Subscriber } from '../bus/feedback.js';
import { MAX_REGISTRATIONS } from '../bus/feedback.js';
import { resultName } from '../bus/registry.js';
import { parseLine, lineTooLong, MAX_LINE, type OutputMode, type Request } from './parse.js';
import { help } from './help.js';
import { excerpt } from './tokenize.js';
import { complete, type Completion } from './complete.js';
import { renderTerminal, renderFeedbackTerminal } from './render/terminal.js';
import * as xml from './render/xml.js';
import * as json from './render/json.js';

export type SessionMode = 'interactive' | 'shell' | 'exec';

export interface SessionIO {
  /** One call per reply or feedback chunk, line ends already right for the mode. */
  write(data: string): void;
  /**
   * Flow control: `true` when unprocessed input passed INPUT_HIGH (stop reading the client),
   * `false` once it fell below INPUT_LOW again.
   */
  flow?(stop: boolean): void;
}

export interface SessionOptions {
  bus: Bus;
  actor: Actor;
  mode: SessionMode;
  io: SessionIO;
  /** Lines naming the product, version and release date. */
  banner: string;
  /** File names in the upload area, for completion of File:/CertPath: values. */
  files?: () => string[];
}

/** Largest jsxapi frame accepted. */
export const MAX_FRAME = 4 * 1024 * 1024;
/** Input waiting to be processed, beyond which the session is closed (a flood, not a script). */
export const MAX_BACKLOG = 16 * 1024 * 1024;
/** Unprocessed input at which the session asks its carrier to stop reading, and to read again. */
export const INPUT_HIGH = 256 * 1024;
export const INPUT_LOW = 64 * 1024;
/** A line with no end after this many bytes is over MAX_LINE characters whatever its encoding. */
const OVERLONG_BYTES = MAX_LINE * 4;
/** Lines cut from the input ahead of processing; the rest waits as bytes. */
const SPLIT_AHEAD = 64;
/** Longest stretch of requests run before the event loop gets a turn (other sessions, TLS). */
const SLICE_MS = 2;

type Work = { kind: 'line'; text: string } | { kind: 'frame'; text: string } | { kind: 'overlong' } | { kind: 'exec-end' };

interface PendingPayload {
  req: Extract<Request, { kind: 'command' }>;
  resultId?: string;
  lines: string[];
  bytes: number;
  overflow: boolean;
  overlong?: boolean;
}

/** Index of the first CR or LF: one pass (two indexOf calls would rescan a flood of one kind). */
function lineEnd(buf: Buffer): number {
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b === 0x0a || b === 0x0d) return i;
  }
  return -1;
}

export class CliSession implements Subscriber {
  readonly registrations: Registration[] = [];
  readonly eol: string;
  readonly closed: Promise<number>;
  private resolveClosed!: (code: number) => void;
  private echoOn = true;
  private outputMode: OutputMode = 'terminal';
  private failed = false;
  private ended = false;
  private inputDone = false;
  private busy = false;
  private queue: Work[] = [];
  private inbuf: Buffer = Buffer.alloc(0);
  private swallowLF = false;
  /** After an over-long line was answered: input is dropped up to the next line end. */
  private discarding = false;
  /** Characters of queued lines and frames (with inbuf: the backlog for flow control). */
  private queuedChars = 0;
  private inputStopped = false;
  private sliceStart = 0;
  private yielding = false;
  private frameBytes = -1;
  private payload: PendingPayload | undefined;
  private heldFeedback: Feedback[] = [];
  private removeSubscriber: () => void;

  constructor(private readonly opts: SessionOptions) {
    this.eol = opts.mode === 'interactive' ? '\r\n' : '\n';
    this.closed = new Promise((r) => (this.resolveClosed = r));
    this.removeSubscriber = opts.bus.feedback.add(this);
  }

  get echo(): boolean {
    return this.echoOn;
  }

  start(): void {
    if (this.opts.mode === 'exec') return;
    this.write(`${this.opts.banner}\n*r Login successful\n\nOK\n`);
  }

  /** Raw input (shell and exec modes). */
  feed(data: string | Buffer): void {
    if (this.ended) return;
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    this.inbuf = this.inbuf.length ? Buffer.concat([this.inbuf, buf]) : buf;
    if (this.inbuf.length + this.queuedChars > MAX_BACKLOG) {
      this.write(this.render(errorReply('CommandResult', new CommandError('Input backlog too large; closing the session'))));
      this.finish(1);
      return;
    }
    this.split();
    this.flow();
    this.pump();
  }

  /** A complete line from the interactive line editor. */
  submitLine(line: string): void {
    if (this.ended) return;
    this.enqueue({ kind: 'line', text: line });
    this.flow();
    this.pump();
  }

  /** Ctrl-C from the line editor: abandons a multiline paste in progress. */
  interrupt(): void {
    if (!this.payload) return;
    const p = this.payload;
    this.payload = undefined;
    this.failed = true;
    this.write(this.render(this.payloadError(p, 'Multiline input interrupted; nothing was changed'), p.resultId));
  }

  endInput(): void {
    this.inputDone = true;
    this.split();
    this.pump();
  }

  complete(lineBeforeCursor: string): Completion {
    return complete(this.opts.bus.registry, lineBeforeCursor, this.opts.files);
  }

  /** The idle timeout ran out: one line saying so, then the session ends. */
  closeIdle(seconds: number): void {
    this.write(`Closing the session: no activity for ${seconds} seconds (xConfiguration Ssh IdleTimeout)\n`);
    this.dispose();
  }

  dispose(): void {
    this.removeSubscriber();
    this.registrations.length = 0;
    this.finish(this.failed ? 1 : 0);
  }

  deliver(f: Feedback): void {
    if (this.ended) return;
    if (this.busy) this.heldFeedback.push(f);
    else this.writeFeedback(f);
  }

  // ---- input splitting ----

  private enqueue(w: Work): void {
    this.queue.push(w);
    if (w.kind === 'line' || w.kind === 'frame') this.queuedChars += w.text.length;
  }

  /** Stops or restarts reading the client as the backlog crosses INPUT_HIGH / INPUT_LOW. */
  private flow(): void {
    const backlog = this.inbuf.length + this.queuedChars;
    if (!this.inputStopped && backlog > INPUT_HIGH) {
      this.inputStopped = true;
      this.opts.io.flow?.(true);
    } else if (this.inputStopped && backlog < INPUT_LOW) {
      this.inputStopped = false;
      this.opts.io.flow?.(false);
    }
  }

  /** Cuts lines and frames off the input, a few ahead of processing (the rest waits as bytes). */
  private split(): void {
    while (this.queue.length < SPLIT_AHEAD) {
      if (this.frameBytes >= 0) {
        if (this.inbuf.length < this.frameBytes) break;
        const text = this.inbuf.subarray(0, this.frameBytes).toString('utf8');
        this.inbuf = this.inbuf.subarray(this.frameBytes);
        this.frameBytes = -1;
        this.enqueue({ kind: 'frame', text });
        continue;
      }
      if (this.swallowLF && this.inbuf.length) {
        if (this.inbuf[0] === 0x0a) this.inbuf = this.inbuf.subarray(1);
        this.swallowLF = false;
      }
      const end = lineEnd(this.inbuf);
      const cr = end >= 0 && this.inbuf[end] === 0x0d ? end : -1;
      if (end < 0) {
        if (this.discarding) this.inbuf = Buffer.alloc(0);
        else if (this.inbuf.length > OVERLONG_BYTES) {
          // An over-long line is answered once, now; the rest of it, up to its end, is dropped
          // unread: a tail cut off from it must never run as a command.
          this.enqueue({ kind: 'overlong' });
          this.inbuf = Buffer.alloc(0);
          this.discarding = true;
        }
        break;
      }
      const line = this.inbuf.subarray(0, end).toString('utf8');
      this.inbuf = this.inbuf.subarray(end + 1);
      if (end === cr) {
        // CRLF is one Enter; the LF may arrive in the next packet.
        if (this.inbuf.length) {
          if (this.inbuf[0] === 0x0a) this.inbuf = this.inbuf.subarray(1);
        } else this.swallowLF = true;
      }
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      const frame = /^\{(\d{1,9})\} ?$/.exec(line);
      if (frame && !this.payload) {
        const n = Number(frame[1]);
        if (n > MAX_FRAME) {
          this.enqueue({ kind: 'line', text: `\u0000frame-too-large` });
          // Nothing sensible can follow a refused frame; the rest of the input is dropped.
          this.inbuf = Buffer.alloc(0);
          break;
        }
        this.frameBytes = n;
        continue;
      }
      this.enqueue({ kind: 'line', text: line });
    }
    if (this.inputDone && this.inbuf.length && this.queue.length < SPLIT_AHEAD) {
      // A last line without a newline still counts (unless it is the tail of an over-long one).
      if (!this.discarding) this.enqueue({ kind: 'line', text: this.inbuf.toString('utf8') });
      this.inbuf = Buffer.alloc(0);
      this.frameBytes = -1;
    }
  }

  // ---- processing ----

  private pump(): void {
    if (this.busy || this.ended || this.yielding) return;
    let work: Work | undefined;
    for (let skipped = 0; ; skipped++) {
      if (this.queue.length === 0) this.split();
      work = this.queue.shift();
      if (work?.kind === 'line' || work?.kind === 'frame') this.queuedChars -= work.text.length;
      // Blank lines get no answer: pass over them here rather than one promise round each.
      if (work?.kind !== 'line' || this.payload || work.text.trim() !== '') break;
      if (skipped % 256 === 255 && performance.now() - this.sliceStart >= SLICE_MS) {
        this.flow();
        return this.yieldThenPump();
      }
    }
    this.flow();
    if (!work) {
      if (this.inputDone) {
        if (this.payload) {
          const p = this.payload;
          this.payload = undefined;
          this.failed = true;
          this.write(this.render(this.payloadError(p, 'Multiline input ended without its closing period line; nothing was changed'), p.resultId));
        }
        this.finish(this.failed ? 1 : 0);
      } else if (this.execDone && !this.payload) {
        this.finish(this.failed ? 1 : 0);
      }
      return;
    }
    this.busy = true;
    this.process(work)
      .catch((e: unknown) => {
        // A bug must not kill the session: answer with an error and carry on.
        this.failed = true;
        this.write(this.render(errorReply('CommandResult', new Internal())));
        this.opts.bus.internalError(this.opts.actor, e);
      })
      .finally(() => {
        this.busy = false;
        const held = this.heldFeedback;
        this.heldFeedback = [];
        for (const f of held) this.writeFeedback(f);
        // Requests that get no reply (empty lines) would otherwise run back to back in
        // microtasks: give the event loop a turn now and then, so one flooding session cannot
        // stall the others.
        if (performance.now() - this.sliceStart < SLICE_MS) this.pump();
        else this.yieldThenPump();
      });
  }

  private yieldThenPump(): void {
    this.yielding = true;
    setImmediate(() => {
      this.yielding = false;
      this.sliceStart = performance.now();
      this.pump();
    });
  }

  /** Exec mode ends when its command lines have run and no payload is awaited on stdin. */
  private execDone = false;

  /** Exec sessions: the command line(s) of the exec request; stdin may then carry a payload. */
  runExec(command: string): void {
    for (const line of command.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n')) this.enqueue({ kind: 'line', text: line });
    this.queue.push({ kind: 'exec-end' });
    this.pump();
  }

  private async process(work: Work): Promise<void> {
    if (work.kind === 'exec-end') {
      this.execDone = true;
      return;
    }
    if (work.kind === 'overlong') {
      if (this.payload) this.payload.overlong = true;
      else {
        this.failed = true;
        this.write(this.render((lineTooLong() as Extract<Request, { kind: 'reply' }>).reply));
      }
      return;
    }
    if (work.kind === 'frame') {
      const lines = work.text.replace(/\r\n?/g, '\n').replace(/\n$/, '').split('\n');
      const first = lines.shift() ?? '';
      const parsed = parseLine(first, this.opts.bus.registry);
      if (parsed.request.kind === 'command' && parsed.request.def.payload) {
        const body = lines.length && lines[lines.length - 1] === '.' ? lines.slice(0, -1) : lines;
        await this.run(parsed.request, parsed.resultId, body.join('\n') + (body.length ? '\n' : ''));
        return;
      }
      await this.run(parsed.request, parsed.resultId);
      for (const l of lines) await this.line(l);
      return;
    }
    await this.line(work.text);
  }

  private async line(text: string): Promise<void> {
    if (text === '\u0000frame-too-large') {
      this.failed = true;
      this.write(this.render(errorReply('CommandResult', new CommandError(`Request frame larger than ${MAX_FRAME} bytes`))));
      return;
    }
    if (this.payload) {
      const p = this.payload;
      if (text === '.') {
        this.payload = undefined;
        if (p.overlong) {
          this.failed = true;
          this.write(this.render(this.payloadError(p, `Multiline input has a line longer than ${MAX_LINE} characters; nothing was changed`), p.resultId));
          return;
        }
        if (p.overflow) {
          this.failed = true;
          this.write(this.render(this.payloadError(p, `Multiline input larger than ${p.req.def.payload!.maxBytes} bytes; nothing was changed`), p.resultId));
          return;
        }
        await this.run(p.req, p.resultId, p.lines.join('\n') + (p.lines.length ? '\n' : ''));
        return;
      }
      p.bytes += Buffer.byteLength(text) + 1;
      if (p.bytes > p.req.def.payload!.maxBytes) {
        p.overflow = true;
        p.lines = [];
      } else {
        p.lines.push(text);
      }
      return;
    }
    const parsed = parseLine(text, this.opts.bus.registry);
    const req = parsed.request;
    // A refused change or command is audited too (what was refused and why, never the values).
    if (req.kind === 'reply' && req.reply.kind === 'result' && /^\s*xcom|^\s*xconf/i.test(text)) {
      this.opts.bus.auditRejected(this.opts.actor, req.reply.name, String(req.reply.fields.Reason ?? ''));
    }
    await this.run(req, parsed.resultId);
  }

  private payloadError(p: PendingPayload, reason: string): Reply {
    return errorReply(resultName(p.req.def.path), new CommandError(reason));
  }

  private async run(req: Request, resultId?: string, payload?: string): Promise<void> {
    let reply: Reply | undefined;
    switch (req.kind) {
      case 'empty':
        return;
      case 'reply':
        reply = req.reply;
        break;
      case 'help':
        reply = help(this.opts.bus.registry, req.scope, req.path, req.values);
        break;
      case 'echo':
        this.echoOn = req.on;
        reply = { kind: 'ok' };
        break;
      case 'preferences':
        this.outputMode = req.outputMode;
        reply = { kind: 'ok' };
        break;
      case 'bye':
        this.finish(this.failed ? 1 : 0);
        return;
      case 'feedback':
        reply = this.feedbackOp(req);
        break;
      case 'command':
        if (req.needsPayload && payload === undefined) {
          this.payload = { req, resultId, lines: [], bytes: 0, overflow: false };
          return;
        }
        reply = await this.opts.bus.handle(req as BusRequest, this.opts.actor, payload);
        break;
      default:
        reply = await this.opts.bus.handle(req as BusRequest, this.opts.actor);
    }
    if (isFailure(reply)) this.failed = true;
    this.write(this.render(reply, resultId));
  }

  private feedbackOp(req: Extract<Request, { kind: 'feedback' }>): Reply {
    const name = 'FeedbackResult';
    switch (req.op) {
      case 'register': {
        const r = this.opts.bus.registration(req.expr!);
        // The XPath quotes the typed path: shortened, as every error quoting input.
        if (!('root' in r)) return errorReply(name, 'XPath' in r.fields ? new InvalidPath(excerpt(req.expr!)) : r);
        if (this.registrations.some((x) => x.expr.toLowerCase() === r.expr.toLowerCase())) return { kind: 'ok' };
        if (this.registrations.length >= MAX_REGISTRATIONS) {
          return errorReply(name, new CommandError(`At most ${MAX_REGISTRATIONS} feedback registrations per session`));
        }
        this.registrations.push(r);
        return { kind: 'ok' };
      }
      case 'deregister': {
        const r = this.opts.bus.registration(req.expr!);
        const expr = 'root' in r ? r.expr : req.expr!;
        const i = this.registrations.findIndex((x) => x.expr.toLowerCase() === expr.toLowerCase());
        if (i < 0) return errorReply(name, new CommandError(`No feedback registered for ${excerpt(req.expr!)}`));
        this.registrations.splice(i, 1);
        return { kind: 'ok' };
      }
      case 'deregisterall':
        this.registrations.length = 0;
        return { kind: 'ok' };
      case 'list':
        return { kind: 'text', ok: true, lines: this.registrations.map((r, i) => `*f ${i + 1} ${r.expr}`) };
    }
  }

  // ---- output ----

  private render(reply: Reply, resultId?: string): string {
    switch (this.outputMode) {
      case 'terminal':
        return renderTerminal(reply);
      case 'xml':
        return xml.render(reply, resultId);
      case 'json':
        return json.render(reply, resultId);
    }
  }

  private writeFeedback(f: Feedback): void {
    const text =
      this.outputMode === 'terminal' ? renderFeedbackTerminal(f) : this.outputMode === 'xml' ? xml.renderFeedback(f) : json.renderFeedback(f);
    this.write(text);
  }

  private write(text: string): void {
    if (this.ended || text === '') return;
    this.opts.io.write(this.eol === '\n' ? text : text.replace(/\r?\n/g, '\r\n'));
  }

  private finish(code: number): void {
    if (this.ended) return;
    this.ended = true;
    this.removeSubscriber();
    this.resolveClosed(code);
  }
}
