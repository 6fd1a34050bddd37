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
import type { SftpLimits } from './sftp.js';
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

export function startSshServer(opts: SshServerOptions): Promise<SshServer> {
  const { app } = opts;
  const now = opts.now ?? Date.now;
  const limits = new LoginLimits(opts.policy, now);
  const maxSessions = opts.maxSessionsPerConnection ?? 10;
  const open = new Set<Connection>();
  const sockets = new Set<net.Socket>();
  const channelContext = { app, now, sftp: opts.sftp };

  /** Admitted TCP connections by ip:port, until they authenticate or close. */
  const admitted = new Map<string, { release(authenticated: boolean): void }>();

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
        onSuccess: (name) => {
          user = name;
          release(true);
        },
        disconnect: () => client.end(),
      }),
    );

    client.on('ready', () => {
      const role = app.services.accounts.roleOf(user) ?? 'ReadOnly';
      let channels = 0;
      let running = 0;
      let opened = 0;
      const base: Actor = { user, role, remote, session: sessionId };
      // A logged-in connection with nothing running (no channel, or channels that never start a
      // shell, exec or sftp) is idle too: it is closed after the same timeout.
      let idle: { stop(): void } | undefined = idleWatch(channelContext, base, () => client.end());
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
        wireSession(channelContext, s, actor, {
          start: () => {
            counted = true;
            running++;
            idle?.stop();
            idle = undefined;
          },
          done: () => {
            channels--;
            if (counted && --running === 0 && !closed) idle = idleWatch(channelContext, base, () => client.end());
          },
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
