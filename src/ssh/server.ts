// The SSH admin shell: an ssh2 server with modern algorithms only, password, keyboard-interactive
// and public-key login under OpenSSH-like limits (src/ssh/limits.ts), then per channel one of:
//   pty shell      → CliSession 'interactive' behind the line editor (echo, CRLF)
//   plain shell    → CliSession 'shell' fed raw bytes (what jsxapi opens)
//   exec           → CliSession 'exec' running the command (CRLF line ends when a pty was asked for)
//   sftp subsystem → the upload area as /tmp (src/ssh/sftp.ts)
// The exit status (0 when every request succeeded, 1 otherwise) goes out with the channel close.
import crypto from 'node:crypto';
import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ServerChannel, Session } from 'ssh2';
import type { Actor, Services } from '../services/interfaces.js';
import type { DataPaths } from '../platform/paths.js';
import type { Logger } from '../platform/log.js';
import type { CliSession, SessionIO, SessionMode } from '../cli/session.js';
import { LineEditor } from '../cli/lineeditor.js';
import { ALGORITHMS } from './algorithms.js';
import { LoginLimits, type LoginPolicy } from './limits.js';
import { serveSftp, type SftpLimits } from './sftp.js';

const { Server, utils } = ssh2;

/** What the SSH layer needs from the appliance (src/app.ts builds it). */
export interface SshApp {
  readonly services: Services;
  readonly paths: DataPaths;
  readonly logger: Logger;
  newSession(actor: Actor, mode: SessionMode, io: SessionIO): CliSession;
}

export interface SshServerOptions {
  app: SshApp;
  host: string;
  port: number;
  hostKeys: Buffer[];
  policy?: Partial<LoginPolicy>;
  sftp?: Partial<SftpLimits>;
  /** TCP connections at once, authenticated or not. */
  maxConnections?: number;
  /** Channels (sessions) per connection, as OpenSSH's MaxSessions. */
  maxSessionsPerConnection?: number;
  now?: () => number;
}

export interface SshServer {
  readonly port: number;
  readonly limits: LoginLimits;
  /** Connections open now (authenticated or not). */
  connections(): number;
  /** Stops listening and ends every connection. */
  close(): Promise<void>;
}

/** The pty's width, kept current by window-change requests. */
interface Terminal {
  cols: number;
  onResize?: (cols: number) => void;
}

const METHODS: AuthContext['method'][] = ['publickey', 'keyboard-interactive', 'password'];
const IDLE_KEY = 'Ssh IdleTimeout';

/** Signature algorithms accepted for public-key login (no SHA-1 `ssh-rsa` signatures). */
function acceptableSignature(keyAlgo: string, hashAlgo: string | undefined): boolean {
  if (keyAlgo === 'ssh-rsa') return hashAlgo === 'sha256' || hashAlgo === 'sha512';
  return true;
}

export function startSshServer(opts: SshServerOptions): Promise<SshServer> {
  const { app } = opts;
  const now = opts.now ?? Date.now;
  const limits = new LoginLimits(opts.policy, now);
  const maxSessions = opts.maxSessionsPerConnection ?? 10;
  const open = new Set<Connection>();

  /** Admitted TCP connections by ip:port, until they authenticate or close. */
  const admitted = new Map<string, { release(authenticated: boolean): void }>();

  // Connections are accepted here, before any SSH byte is read, so that the limits also hold
  // for sockets that never send an SSH identification; ssh2 then takes the socket over.
  const tcp = net.createServer((sock) => {
    sock.setNoDelay(true); // small writes go out at once: a login round trip drops from ~108 ms to ~27 ms
    sock.on('error', () => {
      /* a reset connection is normal */
    });
    const ip = sock.remoteAddress ?? 'unknown';
    const key = `${ip}:${sock.remotePort}`;
    const admission = limits.admit(ip);
    if (!admission.ok) {
      app.logger.log({ event: 'ssh.refused', level: 'warn', from: key, reason: admission.reason });
      sock.destroy();
      return;
    }
    let released = false;
    const grace = setTimeout(() => {
      app.logger.log({ event: 'ssh.grace-expired', level: 'warn', from: key });
      entry.release(false);
      sock.destroy();
    }, limits.policy.graceMs);
    grace.unref();
    const entry = {
      release(authenticated: boolean) {
        if (released) return;
        released = true;
        clearTimeout(grace);
        admitted.delete(key);
        limits.release(ip, authenticated);
      },
    };
    admitted.set(key, entry);
    sock.on('close', () => entry.release(false));
    server.injectSocket(sock);
  });
  tcp.maxConnections = opts.maxConnections ?? 1000;

  const server = new Server({ hostKeys: opts.hostKeys, algorithms: ALGORITHMS, ident: 'xway' }, (client, info) => {
    open.add(client);
    const ip = info.ip ?? 'unknown';
    const remote = `${ip}:${info.port}`;
    const sessionId = crypto.randomBytes(3).toString('hex');
    client.on('error', () => {
      /* a reset connection is normal; nothing to do */
    });

    // ssh2 1.17 always lists `ssh-rsa` (SHA-1 signatures) after rsa-sha2-* when it holds an RSA
    // host key, whatever the configured list says. Modern clients never pick it; one that does is
    // disconnected before it can authenticate.
    client.on('handshake', (negotiated: { serverHostKey?: string }) => {
      if (negotiated.serverHostKey === 'ssh-rsa') {
        app.logger.log({ event: 'ssh.refused', level: 'warn', from: remote, reason: 'client chose ssh-rsa (SHA-1) host key signatures' });
        client.end();
      }
    });

    const release = (authenticated: boolean) => admitted.get(remote)?.release(authenticated);

    let tries = 0;
    let user = '';
    let closed = false;

    const audit = (who: string, method: string, result: string) =>
      app.logger.audit({ who, from: remote, what: `ssh login (${method})`, result, session: sessionId });

    const succeed = (ctx: AuthContext) => {
      if (closed) return;
      user = ctx.username;
      audit(user, ctx.method, 'success');
      release(true);
      ctx.accept();
    };
    const fail = (ctx: AuthContext, penalize: boolean) => {
      tries++;
      if (penalize) audit(ctx.username, ctx.method, 'failure');
      const delay = penalize ? limits.failure(ip) : 0;
      const answer = () => {
        if (closed) return;
        if (tries >= limits.policy.maxAuthTries) {
          app.logger.log({ event: 'ssh.too-many-tries', level: 'warn', from: remote });
          client.end();
          return;
        }
        ctx.reject(METHODS);
      };
      if (delay > 0) setTimeout(answer, delay).unref();
      else answer();
    };

    client.on('authentication', (ctx) => {
      const name = ctx.username;
      const role = app.services.accounts.roleOf(name);
      switch (ctx.method) {
        case 'password':
          // Verify even for unknown users (the store hashes anyway), so timing tells nothing.
          if (app.services.accounts.verifyPassword(name, ctx.password) && role) return succeed(ctx);
          return fail(ctx, true);
        case 'keyboard-interactive':
          return ctx.prompt([{ prompt: 'Password: ', echo: false }], 'xway login', '', (answers) => {
            if (closed) return;
            const pw = answers[0] ?? '';
            if (app.services.accounts.verifyPassword(name, pw) && role) return succeed(ctx);
            fail(ctx, true);
          });
        case 'publickey': {
          const known = !!role && app.services.accounts.hasKey(name, ctx.key.algo, ctx.key.data);
          if (!ctx.signature) {
            // A query ("would this key do?"): answer without counting it as a guess.
            if (known) return ctx.accept();
            return fail(ctx, false);
          }
          if (!known || !acceptableSignature(ctx.key.algo, ctx.hashAlgo)) return fail(ctx, known);
          const key = utils.parseKey(ctx.key.data);
          const ok = !(key instanceof Error) && ctx.blob !== undefined && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo);
          if (ok) return succeed(ctx);
          return fail(ctx, true);
        }
        default:
          // "none" and host-based: say which methods exist; not a guess.
          return ctx.reject(METHODS);
      }
    });

    client.on('ready', () => {
      const role = app.services.accounts.roleOf(user) ?? 'ReadOnly';
      let channels = 0;
      let opened = 0;
      client.on('session', (accept, reject) => {
        if (channels >= maxSessions) return reject();
        channels++;
        opened++;
        const s = accept();
        const actor: Actor = { user, role, remote, session: opened === 1 ? sessionId : `${sessionId}.${opened}` };
        wireSession(s, actor, () => channels--);
      });
    });

    client.on('close', () => {
      closed = true;
      open.delete(client);
    });
  });

  /** One session channel: waits for pty/shell/exec/sftp and runs it. */
  function wireSession(s: Session, actor: Actor, done: () => void): void {
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
      runCli(accept(), actor, pty ? 'interactive' : 'shell', pty ? term : undefined, undefined, done);
    });
    s.on('exec', (accept, reject, info) => {
      if (started) return reject?.();
      started = true;
      runCli(accept(), actor, 'exec', pty ? term : undefined, info.command, done);
    });
    s.on('sftp', (accept, reject) => {
      if (started) return reject?.();
      started = true;
      const sftp = accept();
      const idle = idleWatch(actor, () => sftp.end());
      sftp.on('close', () => {
        idle.stop();
        done();
      });
      serveSftp(sftp, {
        onActivity: () => idle.touch(),
        dir: app.paths.uploads,
        writable: actor.role === 'Admin',
        limits: opts.sftp,
        onChange: (what, name, bytes) =>
          app.logger.audit({ who: actor.user, from: actor.remote, what: `sftp ${what} /tmp/${name}`, result: 'OK', session: actor.session, bytes }),
      });
    });
  }

  /**
   * Idle timeout (`Ssh IdleTimeout` seconds, 0 = never): `onIdle` runs once no activity was seen
   * for that long. The setting is re-read whenever the timer fires, so a change applies to open
   * sessions too.
   */
  function idleWatch(actor: Actor, onIdle: () => void): { touch(): void; stop(): void } {
    let last = now();
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const arm = () => {
      if (stopped) return;
      const secs = idleSeconds();
      const left = secs > 0 ? last + secs * 1000 - now() : 60_000;
      if (secs > 0 && left <= 0) {
        app.logger.log({ event: 'ssh.idle-timeout', who: actor.user, from: actor.remote, session: actor.session });
        onIdle();
        return;
      }
      timer = setTimeout(arm, Math.min(left + 10, 2 ** 31 - 1));
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

  function idleSeconds(): number {
    try {
      const v = Number(app.services.config.get(IDLE_KEY));
      return Number.isFinite(v) && v > 0 ? v : 0;
    } catch {
      return 1800;
    }
  }

  function runCli(ch: ServerChannel, actor: Actor, mode: SessionMode, pty: Terminal | undefined, command: string | undefined, done: () => void): void {
    let over = false;
    const crlf = pty !== undefined && mode !== 'interactive';
    let editor: LineEditor | undefined;
    // A client that sends requests but does not read the replies: stop reading its input until
    // the replies have drained, so output never piles up in memory.
    const send = (text: string) => {
      if (!ch.write(text)) ch.pause();
    };
    ch.on('drain', () => ch.resume());
    const session = app.newSession(actor, mode, {
      write(data) {
        if (over) return;
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

    const idle = idleWatch(actor, () => session.dispose());
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
              if (session.echo && !over) ch.write(a.data);
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

  server.on('error', (e: Error) => app.logger.log({ event: 'ssh.error', level: 'error', message: e.message }));
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(opts.port, opts.host, () => {
      tcp.off('error', reject);
      tcp.on('error', (e: Error) => app.logger.log({ event: 'ssh.error', level: 'error', message: e.message }));
      const addr = tcp.address() as net.AddressInfo;
      app.logger.log({ event: 'ssh.listening', host: opts.host, port: addr.port });
      resolve({
        port: addr.port,
        limits,
        connections: () => open.size,
        close: () =>
          new Promise<void>((res) => {
            for (const c of open) c.end();
            tcp.close(() => res());
          }),
      });
    });
  });
}
