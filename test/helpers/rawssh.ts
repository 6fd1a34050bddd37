// The unencrypted start of an SSH connection spoken by hand: the identification lines and the
// KEXINIT packets, so a test can read exactly what the server offers and what it says when it
// refuses, without any client library choosing for it.
import crypto from 'node:crypto';
import net from 'node:net';

export interface Kexinit {
  kex: string[];
  serverHostKey: string[];
  cipherCS: string[];
  cipherSC: string[];
  macCS: string[];
  macSC: string[];
  compressCS: string[];
  compressSC: string[];
  firstKexPacketFollows: boolean;
}

const MSG_DISCONNECT = 1;
const MSG_KEXINIT = 20;

/** A connection whose bytes are read as the identification line, then as binary packets. */
export class RawSsh {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  readonly sock: net.Socket;

  constructor(port: number, host = '127.0.0.1') {
    this.sock = net.connect(port, host);
    this.sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.sock.on('error', () => {});
    this.sock.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `n` bytes are buffered; fails when the connection ends first or after `ms`. */
  private async need(n: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`connection closed with ${this.buf.length} of ${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} bytes`);
      await new Promise<void>((res) => {
        const timer = setTimeout(res, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          res();
        });
      });
    }
  }

  /** Sends our identification and reads the server's (lines before it are skipped, RFC 4253 4.2). */
  async identify(ident = 'SSH-2.0-xway_rawtest', ms = 60_000): Promise<string> {
    this.sock.write(ident + '\r\n');
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl < 0) {
        await this.need(this.buf.length + 1, ms);
        continue;
      }
      const line = this.buf.subarray(0, nl).toString('latin1').replace(/\r$/, '');
      this.buf = this.buf.subarray(nl + 1);
      if (line.startsWith('SSH-')) return line;
    }
  }

  /** Reads one unencrypted binary packet; returns its payload. */
  async packet(ms = 60_000): Promise<Buffer> {
    await this.need(5, ms);
    const len = this.buf.readUInt32BE(0);
    if (len > 35_000) throw new Error(`packet length ${len}`);
    await this.need(4 + len, ms);
    const pad = this.buf[4]!;
    const payload = this.buf.subarray(5, 4 + len - pad);
    this.buf = this.buf.subarray(4 + len);
    return Buffer.from(payload);
  }

  /** Sends one unencrypted binary packet (padding to 8 bytes, at least 4). */
  send(payload: Buffer): void {
    let pad = 8 - ((5 + payload.length) % 8);
    if (pad < 4) pad += 8;
    const head = Buffer.alloc(5);
    head.writeUInt32BE(1 + payload.length + pad);
    head[4] = pad;
    this.sock.write(Buffer.concat([head, payload, crypto.randomBytes(pad)]));
  }

  close(): void {
    this.sock.destroy();
  }
}

function nameList(names: string[]): Buffer {
  const s = Buffer.from(names.join(','), 'latin1');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(s.length);
  return Buffer.concat([len, s]);
}

export function parseKexinit(payload: Buffer): Kexinit {
  if (payload[0] !== MSG_KEXINIT) throw new Error(`expected KEXINIT, got message ${payload[0]}`);
  let p = 17;
  const lists: string[][] = [];
  for (let i = 0; i < 10; i++) {
    const n = payload.readUInt32BE(p);
    const s = payload.subarray(p + 4, p + 4 + n).toString('latin1');
    lists.push(s === '' ? [] : s.split(','));
    p += 4 + n;
  }
  const [kex, serverHostKey, cipherCS, cipherSC, macCS, macSC, compressCS, compressSC] = lists as [string[], string[], string[], string[], string[], string[], string[], string[]];
  return { kex, serverHostKey, cipherCS, cipherSC, macCS, macSC, compressCS, compressSC, firstKexPacketFollows: payload[p] === 1 };
}

export function kexinitPacket(k: Omit<Kexinit, 'firstKexPacketFollows'>): Buffer {
  return Buffer.concat([
    Buffer.from([MSG_KEXINIT]),
    crypto.randomBytes(16),
    ...[k.kex, k.serverHostKey, k.cipherCS, k.cipherSC, k.macCS, k.macSC, k.compressCS, k.compressSC, [], []].map(nameList),
    Buffer.from([0, 0, 0, 0, 0]),
  ]);
}

/** A DISCONNECT payload's reason code and description; undefined for other messages. */
export function parseDisconnect(payload: Buffer): { reason: number; description: string } | undefined {
  if (payload[0] !== MSG_DISCONNECT) return undefined;
  const reason = payload.readUInt32BE(1);
  const n = payload.readUInt32BE(5);
  return { reason, description: payload.subarray(9, 9 + n).toString('utf8') };
}
