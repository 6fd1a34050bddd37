// One session channel after login: waits for the pty, shell, exec or sftp request and runs it.
//   pty shell      → CliSession 'interactive' behind the line editor (echo, CRLF, wrapping at the
//                    pty's width)
//   plain shell    → CliSession 'shell' fed raw bytes (what jsxapi opens)
//   exec           → CliSession 'exec' running the command (CRLF line ends when a pty was asked for),
//                    or legacy SCP when the command is `scp -t` / `scp -f` (src/ssh/scp.ts)
//   sftp subsystem → the upload area as /tmp (src/ssh/sftp.ts)
// Channel EOF ends the input; the exit status (0 when every request succeeded, 1 otherwise) goes
// out with the channel close. Sessions idle for `Ssh IdleTimeout` seconds are closed; output,
// anything the client sends on the connection (keepalives included) and held feedback
// registrations count as activity, and a shell closed for idleness says so first.
import { StringDecoder } from 'node:string_decoder';
import type { ServerChannel, Session } from 'ssh2';
import type { SshSettings } from './owner.js';
import type { Actor, Services, SshActivityRecorder } from '../services/interfaces.js';
import type { DataPaths } from '../platform/paths.js';
import type { Logger } from '../platform/log.js';
import type { CliSession, SessionIO, SessionMode } from '../cli/session.js';
import { LineEditor } from '../cli/lineeditor.js';
import { serveSftp } from './sftp.js';
import { fatal, parseScp, serveScp, type ScpRequest } from './scp.js';
import type { BufferBudget, UploadArea } from './uploads.js';

/** What the SSH layer needs from the appliance (src/app.ts builds it). */
export interface SshApp {
  readonly services: Services;
  /** The Ssh configuration's owner: the idle timeout, and when it changes. */
  readonly sshSettings: SshSettings;
  readonly paths: DataPaths;
  readonly logger: Logger;
  /** Counts sessions and refused logins for monitoring (absent: nothing is counted). */
  readonly sshActivity?: SshActivityRecorder;
  newSession(actor: Actor, mode: SessionMode, io: SessionIO): CliSession;
}

export interface ChannelContext {
  readonly app: SshApp;
  readonly now: () => number;
  /** The upload area, shared by every connection. */
  readonly uploads: UploadArea;
}

/** What the channels of one SSH connection share. */
export interface ConnectionContext extends ChannelContext {
  /** Memory for this connection's uploads in progress. */
  readonly buffers: BufferBudget;
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

/** Called when a channel starts running (shell, exec, sftp) and when it is over. */
export interface ChannelHooks {
  start(): void;
  done(): void;
  /** When the client last sent anything on this connection. */
  lastInput?(): number;
}

/** One session channel: waits for pty/shell/exec/sftp and runs it. */
export function wireSession(ctx: ConnectionContext, s: Session, actor: Actor, hooks: ChannelHooks): void {
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
    const scp = parseScp(info.command);
    if (scp !== undefined) {
      // Files may hold keys and exports with secrets: ReadOnly accounts get none of them.
      if (actor.role !== 'Admin') app.logger.audit({ who: actor.user, from: actor.remote, what: 'scp', result: 'PermissionDenied', session: actor.session });
      return runScp(ctx, accept(), actor, actor.role === 'Admin' ? scp : 'Permission denied: ReadOnly accounts have no access to files', done);
    }
    runCli(ctx, accept(), actor, 'exec', pty ? term : undefined, info.command, done, hooks.lastInput);
  });
  s.on('sftp', (accept, reject) => {
    if (started) return reject?.();
    // Files may hold keys and exports with secrets: ReadOnly accounts get none of them.
    if (actor.role !== 'Admin') {
      app.logger.audit({ who: actor.user, from: actor.remote, what: 'sftp', result: 'PermissionDenied', session: actor.session });
      return reject?.();
    }
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
      area: ctx.uploads,
      budget: ctx.buffers,
      onChange: (what, name, bytes) =>
        app.logger.audit({ who: actor.user, from: actor.remote, what: `sftp ${what} /tmp/${name}`, result: 'OK', session: actor.session, bytes }),
    });
  });
}

/** Legacy SCP on an exec channel (`scp -t` / `scp -f`, src/ssh/scp.ts). */
function runScp(ctx: ConnectionContext, ch: ServerChannel, actor: Actor, req: ScpRequest | string, done: () => void): void {
  const { app } = ctx;
  let over = false;
  const idle = idleWatch(ctx, actor, () => ch.close());
  const finish = (code: number) => {
    idle.stop();
    if (!over) {
      over = true;
      exitChannel(ch, code);
    }
    done();
  };
  ch.on('close', () => {
    over = true;
    finish(1);
  });
  ch.on('error', () => {
    /* the connection went away; 'close' follows */
  });
  if (typeof req === 'string') {
    // An scp request this server cannot serve: the client prints the line and stops.
    ch.write(fatal(req.replace(/^scp: /, '')));
    return finish(1);
  }
  serveScp(ch, req, {
    area: ctx.uploads,
    budget: ctx.buffers,
    onActivity: () => idle.touch(),
    onChange: (name, bytes) =>
      app.logger.audit({ who: actor.user, from: actor.remote, what: `scp upload /tmp/${name}`, result: 'OK', session: actor.session, bytes }),
  }).then(finish, (e: Error) => {
    app.logger.log({ event: 'ssh.scp-error', level: 'error', who: actor.user, from: actor.remote, message: e.message });
    finish(1);
  });
}

/**
 * Idle timeout (`Ssh IdleTimeout` seconds, 0 = never): `onIdle` runs once no activity was seen
 * for that long. A committed change re-arms the timer at once (the Ssh owner, owner.ts).
 */
export function idleWatch(ctx: ChannelContext, actor: Actor, onIdle: (seconds: number) => void, opts: IdleOptions = {}): { touch(): void; stop(): void } {
  const { app, now } = ctx;
  let last = now();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = () => {
    clearTimeout(timer);
    if (stopped) return;
    if (opts.busy?.()) last = now();
    last = Math.max(last, opts.lastInput?.() ?? 0);
    const secs = app.sshSettings.idleTimeoutSeconds();
    if (secs <= 0) return;
    const left = last + secs * 1000 - now();
    if (left <= 0) {
      stop();
      app.logger.log({ event: 'ssh.idle-timeout', who: actor.user, from: actor.remote, session: actor.session });
      onIdle(secs);
      return;
    }
    // On waking, activity seen meanwhile (touch) moves the deadline: arm looks again.
    timer = setTimeout(arm, left + 10);
    timer.unref();
  };
  const unsubscribe = app.sshSettings.onChange(arm);
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    unsubscribe();
  };
  arm();
  return { touch: () => void (last = now()), stop };
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
      exitChannel(ch, code);
    }
    done();
  });

  session.start();
  if (mode === 'exec') session.runExec(command ?? '');
}

/** Sends the exit status and closes the channel; the client may have closed it already. */
function exitChannel(ch: ServerChannel, code: number): void {
  try {
    ch.exit(code);
    ch.end();
  } catch {
    /* already closed */
  }
}
