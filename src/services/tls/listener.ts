// The HTTPS listener (server certificate, SNI domain certificates) and the plain HTTP listener
// (ACME challenges first, then a redirect to HTTPS or 404). Building is separate from listening:
// tests start both on port 0; main.ts listens on the configured ports.
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import type { ChallengeHandler, TlsService } from '../interfaces.js';
import { ParameterError } from '../../errors.js';
import type { Logger } from '../../platform/log.js';
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
  readonly https: https.Server;
  readonly http: http.Server;
  private readonly ticketKeys: Buffer;
  private current: { serial: string; fingerprint: string; certPem: string };
  private readonly domainContexts = new Map<string, tls.SecureContext>();
  private challenge: ChallengeHandler | undefined;
  private redirect: boolean;
  private boundHttpsPort = 443;

  constructor(private readonly opts: WebListenersOptions) {
    this.ticketKeys = opts.ticketKeys ?? newTicketKeys();
    this.redirect = opts.redirect ?? false;
    const leaf = checkPair(opts.server, 'server');
    this.current = { serial: leaf.serialNumber.toUpperCase(), fingerprint: leaf.fingerprint256, certPem: opts.server.certPem };
    for (const d of opts.domains ?? []) this.setDomain(d.name, d);
    this.https = https.createServer(
      {
        ...contextOptions(opts.server.certPem, opts.server.keyPem, this.ticketKeys),
        handshakeTimeout: 10_000,
        requestTimeout: 10_000,
        headersTimeout: 5_000,
        keepAliveTimeout: 5_000,
        maxHeaderSize: 8192,
        SNICallback: (name, cb) => cb(null, this.domainContexts.get(name.toLowerCase())),
      },
      (req, res) => this.onHttps(req, res),
    );
    this.http = http.createServer(
      { requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000, maxHeaderSize: 8192 },
      (req, res) => this.onHttp(req, res),
    );
    for (const s of [this.https, this.http]) s.on('clientError', (_e, socket: net.Socket) => socket.destroy());
  }

  listenHttps(port: number, host = '127.0.0.1'): Promise<number> {
    return listen(this.https, port, host).then((p) => (this.boundHttpsPort = p));
  }

  listenHttp(port: number, host = '127.0.0.1'): Promise<number> {
    return listen(this.http, port, host);
  }

  async close(): Promise<void> {
    await Promise.all([this.https, this.http].map((s) => new Promise<void>((resolve) => {
      if (!s.listening) return resolve();
      s.close(() => resolve());
      s.closeAllConnections();
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
    if (!pair) {
      this.domainContexts.delete(n);
      return;
    }
    checkPair(pair, `${n}`);
    this.domainContexts.set(n, tls.createSecureContext(contextOptions(pair.certPem, pair.keyPem, this.ticketKeys)));
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

  private onHttps(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.setHeader('Strict-Transport-Security', 'max-age=31536000');
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
