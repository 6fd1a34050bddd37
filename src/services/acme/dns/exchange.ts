// One request, one reply, with one server: TCP (two-byte length prefix, RFC 1035 4.2.2) for
// updates, UDP for queries with a retry over TCP when the reply is truncated. Every exchange is
// bounded by a timeout on the injected clock; a server that does not answer is DnsUnreachable.
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Clock } from '../../../platform/clock.js';
import { DnsBadReply, DnsUnreachable } from './errors.js';
import { DnsFormatError, OPCODE, decodeMessage, encodeMessage, sameName, type Message } from './wire.js';

export interface DnsServer {
  readonly host: string;
  readonly port: number;
}

export interface ExchangeOptions {
  readonly clock: Clock;
  readonly timeoutMs: number;
}

export const describeServer = (s: DnsServer): string => (net.isIPv6(s.host) ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);

const WHY: Record<string, string> = {
  ECONNREFUSED: 'connection refused', ECONNRESET: 'connection reset', EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable', ENOTFOUND: 'no such host', EAI_AGAIN: 'its name does not resolve',
};

function unreachable(server: DnsServer, why: string): DnsUnreachable {
  return new DnsUnreachable(`DNS server ${describeServer(server)} is unreachable: ${why}`);
}

function networkError(server: DnsServer, err: NodeJS.ErrnoException): DnsUnreachable {
  return unreachable(server, WHY[err.code ?? ''] ?? err.code ?? 'network error');
}

/** Runs `start` until it settles or the timeout fires; `cleanup` always runs once. */
function bounded<T>(server: DnsServer, o: ExchangeOptions, start: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cleanup: () => void = () => {};
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      timer.cancel();
      cleanup();
      fn();
    };
    const timer = o.clock.setTimeout(() => finish(() => reject(unreachable(server, `no answer within ${o.timeoutMs / 1000} s`))), o.timeoutMs);
    cleanup = start((v) => finish(() => resolve(v)), (e) => finish(() => reject(e)));
  });
}

export function exchangeTcp(server: DnsServer, request: Buffer, o: ExchangeOptions): Promise<Buffer> {
  return bounded<Buffer>(server, o, (resolve, reject) => {
    const socket = net.connect({ host: server.host, port: server.port });
    socket.setNoDelay(true);
    let received = Buffer.alloc(0);
    socket.on('connect', () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(request.length);
      socket.write(Buffer.concat([length, request]));
    });
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
    });
    socket.on('error', (e: NodeJS.ErrnoException) => reject(networkError(server, e)));
    socket.on('close', () => reject(unreachable(server, 'it closed the connection without a reply')));
    return () => socket.destroy();
  });
}

export function exchangeUdp(server: DnsServer, request: Buffer, o: ExchangeOptions): Promise<Buffer> {
  return bounded<Buffer>(server, o, (resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const id = request.readUInt16BE(0);
    // A connected socket hears only this server, and hears its ICMP "port unreachable" as ECONNREFUSED.
    socket.connect(server.port, server.host, ((err?: NodeJS.ErrnoException) => {
      if (err) reject(networkError(server, err));
      else socket.send(request);
    }) as () => void);
    socket.on('message', (msg) => {
      // Replies to someone else (or forged ones with a wrong ID) are ignored, not fatal.
      if (msg.length >= 2 && msg.readUInt16BE(0) === id) resolve(msg);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => reject(networkError(server, e)));
    return () => { try { socket.close(); } catch { /* already closed */ } };
  });
}

/** Decodes a reply and checks it answers `request` (same ID, a response, the same opcode). */
export function readReply(server: DnsServer, request: { id: number; opcode: number }, raw: Buffer): Message {
  let m: Message;
  try {
    m = decodeMessage(raw);
  } catch (e) {
    if (e instanceof DnsFormatError) throw new DnsBadReply(`DNS server ${describeServer(server)} sent a reply we cannot read (${e.message})`);
    throw e;
  }
  if (m.header.id !== request.id || !m.header.qr || m.header.opcode !== request.opcode) {
    throw new DnsBadReply(`DNS server ${describeServer(server)} sent a reply that does not answer our request`);
  }
  return m;
}

export const randomId = (): number => crypto.randomInt(0, 0x10000);

/** An unsigned, non-recursive question; a truncated UDP answer is asked again over TCP. */
export async function query(server: DnsServer, name: string, type: number, o: ExchangeOptions): Promise<Message> {
  const id = randomId();
  const request = encodeMessage({ id, opcode: OPCODE.QUERY, question: [{ name, type, class: 1 }] });
  let m = readReply(server, { id, opcode: OPCODE.QUERY }, await exchangeUdp(server, request, o));
  if (m.header.tc) m = readReply(server, { id, opcode: OPCODE.QUERY }, await exchangeTcp(server, request, o));
  const q = m.question[0];
  if (m.question.length > 1 || (q && (!sameName(q.name, name) || q.type !== type))) {
    throw new DnsBadReply(`DNS server ${describeServer(server)} answered a different question`);
  }
  return m;
}
