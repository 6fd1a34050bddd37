// A front for Debian's Pebble 2.4, which offers neither ACME Renewal Information (RFC 9773) nor
// profiles (draft-ietf-acme-profiles): an HTTPS reverse proxy on loopback port 0 that
// - adds `renewalInfo` and `meta.profiles` to the directory,
// - answers `renewalInfo/<certID>` itself with the windows the test sets (and Retry-After),
// - reads each new order's JWS payload to record its `replaces` and `profile`, refuses an unknown
//   profile (invalidProfile or malformed, as CAs do) and a `replaces` the test marked (alreadyReplaced),
// - forwards everything else to Pebble with the Host header unchanged: Pebble builds every URL
//   it returns (and checks each JWS `url`) from that header, so they name the front by themselves.
// It serves Pebble's own HTTPS identity, so whoever trusts Pebble trusts the front.
import fs from 'node:fs';
import https from 'node:https';
import type http from 'node:http';
import type net from 'node:net';
import { httpsIdentity, type Pebble } from './acme-pebble.js';

export interface WindowSpec {
  /** Epoch ms or Date. */
  readonly start: number | Date;
  readonly end: number | Date;
  readonly explanationURL?: string;
  /** Sent as is (seconds or an HTTP date); omitted when undefined. */
  readonly retryAfter?: string;
}

export interface FrontOrder {
  readonly identifiers: string[];
  readonly replaces?: string;
  readonly profile?: string;
  /** The ACME error type the front answered with, when it refused the order. */
  readonly refused?: string;
}

export interface AriFrontOptions {
  /** meta.profiles (name → description); Let's Encrypt's three when omitted, none when `{}`. */
  readonly profiles?: Record<string, string>;
  /** What an unknown profile gets: draft-ietf-acme-profiles' invalidProfile (default) or malformed (Pebble, older CAs). */
  readonly unknownProfileError?: 'invalidProfile' | 'malformed';
  /** Leave `renewalInfo` out of the directory (a CA without ARI). */
  readonly noRenewalInfo?: boolean;
}

export interface AriFront {
  readonly port: number;
  /** The front's directory URL: use it instead of Pebble's. */
  readonly directoryUrl: string;
  /** New orders seen, in order. */
  readonly orders: FrontOrder[];
  /** Certificate IDs asked for under renewalInfo/, in order. */
  readonly renewalInfoAsked: string[];
  /** Sets the window served for `certId` ('*': every certificate without its own). */
  setWindow(certId: string, w: WindowSpec): void;
  /** Further orders naming `certId` in `replaces` get alreadyReplaced (409). */
  markReplaced(certId: string): void;
  close(): Promise<void>;
}

export const LETSENCRYPT_PROFILES: Record<string, string> = {
  classic: 'The same profile you are accustomed to (90 days)',
  tlsserver: 'Certificates for TLS servers only (45 days)',
  shortlived: 'Short-lived certificates (160 hours)',
};

const HOUR = 3_600_000;

/** A window relative to `now`: 'future' starts in a day, 'now' contains now, 'past' has ended. */
export function windowAt(kind: 'future' | 'now' | 'past', now: number, spanMs = 2 * HOUR): { start: number; end: number } {
  if (kind === 'future') return { start: now + 24 * HOUR, end: now + 24 * HOUR + spanMs };
  if (kind === 'now') return { start: now - spanMs / 2, end: now + spanMs / 2 };
  return { start: now - 24 * HOUR - spanMs, end: now - 24 * HOUR };
}

const iso = (t: number | Date) => new Date(t).toISOString();
const MAX_BODY = 256 * 1024;

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The JSON payload of a flattened JWS, or undefined when it is not one. */
function jwsPayload(body: Buffer): Record<string, unknown> | undefined {
  try {
    const jws = JSON.parse(body.toString('utf8')) as { payload?: unknown };
    if (typeof jws.payload !== 'string' || jws.payload === '') return undefined;
    const p = JSON.parse(Buffer.from(jws.payload, 'base64url').toString('utf8')) as unknown;
    return typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export async function startAriFront(pebble: Pebble, opts: AriFrontOptions = {}, teardown?: (fn: () => Promise<void>) => void): Promise<AriFront> {
  const upstream = new URL(pebble.directoryUrl);
  const ca = pebble.httpsCaPem;
  const agent = new https.Agent({ ca, keepAlive: true, maxSockets: 16 });
  const profiles = opts.profiles ?? LETSENCRYPT_PROFILES;
  const windows = new Map<string, WindowSpec>();
  const replaced = new Set<string>();
  const orders: FrontOrder[] = [];
  const renewalInfoAsked: string[] = [];

  /** One request to Pebble with the client's Host header; the whole answer. */
  const toPebble = (method: string, path: string, headers: http.IncomingHttpHeaders, body?: Buffer) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const h = { ...headers };
      delete h['content-length'];
      if (body) h['content-length'] = String(body.length);
      const r = https.request({ host: upstream.hostname, port: upstream.port, method, path, headers: h, agent, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      r.on('timeout', () => r.destroy(new Error('pebble did not answer')));
      r.on('error', reject);
      r.end(body);
    });

  // Pebble's own resource paths (new order, new nonce), read once from its directory.
  const dir = await toPebble('GET', upstream.pathname, { host: upstream.host });
  const pebbleDir = JSON.parse(dir.body.toString('utf8')) as Record<string, unknown>;
  const newOrderPath = new URL(String(pebbleDir.newOrder)).pathname;
  const newNoncePath = new URL(String(pebbleDir.newNonce)).pathname;

  const send = (res: http.ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string) => {
    const b = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...headers, 'content-length': String(b.length) });
    res.end(b);
  };

  /** An ACME problem document, with a fresh nonce from Pebble as a real CA would send. */
  const problem = async (req: http.IncomingMessage, res: http.ServerResponse, status: number, type: string, detail: string) => {
    const n = await toPebble('HEAD', newNoncePath, { host: req.headers.host });
    const nonce = n.headers['replay-nonce'];
    send(res, status, { 'content-type': 'application/problem+json', ...(typeof nonce === 'string' ? { 'replay-nonce': nonce } : {}) },
      JSON.stringify({ type: `urn:ietf:params:acme:error:${type}`, detail, status }));
  };

  const pass = (res: http.ServerResponse, a: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }) => {
    const h: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(a.headers)) {
      if (v !== undefined && !['connection', 'keep-alive', 'transfer-encoding', 'content-length'].includes(k)) h[k] = v;
    }
    res.writeHead(a.status, { ...h, 'content-length': String(a.body.length) });
    res.end(a.body);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'https://front.invalid').pathname;
    const host = req.headers.host ?? '';
    if (req.method === 'GET' && path === upstream.pathname) {
      const a = await toPebble('GET', req.url ?? path, req.headers);
      const d = JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
      if (!opts.noRenewalInfo) d.renewalInfo = `https://${host}/renewalInfo`;
      d.meta = { ...(d.meta as object | undefined), ...(Object.keys(profiles).length ? { profiles } : {}) };
      return send(res, 200, { 'content-type': 'application/json' }, JSON.stringify(d, null, 2));
    }
    const ri = /^\/renewalInfo\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && ri) {
      const id = decodeURIComponent(ri[1]!);
      renewalInfoAsked.push(id);
      const w = windows.get(id) ?? windows.get('*');
      if (!w) return send(res, 404, { 'content-type': 'application/problem+json' }, JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: `no renewal information for ${id}`, status: 404 }));
      return send(res, 200, { 'content-type': 'application/json', ...(w.retryAfter !== undefined ? { 'retry-after': w.retryAfter } : {}) },
        JSON.stringify({ suggestedWindow: { start: iso(w.start), end: iso(w.end) }, ...(w.explanationURL ? { explanationURL: w.explanationURL } : {}) }));
    }
    const body = req.method === 'POST' || req.method === 'PUT' ? await readBody(req) : undefined;
    if (req.method === 'POST' && path === newOrderPath && body) {
      const p = jwsPayload(body) ?? {};
      const identifiers = Array.isArray(p.identifiers) ? p.identifiers.map((i) => String((i as { value?: unknown }).value)) : [];
      const order = {
        identifiers,
        ...(typeof p.replaces === 'string' ? { replaces: p.replaces } : {}),
        ...(typeof p.profile === 'string' ? { profile: p.profile } : {}),
      };
      if (order.profile !== undefined && !Object.hasOwn(profiles, order.profile)) {
        const type = opts.unknownProfileError ?? 'invalidProfile';
        orders.push({ ...order, refused: type });
        return problem(req, res, 400, type, `profile "${order.profile}" is not offered; offered: ${Object.keys(profiles).join(', ') || 'none'}`);
      }
      if (order.replaces !== undefined && replaced.has(order.replaces)) {
        orders.push({ ...order, refused: 'alreadyReplaced' });
        return problem(req, res, 409, 'alreadyReplaced', `certificate ${order.replaces} has already been replaced`);
      }
      orders.push(order);
    }
    pass(res, await toPebble(req.method ?? 'GET', req.url ?? path, req.headers, body));
  };

  const id = httpsIdentity();
  const server = https.createServer({ cert: fs.readFileSync(id.cert), key: fs.readFileSync(id.key) }, (req, res) => {
    handle(req, res).catch((e: Error) => {
      if (!res.headersSent) send(res, 502, { 'content-type': 'text/plain' }, `front: ${e.message}`);
      else res.destroy();
    });
  });
  // Every accepted connection, so close() ends keep-alive ones instead of waiting for them.
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => { const so = s as net.Socket; sockets.add(so); so.on('close', () => sockets.delete(so)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= new Promise<void>((r) => {
    agent.destroy();
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  teardown?.(close);
  return {
    port,
    directoryUrl: `https://127.0.0.1:${port}${upstream.pathname}`,
    orders,
    renewalInfoAsked,
    setWindow: (certId, w) => void windows.set(certId, w),
    markReplaced: (certId) => void replaced.add(certId),
    close,
  };
}
