// The HTTPS listener (server certificate, SNI domain certificates, tls-alpn-01 challenge
// certificates; `/` and the paths services register, such as /metrics) and the plain HTTP listener (ACME challenges first, then a redirect to HTTPS or 404). Building is separate from listening:
// tests start both on port 0; main.ts listens on the configured ports.
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { ChallengeHandler, HttpsHandler, TlsService } from '../interfaces.js';
import { ParameterError } from '../../errors.js';
import type { Logger } from '../../platform/log.js';
import { readClientHello, MAX_HELLO_BYTES, ACME_TLS_1 } from './sni.js';
import { sniMatch } from './sni-match.js';
import { contextOptions, newTicketKeys, SESSION_TIMEOUT, MIN_VERSION, CIPHERS } from './options.js';

export interface Pem {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface WebListenersOptions {
  readonly server: Pem;
  readonly domains?: readonly (Pem & { name: string })[];
  readonly logger: Logger;
  readonly redirect?: boolean;
  /** The HTTPS port named in redirects; defaults to the port the HTTPS listener is bound to. */
  readonly publicHttpsPort?: number;
  readonly ticketKeys?: Buffer;
  /** How long an HTTPS connection may take for its headers, and stay idle between requests (default 5 s). */
  readonly idleMs?: number;
}

export const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** Validates a certificate (with chain) and key before they reach OpenSSL; returns the leaf. */
function checkPair(p: Pem, what: string): crypto.X509Certificate {
  let leaf: crypto.X509Certificate;
  try {
    leaf = new crypto.X509Certificate(p.certPem);
    if (!leaf.checkPrivateKey(crypto.createPrivateKey(p.keyPem))) throw new Error('mismatch');
  } catch {
    throw new ParameterError(`The ${what} certificate and key are not a matching pair`);
  }
  return leaf;
}

export class WebListeners implements TlsService {
  /** Accepts TCP connections on the HTTPS port and hands each to the server of its SNI name. */
  readonly front: net.Server;
  /** Serves the server certificate (and clients without SNI or with an unknown name). */
  readonly https: https.Server;
  readonly http: http.Server;
  private readonly ticketKeys: Buffer;
  private current: { serial: string; fingerprint: string; certPem: string };
  /** Hosted name (`a.example.com` or `*.example.com`) -> the server of its certificate. */
  private readonly domainServers = new Map<string, https.Server>();
  /** The hosted wildcards whose certificate also names their base (`example.com` for `*.example.com`). */
  private readonly namingBase = new Set<string>();
  private readonly alpnChallenges = new Map<string, AlpnChallengeServer>();
  private readonly routing = new Set<net.Socket>();
  private challenge: ChallengeHandler | undefined;
  private readonly routes = new Map<string, HttpsHandler>();
  private redirect: boolean;
  private boundHttpsPort = 443;

  constructor(private readonly opts: WebListenersOptions) {
    this.ticketKeys = opts.ticketKeys ?? newTicketKeys();
    this.redirect = opts.redirect ?? false;
    const leaf = checkPair(opts.server, 'server');
    this.current = { serial: leaf.serialNumber.toUpperCase(), fingerprint: leaf.fingerprint256, certPem: opts.server.certPem };
    this.https = this.secureServer(opts.server);
    for (const d of opts.domains ?? []) this.setDomain(d.name, d);
    // Paused on connect: a connection handed straight to TLS is never read by JS first (as in a
    // bare tls.Server); only SNI routing reads the ClientHello.
    this.front = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.route(socket));
    this.http = http.createServer(
      { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8192, connectionsCheckingInterval: 1000 },
      (req, res) => this.onHttp(req, res),
    );
    this.http.on('clientError', (_e, socket: net.Socket) => socket.destroy());
  }

  listenHttps(port: number, host = '127.0.0.1'): Promise<number> {
    return listen(this.front, port, host).then((p) => (this.boundHttpsPort = p));
  }

  listenHttp(port: number, host = '127.0.0.1'): Promise<number> {
    return listen(this.http, port, host);
  }

  async close(): Promise<void> {
    for (const s of this.routing) s.destroy();
    for (const s of [this.https, ...this.domainServers.values()]) retire(s);
    for (const c of this.alpnChallenges.values()) c.close();
    this.alpnChallenges.clear();
    await Promise.all([this.front, this.http].map((s) => new Promise<void>((resolve) => {
      if (!s.listening) return resolve();
      s.close(() => resolve());
      if (s instanceof http.Server) s.closeAllConnections();
    })));
  }

  async swapServer(certPem: string, keyPem: string): Promise<{ serial: string }> {
    const leaf = checkPair({ certPem, keyPem }, 'server');
    // setSecureContext replaces every option: pass the full set, with the same ticket keys.
    this.https.setSecureContext(contextOptions(certPem, keyPem, this.ticketKeys));
    this.current = { serial: leaf.serialNumber.toUpperCase(), fingerprint: leaf.fingerprint256, certPem };
    this.opts.logger.log({ event: 'tls.swapped', serial: this.current.serial });
    return { serial: this.current.serial };
  }

  setDomain(name: string, pair: Pem | undefined): void {
    const n = name.toLowerCase();
    const existing = this.domainServers.get(n);
    if (!pair) {
      // Open connections of the domain keep going; new ones get the server certificate.
      this.domainServers.delete(n);
      this.namingBase.delete(n);
      if (existing) retire(existing, false);
      return;
    }
    const leaf = checkPair(pair, n);
    if (n.startsWith('*.') && leaf.checkHost(n.slice(2)) !== undefined) this.namingBase.add(n);
    else this.namingBase.delete(n);
    if (existing) existing.setSecureContext(contextOptions(pair.certPem, pair.keyPem, this.ticketKeys));
    else this.domainServers.set(n, this.secureServer(pair));
  }

  setAlpnChallenge(name: string, pair: Pem | undefined): void {
    const n = name.toLowerCase();
    if (pair) {
      const leaf = checkPair(pair, `tls-alpn-01 ${n}`);
      if (leaf.subjectAltName !== `DNS:${n}`) throw new ParameterError(`The tls-alpn-01 certificate must name exactly DNS:${n}`);
    }
    // A new challenge replaces the old one outright: the old key authorization is worthless.
    this.alpnChallenges.get(n)?.close();
    this.alpnChallenges.delete(n);
    if (pair) this.alpnChallenges.set(n, new AlpnChallengeServer(n, pair, this.opts.logger));
  }

  /** An HTTPS server that never listens itself: the front hands it connections. */
  private secureServer(pair: Pem): https.Server {
    const s = https.createServer(
      {
        ...contextOptions(pair.certPem, pair.keyPem, this.ticketKeys),
        handshakeTimeout: 10_000,
        headersTimeout: this.opts.idleMs ?? 5_000,
        keepAliveTimeout: this.opts.idleMs ?? 5_000,
        requestTimeout: Math.max(10_000, (this.opts.idleMs ?? 0) * 2),
        maxHeaderSize: 8192,
        // Node checks the two timeouts above only this often (default 30 s): a slow-header
        // client would otherwise hold a connection six times longer than headersTimeout says.
        connectionsCheckingInterval: 1000,
      },
      (req, res) => this.onHttps(req, res),
    );
    s.on('clientError', (_e, socket: net.Socket) => socket.destroy());
    s.on('tlsClientError', () => undefined);
    // Node starts its connection tracking and request timeouts on 'listening'; this server gets
    // its connections from the front instead of listen(), so start them the same way.
    s.emit('listening');
    return s;
  }

  /** Reads the ClientHello (bounded in size and time), then passes the untouched bytes on. */
  private route(socket: net.Socket): void {
    // Without hosted domains or challenges there is nothing to choose: hand over at once, no peeking.
    if (this.domainServers.size === 0 && this.alpnChallenges.size === 0) {
      this.https.emit('connection', socket);
      return;
    }
    this.routing.add(socket);
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => socket.destroy(), 10_000);
    const finish = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      this.routing.delete(socket);
    };
    const onError = () => finish();
    const onClose = () => finish();
    const onData = (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      const buf = chunks.length === 1 ? d : Buffer.concat(chunks);
      const hello = readClientHello(buf);
      if (hello.kind === 'more' && size < MAX_HELLO_BYTES) return;
      finish();
      socket.pause();
      socket.unshift(buf);
      const name = hello.kind === 'hello' ? hello.servername : undefined;
      // Only a hello asking for acme-tls/1 reaches a challenge certificate; one for a name without
      // a challenge goes on as usual, where the servers' http/1.1-only ALPN refuses it.
      const validator = hello.kind === 'hello' && hello.alpn?.includes(ACME_TLS_1) === true;
      const challenge = validator && name !== undefined ? this.alpnChallenges.get(name) : undefined;
      if (challenge) return challenge.accept(socket);
      const hosted = name !== undefined ? sniMatch(name, (n) => this.domainServers.has(n), (w) => this.namingBase.has(w)) : undefined;
      const target = (hosted !== undefined ? this.domainServers.get(hosted) : undefined) ?? this.https;
      target.emit('connection', socket);
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.resume();
  }

  currentServer(): { serial: string; fingerprint: string; certPem: string } {
    return this.current;
  }

  setChallengeHandler(handler: ChallengeHandler | undefined): void {
    this.challenge = handler;
  }

  setRedirect(on: boolean): void {
    this.redirect = on;
  }

  setHttpsRoute(path: string, handler: HttpsHandler | undefined): void {
    if (handler) this.routes.set(path, handler);
    else this.routes.delete(path);
  }

  private onHttps(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    const route = this.routes.get((req.url ?? '/').split('?', 1)[0]!);
    if (route) {
      try {
        return route(req, res);
      } catch (e) {
        this.opts.logger.log({ event: 'https.route-failed', level: 'error', error: String(e) });
        if (!res.headersSent) return reply(res, 500, 'Internal error\n');
        return void res.destroy();
      }
    }
    if ((req.method === 'GET' || req.method === 'HEAD') && req.url === '/') return reply(res, 200, 'xway\n');
    reply(res, 404, 'Not found\n');
  }

  private onHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    const isChallenge = url.startsWith(CHALLENGE_PREFIX);
    if (isChallenge && this.challenge) {
      try {
        if (this.challenge(req, res)) return;
      } catch (e) {
        this.opts.logger.log({ event: 'http.challenge-failed', level: 'error', error: String(e) });
        if (!res.headersSent) return reply(res, 500, 'Internal error\n');
        return void res.destroy();
      }
    }
    if (this.redirect && !isChallenge && url.startsWith('/')) {
      const host = req.headers.host ?? '';
      if (!HOST.test(host)) return reply(res, 400, 'Bad request\n');
      const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
      const port = this.opts.publicHttpsPort ?? this.boundHttpsPort;
      res.setHeader('Location', `https://${name}${port === 443 ? '' : `:${port}`}${url}`);
      return reply(res, 301, 'Moved permanently\n');
    }
    reply(res, 404, 'Not found\n');
  }
}

/**
 * Answers tls-alpn-01 validators for one name: a TLS server (never listening itself) with the
 * challenge certificate that negotiates only `acme-tls/1`, only for its name, and closes each
 * connection after the handshake (RFC 8737 section 3: the validator sends no data).
 */
class AlpnChallengeServer {
  private readonly server: tls.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly name: string, pair: Pem, logger: Logger) {
    this.server = tls.createServer({
      // Own ticket keys: no session of the ordinary listener resumes here, nor the reverse.
      ...contextOptions(pair.certPem, pair.keyPem, newTicketKeys()),
      handshakeTimeout: 10_000,
      // Checked again by OpenSSL itself, whatever the routing read: anything else gets the
      // no_application_protocol alert before a certificate is sent.
      ALPNCallback: ({ servername, protocols }) =>
        servername?.toLowerCase().replace(/\.$/, '') === name && protocols.includes(ACME_TLS_1) ? ACME_TLS_1 : undefined,
    }, (socket) => {
      logger.log({ event: 'tls.alpn-challenge', name });
      socket.on('error', () => undefined);
      socket.end();
      // A validator closes at once; one that does not is not waited for.
      socket.setTimeout(5_000, () => socket.destroy());
    });
    this.server.on('tlsClientError', () => undefined);
  }

  accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.server.emit('connection', socket);
  }

  /** Ends every connection, open handshakes included: the challenge is no longer served. */
  close(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }
}

/** Stops a non-listening server's timers; with `hard`, also ends its connections. */
function retire(s: https.Server, hard = true): void {
  s.close(() => undefined);
  if (hard) s.closeAllConnections();
}

function reply(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function listen(server: net.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** The same settings, for a bare tls.Server in tests and benchmarks. */
export const TLS_SETTINGS = { minVersion: MIN_VERSION, ciphers: CIPHERS, sessionTimeout: SESSION_TIMEOUT };
