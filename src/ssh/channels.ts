// One session channel after login: waits for the pty, shell, exec or sftp request and runs it.
//   pty shell      → CliSession 'interactive' behind the line editor (echo, CRLF, wrapping at the
//                    pty's width)
//   plain shell    → CliSession 'shell' fed raw bytes (what jsxapi opens)
//   exec           → CliSession 'exec' running the command (CRLF line ends when a pty was asked for)
//   sftp subsystem → the upload area as /tmp (src/ssh/sftp.ts)
// Channel EOF ends the input; the exit status (0 when every request succeeded, 1 otherwise) goes
// out with the channel close. Sessions idle for `Ssh IdleTimeout` seconds are closed; output,
// anything the client sends on the connection (keepalives included) and held feedback
// registrations count as activity, and a shell closed for idleness says so first.
import { StringDecoder } from 'node:string_decoder';
import type { ServerChannel, Session } from 'ssh2';
import type { Actor, Services } from '../services/interfaces.js';
import type { DataPaths } from '../platform/paths.js';
import type { Logger } from '../platform/log.js';
import type { CliSession, SessionIO, SessionMode } from '../cli/session.js';
import { LineEditor } from '../cli/lineeditor.js';
import { serveSftp, type SftpLimits } from './sftp.js';

/** What the SSH layer needs from the appliance (src/app.ts builds it). */
export interface SshApp {
  readonly services: Services;
  readonly paths: DataPaths;
  readonly logger: Logger;
  newSession(actor: Actor, mode: SessionMode, io: SessionIO): CliSession;
}

export interface ChannelContext {
  readonly app: SshApp;
  readonly now: () => number;
  readonly sftp?: Partial<SftpLimits>;
}

/** What counts as activity besides a channel's own traffic. */
export interface IdleOptions {
  /** When the client last sent anything on the connection: OpenSSH's ServerAliveInterval sends
   *  global requests, other clients channel requests; both are input. */
  lastInput?: () => number;
  /** True while the session must be kept, e.g. it holds feedback registrations. */
  busy?: () => boolean;
}

/** The pty's width, kept current by window-change requests. */
interface Terminal {
  cols: number;
  onResize?: (cols: number) => void;
}

const IDLE_KEY = 'Ssh IdleTimeout';

/** Called when a channel starts running (shell, exec, sftp) and when it is over. */
export interface ChannelHooks {
  start(): void;
  done(): void;
  /** When the client last sent anything on this connection. */
  lastInput?(): number;
}

/** One session channel: waits for pty/shell/exec/sftp and runs it. */
export function wireSession(ctx: ChannelContext, s: Session, actor: Actor, hooks: ChannelHooks): void {
  const { app } = ctx;
  // Once per channel: when what it ran is over, or when it closes without having run anything.
  let finished = false;
  const done = () => {
    if (finished) return;
    finished = true;
    hooks.done();
  };
  s.on('close', done);
  let pty = false;
  let started = false;
  const term: Terminal = { cols: 80 };
  s.on('pty', (accept, _reject, info) => {
    pty = true;
    if (info.cols > 0) term.cols = info.cols;
    accept?.();
  });
  s.on('window-change', (accept, _reject, info) => {
    if (info.cols > 0) {
      term.cols = info.cols;
      term.onResize?.(info.cols);
    }
    accept?.();
  });
  s.on('env', (accept) => accept?.());
  s.on('shell', (accept, reject) => {
    if (started) return reject?.();
    started = true;
    hooks.start();
    runCli(ctx, accept(), actor, pty ? 'interactive' : 'shell', pty ? term : undefined, undefined, done, hooks.lastInput);
  });
  s.on('exec', (accept, reject, info) => {
    if (started) return reject?.();
    started = true;
    hooks.start();
    runCli(ctx, accept(), actor, 'exec', pty ? term : undefined, info.command, done, hooks.lastInput);
  });
  s.on('sftp', (accept, reject) => {
    if (started) return reject?.();
    started = true;
    hooks.start();
    const sftp = accept();
    const idle = idleWatch(ctx, actor, () => sftp.end(), { lastInput: hooks.lastInput });
    sftp.on('close', () => {
      idle.stop();
      done();
    });
    serveSftp(sftp, {
      onActivity: () => idle.touch(),
      dir: app.paths.uploads,
      writable: actor.role === 'Admin',
      limits: ctx.sftp,
      onChange: (what, name, bytes) =>
        app.logger.audit({ who: actor.user, from: actor.remote, what: `sftp ${what} /tmp/${name}`, result: 'OK', session: actor.session, bytes }),
    });
  });
}

/**
 * Idle timeout (`Ssh IdleTimeout` seconds, 0 = never): `onIdle` runs once no activity was seen
 * for that long. The setting is re-read at least every 10 s, so a change reaches open sessions.
 */
export function idleWatch(ctx: ChannelContext, actor: Actor, onIdle: (seconds: number) => void, opts: IdleOptions = {}): { touch(): void; stop(): void } {
  const { app, now } = ctx;
  let last = now();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = () => {
    if (stopped) return;
    if (opts.busy?.()) last = now();
    last = Math.max(last, opts.lastInput?.() ?? 0);
    const secs = idleSeconds(app);
    const left = secs > 0 ? last + secs * 1000 - now() : 10_000;
    if (secs > 0 && left <= 0) {
      app.logger.log({ event: 'ssh.idle-timeout', who: actor.user, from: actor.remote, session: actor.session });
      onIdle(secs);
      return;
    }
    // Wake at least every 10 s, so a changed setting reaches open sessions soon.
    timer = setTimeout(arm, Math.min(left + 10, 10_000));
    timer.unref();
  };
  arm();
  return {
    touch: () => void (last = now()),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function idleSeconds(app: SshApp): number {
  try {
    const v = Number(app.services.config.get(IDLE_KEY));
    return Number.isFinite(v) && v > 0 ? v : 0;
  } catch {
    return 1800;
  }
}

function runCli(
  ctx: ChannelContext, ch: ServerChannel, actor: Actor, mode: SessionMode, pty: Terminal | undefined, command: string | undefined,
  done: () => void, lastInput: (() => number) | undefined,
): void {
  const { app, now } = ctx;
  let over = false;
  const crlf = pty !== undefined && mode !== 'interactive';
  let editor: LineEditor | undefined;
  // SSH flow control: while the channel is paused ssh2 stops opening the client's window, so
  // the client stops sending. Paused while replies have not drained (a client that does not read
  // them) or while the session's unprocessed input is over its bound (a client flooding it).
  let outputBlocked = false;
  let inputFull = false;
  const flow = () => (outputBlocked || inputFull ? ch.pause() : ch.resume());
  const send = (text: string) => {
    if (!ch.write(text) && !outputBlocked) {
      outputBlocked = true;
      flow();
    }
  };
  ch.on('drain', () => {
    outputBlocked = false;
    flow();
  });
  const session = app.newSession(actor, mode, {
    flow(stop) {
      inputFull = stop;
      flow();
    },
    write(data) {
      if (over) return;
      idle.touch();
      if (editor && editor.line !== '' && session.echo) {
        // Output (feedback, or a reply while the next line is typed ahead) arrives over a
        // half-typed line: clear it, write the output, and paint the line again below.
        send(editor.clear() + data + editor.redraw());
        return;
      }
      // Exec with a pty: the terminal expects CRLF like an interactive session.
      send(crlf ? data.replace(/\r?\n/g, '\r\n') : data);
    },
  });

  const idle = idleWatch(ctx, actor, (secs) => session.closeIdle(secs), {
    lastInput,
    busy: () => session.registrations.length > 0,
  });
  const started = now();

  const decoder = new StringDecoder('utf8');
  if (mode === 'interactive') {
    const ed = new LineEditor({ complete: (before) => session.complete(before), cols: pty?.cols });
    editor = ed;
    if (pty) pty.onResize = (cols) => ed.setColumns(cols);
    ch.on('data', (chunk: Buffer) => {
      idle.touch();
      for (const a of ed.feed(decoder.write(chunk))) {
        switch (a.type) {
          case 'echo':
            if (session.echo && !over) send(a.data);
            break;
          case 'line':
            session.submitLine(a.line);
            break;
          case 'interrupt':
            session.interrupt();
            break;
          case 'eof':
            session.endInput();
            break;
        }
      }
    });
  } else {
    ch.on('data', (chunk: Buffer) => {
      idle.touch();
      session.feed(chunk);
    });
  }
  // Channel EOF (stdin closed): finish what is queued, then close.
  ch.on('end', () => session.endInput());
  ch.on('close', () => {
    over = true;
    idle.stop();
    session.dispose();
  });
  ch.on('error', () => {
    /* the connection went away; 'close' follows */
  });

  session.closed.then((code) => {
    idle.stop();
    app.logger.log({ event: 'ssh.session-end', who: actor.user, from: actor.remote, session: actor.session, mode, exit: code, seconds: Math.round((now() - started) / 1000) });
    if (!over) {
      over = true;
      try {
        ch.exit(code);
        ch.end();
      } catch {
        /* already closed */
      }
    }
    done();
  });

  session.start();
  if (mode === 'exec') session.runExec(command ?? '');
}
