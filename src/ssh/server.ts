// The SSH admin shell: an ssh2 server with modern algorithms only (src/ssh/algorithms.ts),
// password, keyboard-interactive and public-key login (src/ssh/auth.ts) under OpenSSH-like limits
// enforced from TCP accept on (src/ssh/limits.ts), then sessions per channel (src/ssh/channels.ts).
import crypto from 'node:crypto';
import net from 'node:net';
import ssh2 from 'ssh2';
import type { Connection } from 'ssh2';
import type { Actor } from '../services/interfaces.js';
import { ALGORITHMS } from './algorithms.js';
import { LoginLimits, type LoginPolicy } from './limits.js';
import { UploadArea, type UploadLimits } from './uploads.js';
import { authenticator } from './auth.js';
import { idleWatch, wireSession, type SshApp } from './channels.js';

export type { SshApp } from './channels.js';

const { Server } = ssh2;

export interface SshServerOptions {
  app: SshApp;
  host: string;
  port: number;
  hostKeys: Buffer[];
  policy?: Partial<LoginPolicy>;
  /** Limits of the upload area (SFTP and SCP). */
  sftp?: Partial<UploadLimits>;
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

export function startSshServer(opts: SshServerOptions): Promise<SshServer> {
  const { app } = opts;
  const now = opts.now ?? Date.now;
  const limits = new LoginLimits(opts.policy, now);
  const maxSessions = opts.maxSessionsPerConnection ?? 10;
  const open = new Set<Connection>();
  const sockets = new Set<net.Socket>();
  const channelContext = { app, now, uploads: new UploadArea(app.paths.uploads, opts.sftp) };

  /** When each connection (by ip:port) last sent anything. */
  const lastInput = new Map<string, number>();
  /** Admitted TCP connections by ip:port, until they authenticate or close. */
  const admitted = new Map<string, { identified(): void; release(authenticated: boolean): void }>();

  // Connections are accepted here, before any SSH byte is read, so that the limits also hold
  // for sockets that never send an SSH identification; ssh2 then takes the socket over.
  const tcp = net.createServer((sock) => {
    sock.setNoDelay(true); // small writes go out at once: a login round trip drops from ~108 ms to ~27 ms
    sock.on('error', () => {
      /* a reset connection is normal */
    });
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    const ip = sock.remoteAddress ?? 'unknown';
    const key = `${ip}:${sock.remotePort}`;
    const admission = limits.admit(ip);
    if (!admission.ok) {
      app.logger.log({ event: 'ssh.refused', level: 'warn', from: key, reason: admission.reason });
      app.sshActivity?.loginRefused('limits');
      sock.destroy();
      return;
    }
    let released = false;
    const expire = (event: string) => {
      app.logger.log({ event, level: 'warn', from: key });
      entry.release(false);
      sock.destroy();
    };
    const grace = setTimeout(() => expire('ssh.grace-expired'), limits.policy.graceMs);
    grace.unref();
    // Every SSH client sends its identification line as soon as it connects: a socket that stays
    // silent gives its slot back long before the login grace time.
    const ident = setTimeout(() => expire('ssh.ident-timeout'), Math.min(limits.policy.identMs, limits.policy.graceMs));
    ident.unref();
    const entry = {
      identified() {
        clearTimeout(ident);
      },
      release(authenticated: boolean) {
        if (released) return;
        released = true;
        clearTimeout(grace);
        clearTimeout(ident);
        admitted.delete(key);
        limits.release(ip, authenticated);
      },
    };
    admitted.set(key, entry);
    sock.on('close', () => {
      entry.release(false);
      lastInput.delete(key);
    });
    server.injectSocket(sock);
    // Any bytes from the client count against the idle timeout, keepalive requests included
    // (ssh2 answers those itself and tells nobody). Added after ssh2 paused the socket.
    sock.on('data', () => lastInput.set(key, now()));
  });
  tcp.maxConnections = opts.maxConnections ?? 1000;

  const server = new Server({ hostKeys: opts.hostKeys, algorithms: ALGORITHMS, ident: 'xway' }, (client, info) => {
    open.add(client);
    const ip = info.ip ?? 'unknown';
    const remote = `${ip}:${info.port}`;
    // ssh2 announces a connection once the client's identification line has arrived.
    admitted.get(remote)?.identified();
    const sessionId = crypto.randomBytes(3).toString('hex');
    // A reset connection is normal. A failed key exchange (a client with only old algorithms,
    // such as ssh-rsa host keys) is worth a line: the client was told the same in its disconnect.
    client.on('error', (e: Error & { level?: string }) => {
      if (e.level === 'handshake') {
        app.logger.log({ event: 'ssh.handshake-failed', level: 'warn', from: remote, reason: e.message });
        app.sshActivity?.loginRefused('algorithm');
      }
    });

    const release = (authenticated: boolean) => admitted.get(remote)?.release(authenticated);

    let user = '';
    let closed = false;
    client.on(
      'authentication',
      authenticator({
        accounts: app.services.accounts,
        limits,
        logger: app.logger,
        ip,
        remote,
        session: sessionId,
        closed: () => closed,
        onFailure: () => app.sshActivity?.loginRefused('credentials'),
        onSuccess: (name) => {
          user = name;
          release(true);
        },
        disconnect: () => client.end(),
      }),
    );

    client.on('ready', () => {
      app.sshActivity?.sessionOpened();
      client.on('close', () => app.sshActivity?.sessionClosed());
      const role = app.services.accounts.roleOf(user) ?? 'ReadOnly';
      let channels = 0;
      let running = 0;
      let opened = 0;
      const base: Actor = { user, role, remote, session: sessionId };
      const connection = { ...channelContext, buffers: channelContext.uploads.connectionBudget() };
      // A logged-in connection with nothing running (no channel, or channels that never start a
      // shell, exec or sftp) is idle too: it is closed after the same timeout.
      const inputAt = () => lastInput.get(remote) ?? 0;
      let idle: { stop(): void } | undefined = idleWatch(channelContext, base, () => client.end(), { lastInput: inputAt });
      client.on('close', () => idle?.stop());
      // The role was fixed at login: a deleted account's connections end at once.
      const unwatch = app.services.accounts.onChange((c) => {
        if (c.kind === 'deleted' && c.user === user) client.end();
      });
      client.on('close', () => void unwatch());
      client.on('session', (accept, reject) => {
        if (channels >= maxSessions) return reject();
        channels++;
        opened++;
        const s = accept();
        const actor: Actor = { ...base, session: opened === 1 ? sessionId : `${sessionId}.${opened}` };
        let counted = false;
        wireSession(connection, s, actor, {
          start: () => {
            counted = true;
            running++;
            idle?.stop();
            idle = undefined;
          },
          done: () => {
            channels--;
            if (counted && --running === 0 && !closed) idle = idleWatch(channelContext, base, () => client.end(), { lastInput: inputAt });
          },
          lastInput: inputAt,
        });
      });
    });

    client.on('close', () => {
      closed = true;
      open.delete(client);
    });
  });

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
            tcp.close(() => res());
            for (const c of open) c.end();
            // Sockets that have not finished the SSH handshake have nothing to say goodbye to.
            setImmediate(() => {
              for (const sock of sockets) sock.destroy();
            });
          }),
      });
    });
  });
}
