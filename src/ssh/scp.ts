// Legacy SCP (OpenSSH `scp -O`, the default of OpenSSH before 9.0; PuTTY `pscp -scp`): the client
// runs `scp -t <target>` to upload or `scp -f <path>...` to download, and both sides speak the old
// rcp protocol over the exec channel. Only the upload area is reachable, with the same names and
// limits as SFTP (src/ssh/uploads.ts): plain files, a size limit per file (refused from the
// announced size, before any data is sent), the file count, the memory budget. No directories
// (`-r`), no links. Modes and times are not kept (files are 0600); `-p` is accepted. Only Admin
// accounts get here: src/ssh/channels.ts refuses the others.
//
// The protocol: the receiving side acknowledges each step with a 0 byte, or answers 1 (error:
// the sender skips this file) or 2 (fatal) followed by a message line, which the client prints.
// Control lines: `C<mode> <size> <name>` (a file follows, then a 0 byte), `T<mtime> 0 <atime> 0`
// (times for the next file), `D<mode> 0 <name>` / `E` (enter / leave a directory).
import fs from 'node:fs';
import type { ServerChannel } from 'ssh2';
import { SHOWN_ROOT, refusals, target, type BufferBudget, type UploadArea } from './uploads.js';

export interface ScpRequest {
  /** sink: the client uploads (`-t`); source: the client downloads (`-f`). */
  readonly mode: 'sink' | 'source';
  /** `-d`: the target must be a directory (several files are coming). */
  readonly targetIsDir: boolean;
  /** `-p`: send times before each file (downloads). */
  readonly preserve: boolean;
  /** The target (sink) or the files asked for (source). */
  readonly paths: string[];
}

/**
 * Pure: reads an exec command as an scp request. Undefined when the command is not scp at all;
 * a string (the one-line error) when it is scp but not one this server can serve.
 */
export function parseScp(command: string): ScpRequest | string | undefined {
  const words = command.trim().split(/\s+/);
  if (words[0] !== 'scp') return undefined;
  let mode: ScpRequest['mode'] | undefined;
  let targetIsDir = false;
  let preserve = false;
  let i = 1;
  for (; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-') || w === '-') break;
    for (const flag of w.slice(1)) {
      switch (flag) {
        case 't':
        case 'f':
          if (mode) return 'scp: give -t or -f once';
          mode = flag === 't' ? 'sink' : 'source';
          break;
        case 'd':
          targetIsDir = true;
          break;
        case 'p':
          preserve = true;
          break;
        case 'v': // the client's verbosity; nothing to do
          break;
        case 'r':
          return `scp: directories are not supported: ${SHOWN_ROOT} holds files only`;
        default:
          return `scp: unsupported option -${flag}`;
      }
    }
  }
  if (!mode) return 'scp: this server only takes transfers from an scp client (-t or -f)';
  const paths = words.slice(i);
  if (paths.length === 0) return 'scp: no file named';
  if (mode === 'sink' && paths.length !== 1) return 'scp: give one target';
  return { mode, targetIsDir, preserve, paths };
}

export interface ScpOptions {
  area: UploadArea;
  budget: BufferBudget;
  onActivity?: () => void;
  /** Called after a file was written (audit). */
  onChange?: (name: string, bytes: number) => void;
}

/** Longest control line accepted: `C0644 1048576 <128-character name>` fits many times over. */
const MAX_LINE = 1024;

/** The channel's input as bytes, lines and acknowledgements, awaited in order. */
class Input {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake?: () => void;

  constructor(ch: ServerChannel, onActivity?: () => void) {
    ch.on('data', (d: Buffer) => {
      onActivity?.();
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.wake?.();
    });
    ch.on('end', () => this.close());
    ch.on('close', () => this.close());
  }

  private close(): void {
    this.ended = true;
    this.wake?.();
  }

  /** Resolves when more input arrived or the input ended. */
  private more(): Promise<void> {
    return new Promise((res) => {
      this.wake = () => {
        this.wake = undefined;
        res();
      };
    });
  }

  /** Up to `max` bytes, at least one; undefined at the end of input. */
  async some(max: number): Promise<Buffer | undefined> {
    while (this.buf.length === 0) {
      if (this.ended) return undefined;
      await this.more();
    }
    const out = this.buf.subarray(0, max);
    this.buf = this.buf.subarray(out.length);
    return out;
  }

  /** One line without its LF; undefined at the end of input; an Error when it is too long. */
  async line(): Promise<string | undefined | Error> {
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl >= 0) {
        const text = this.buf.subarray(0, nl).toString('utf8');
        this.buf = this.buf.subarray(nl + 1);
        return text;
      }
      if (this.buf.length > MAX_LINE) return new Error('line too long');
      if (this.ended) return undefined;
      await this.more();
    }
  }

  /** The other side's answer to a step: ok, an error (with its message) or the end of input. */
  async ack(): Promise<{ ok: true } | { ok: false; fatal: boolean; message: string }> {
    const b = await this.some(1);
    if (!b) return { ok: false, fatal: true, message: '' };
    if (b[0] === 0) return { ok: true };
    const rest = await this.line();
    return { ok: false, fatal: b[0] !== 1, message: typeof rest === 'string' ? rest : '' };
  }
}

const OK = Buffer.from([0]);
const error = (text: string) => Buffer.from(`\x01xway: ${text}\n`);
/** A fatal error: the client prints the message and stops. */
export const fatal = (text: string) => Buffer.from(`\x02xway: ${text}\n`);

/** Serves one scp request on an exec channel; resolves with the exit status. */
export async function serveScp(ch: ServerChannel, req: ScpRequest, opts: ScpOptions): Promise<number> {
  opts.area.ensure();
  const input = new Input(ch, opts.onActivity);
  return req.mode === 'sink' ? receive(ch, input, req, opts) : send(ch, input, req, opts);
}

/** `scp -t`: the client uploads. */
async function receive(ch: ServerChannel, input: Input, req: ScpRequest, opts: ScpOptions): Promise<number> {
  const { area } = opts;
  const dest = target(req.paths[0]!);
  if (dest.kind === 'outside') {
    ch.write(fatal(`${dest.shown}: No such directory (only plain file names in ${SHOWN_ROOT} are reachable)`));
    return 1;
  }
  if (dest.kind === 'file' && req.targetIsDir) {
    ch.write(fatal(`${SHOWN_ROOT}/${dest.name}: Not a directory`));
    return 1;
  }
  let failures = 0;
  const refuse = (text: string) => {
    failures++;
    ch.write(error(text));
  };
  ch.write(OK);
  for (;;) {
    const line = await input.line();
    if (line === undefined) return failures ? 1 : 0;
    if (line instanceof Error || line === '') {
      ch.write(fatal('protocol error: expected a C, T, D or E line'));
      return 1;
    }
    const kind = line[0];
    if (kind === '\x01' || kind === '\x02') {
      // The client's own error (a file it could not read): it goes on, or stops.
      failures++;
      if (kind === '\x02') return 1;
      continue;
    }
    if (kind === 'T' || kind === 'E') {
      ch.write(OK);
      continue;
    }
    if (kind === 'D') {
      refuse(`directories are not supported: ${SHOWN_ROOT} holds files only`);
      continue;
    }
    const m = kind === 'C' ? /^C[0-7]{4} (\d{1,15}) (.+)$/.exec(line) : null;
    if (!m) {
      ch.write(fatal('protocol error: expected a C, T, D or E line'));
      return 1;
    }
    const size = Number(m[1]);
    const sent = m[2]!;
    const named = dest.kind === 'file' ? target(dest.name) : target(sent);
    if (named.kind !== 'file' || sent.includes('/')) {
      refuse(`${sent}: Invalid file name: expected letters, digits, . _ - (no path)`);
      continue;
    }
    const name = named.name;
    if (size > area.limits.maxFileBytes) {
      refuse(`${SHOWN_ROOT}/${name}: ${refusals.tooLarge(area.limits)}`);
      continue;
    }
    const upload = area.begin(name, opts.budget);
    if (typeof upload === 'string') {
      refuse(`${SHOWN_ROOT}/${name}: ${upload}`);
      continue;
    }
    ch.write(OK);
    let offset = 0;
    while (offset < size) {
      const chunk = await input.some(size - offset);
      if (!chunk) {
        upload.abort();
        return 1;
      }
      upload.write(offset, chunk);
      offset += chunk.length;
    }
    // The client ends the file with a 0 byte, or with an error of its own (a short read).
    const end = await input.ack();
    if (!end.ok) {
      upload.abort();
      failures++;
      if (end.fatal) return 1;
      continue;
    }
    const refused = upload.commit();
    if (refused) {
      refuse(`${SHOWN_ROOT}/${name}: ${refused}`);
      continue;
    }
    opts.onChange?.(name, size);
    ch.write(OK);
  }
}

/** Pure: the files a download asks for (`*` and `?` match within the area, as a shell would). */
export function sources(p: string, names: string[]): { name: string }[] | string {
  const slash = p.lastIndexOf('/');
  const base = p.slice(slash + 1);
  if (/[*?]/.test(base)) {
    const dir = target(slash >= 0 ? p.slice(0, slash) || '/' : '.');
    if (dir.kind !== 'root') return `${p}: No such file (only plain file names in ${SHOWN_ROOT} are reachable)`;
    const re = new RegExp('^' + base.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    const matched = names.filter((n) => re.test(n) && !n.startsWith('.')).sort();
    return matched.length ? matched.map((name) => ({ name })) : `${p}: No such file`;
  }
  const t = target(p);
  if (t.kind === 'outside') return `${t.shown}: No such file (only plain file names in ${SHOWN_ROOT} are reachable)`;
  if (t.kind === 'root') return `${SHOWN_ROOT}: is a directory (directories are not supported)`;
  return [{ name: t.name }];
}

/** `scp -f`: the client downloads. */
async function send(ch: ServerChannel, input: Input, req: ScpRequest, opts: ScpOptions): Promise<number> {
  const { area } = opts;
  let failures = 0;
  // The client starts with a 0 byte when it is ready.
  if (!(await input.ack()).ok) return 1;
  const listing = () => {
    try {
      return fs.readdirSync(area.dir);
    } catch {
      return [];
    }
  };
  for (const p of req.paths) {
    const found = sources(p, listing());
    if (typeof found === 'string') {
      failures++;
      ch.write(error(found));
      continue;
    }
    for (const { name } of found) {
      let content: Buffer;
      let st: fs.Stats;
      try {
        const fd = fs.openSync(area.fileOf(name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        try {
          st = fs.fstatSync(fd);
          if (!st.isFile()) throw new Error('not a file');
          content = fs.readFileSync(fd);
        } finally {
          fs.closeSync(fd);
        }
      } catch {
        failures++;
        ch.write(error(`${SHOWN_ROOT}/${name}: No such file`));
        continue;
      }
      if (req.preserve) {
        ch.write(`T${Math.floor(st.mtimeMs / 1000)} 0 ${Math.floor(st.atimeMs / 1000)} 0\n`);
        const a = await input.ack();
        if (!a.ok) return 1;
      }
      ch.write(`C0600 ${content.length} ${name}\n`);
      const ready = await input.ack();
      if (!ready.ok) {
        failures++;
        if (ready.fatal) return 1;
        continue;
      }
      ch.write(content);
      ch.write(OK);
      const done = await input.ack();
      if (!done.ok) {
        failures++;
        if (done.fatal) return 1;
      }
    }
  }
  return failures ? 1 : 0;
}
