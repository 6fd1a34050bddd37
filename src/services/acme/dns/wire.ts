// DNS messages on the wire (RFC 1035 section 4, RFC 2136 section 2): just what dns-01 needs.
// Encoding takes names and raw RDATA; decoding reads the record types we look at (SOA, NS, A, AAAA,
// TXT, TSIG) and keeps every record's offset, because TSIG verification works on the bytes as
// received. Decoding trusts nothing: every read is bounded, compression pointers may only point
// backwards, and anything odd is a DnsFormatError.

export const TYPE = { A: 1, NS: 2, SOA: 6, TXT: 16, AAAA: 28, OPT: 41, TSIG: 250 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE = { QUERY: 0, UPDATE: 5 } as const;

/** Response codes (RFC 1035, RFC 2136) and the TSIG error codes (RFC 8945) that share the space. */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED',
  6: 'YXDOMAIN', 7: 'YXRRSET', 8: 'NXRRSET', 9: 'NOTAUTH', 10: 'NOTZONE',
  16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC',
};
export const rcodeName = (code: number): string => RCODE_NAMES[code] ?? `RCODE${code}`;

/** The bytes received are not a DNS message we can read. */
export class DnsFormatError extends Error {
  constructor(what: string) {
    super(`malformed DNS message: ${what}`);
    this.name = 'DnsFormatError';
  }
}

export interface Header {
  readonly id: number;
  readonly qr: boolean;
  readonly opcode: number;
  readonly aa: boolean;
  readonly tc: boolean;
  readonly rd: boolean;
  readonly rcode: number;
}

export interface Question {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

/** A record to encode: its RDATA is already in wire form. */
export interface RecordOut {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly rdata: Uint8Array;
}

export interface Soa { readonly mname: string; readonly rname: string; readonly serial: number; readonly minimum: number }

export interface Tsig {
  readonly algorithm: string;
  /** Seconds since the epoch (48 bits on the wire). */
  readonly timeSigned: number;
  readonly fudge: number;
  readonly mac: Buffer;
  readonly originalId: number;
  readonly error: number;
  readonly other: Buffer;
}

export type RecordData =
  | { readonly kind: 'name'; readonly name: string } // NS
  | { readonly kind: 'soa'; readonly soa: Soa }
  | { readonly kind: 'address'; readonly address: string } // A, AAAA
  | { readonly kind: 'txt'; readonly strings: readonly Buffer[] }
  | { readonly kind: 'tsig'; readonly tsig: Tsig }
  | { readonly kind: 'raw' };

export interface RecordIn {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly rdata: Buffer;
  readonly data: RecordData;
  /** Where the record starts in the message (TSIG strips itself from here on). */
  readonly offset: number;
}

export interface Message {
  readonly header: Header;
  readonly question: readonly Question[];
  readonly answer: readonly RecordIn[];
  readonly authority: readonly RecordIn[];
  readonly additional: readonly RecordIn[];
}

// ---------- names ----------

const LABEL = /^[A-Za-z0-9_-]{1,63}$/;

/** Lower case, no trailing dot; the root is ''. */
export function normalizeName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

export const sameName = (a: string, b: string): boolean => normalizeName(a) === normalizeName(b);

/** `name` equals `zone` or lies below it. */
export function inZone(name: string, zone: string): boolean {
  const n = normalizeName(name);
  const z = normalizeName(zone);
  return z === '' || n === z || n.endsWith(`.${z}`);
}

/** Host-name style names only (letters, digits, hyphen, underscore): we never need more. */
export function isValidName(name: string): boolean {
  const n = name.replace(/\.$/, '');
  if (n === '') return true;
  const labels = n.split('.');
  return labels.every((l) => LABEL.test(l)) && n.length + 2 <= 255;
}

/** Uncompressed wire form; with `lower`, the canonical form TSIG digests use (RFC 8945 4.3.3). */
export function nameToWire(name: string, lower = false): Buffer {
  if (!isValidName(name)) throw new RangeError(`not a valid DNS name: ${JSON.stringify(name).slice(0, 80)}`);
  const n = name.replace(/\.$/, '');
  const parts: Buffer[] = [];
  for (const label of n === '' ? [] : n.split('.')) {
    const b = Buffer.from(lower ? label.toLowerCase() : label, 'ascii');
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

// ---------- encoding ----------

export interface MessageOut {
  readonly id: number;
  readonly opcode: number;
  readonly rd?: boolean;
  /** The question, or for UPDATE the zone section. */
  readonly question: readonly Question[];
  /** Answer, or for UPDATE the prerequisite section. */
  readonly answer?: readonly RecordOut[];
  /** Authority, or for UPDATE the update section. */
  readonly authority?: readonly RecordOut[];
  readonly additional?: readonly RecordOut[];
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * Owner names repeated verbatim are written as a pointer to their first occurrence (as nsupdate
 * does: an order's values share one `_acme-challenge` name); suffixes are not compressed.
 */
export function encodeMessage(m: MessageOut): Buffer {
  const chunks: Buffer[] = [];
  let length = 0;
  const push = (b: Buffer) => { chunks.push(b); length += b.length; };
  const seen = new Map<string, number>();
  const writeName = (name: string) => {
    const key = normalizeName(name);
    const at = seen.get(key);
    if (at !== undefined) { push(u16(0xc000 | at)); return; }
    if (length < 0x4000 && key !== '') seen.set(key, length);
    push(nameToWire(name));
  };
  const answer = m.answer ?? [];
  const authority = m.authority ?? [];
  const additional = m.additional ?? [];
  const flags = (m.opcode & 0xf) << 11 | (m.rd ? 0x0100 : 0);
  push(u16(m.id));
  push(u16(flags));
  for (const n of [m.question.length, answer.length, authority.length, additional.length]) push(u16(n));
  for (const q of m.question) {
    writeName(q.name);
    push(u16(q.type));
    push(u16(q.class));
  }
  for (const r of [...answer, ...authority, ...additional]) {
    writeName(r.name);
    push(u16(r.type));
    push(u16(r.class));
    push(u32(r.ttl));
    push(u16(r.rdata.length));
    push(Buffer.from(r.rdata));
  }
  return Buffer.concat(chunks, length);
}

/** TXT RDATA: the value as character-strings of at most 255 bytes (RFC 1035 3.3.14). */
export function txtRdata(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let i = 0; i === 0 || i < bytes.length; i += 255) {
    const chunk = bytes.subarray(i, i + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** A TXT record's value as one string: its character-strings joined (how ACME values are compared). */
export function txtValue(strings: readonly Buffer[]): string {
  return Buffer.concat(strings).toString('utf8');
}

// ---------- decoding ----------

class Reader {
  constructor(readonly buf: Buffer, public pos = 0) {}

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new DnsFormatError(`${what} runs past the end`);
  }
  u8(what: string): number { this.need(1, what); return this.buf[this.pos++]!; }
  u16(what: string): number { this.need(2, what); const v = this.buf.readUInt16BE(this.pos); this.pos += 2; return v; }
  u32(what: string): number { this.need(4, what); const v = this.buf.readUInt32BE(this.pos); this.pos += 4; return v; }
  bytes(n: number, what: string): Buffer { this.need(n, what); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }

  /** A possibly compressed name; the reader ends after the name's bytes at this position. */
  name(): string {
    const labels: string[] = [];
    let pos = this.pos;
    let end = -1;
    let wireLength = 1;
    for (let jumps = 0; ; ) {
      if (pos >= this.buf.length) throw new DnsFormatError('a name runs past the end');
      const len = this.buf[pos]!;
      if (len === 0) { pos += 1; break; }
      if ((len & 0xc0) === 0xc0) {
        if (pos + 1 >= this.buf.length) throw new DnsFormatError('a name pointer runs past the end');
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1]!;
        // Only backwards: forward or self pointers could loop.
        if (target >= pos) throw new DnsFormatError('a name pointer does not point backwards');
        if (end < 0) end = pos + 2;
        if (++jumps > 64) throw new DnsFormatError('too many name pointers');
        pos = target;
        continue;
      }
      if (len & 0xc0) throw new DnsFormatError('unknown label type');
      if (pos + 1 + len > this.buf.length) throw new DnsFormatError('a label runs past the end');
      wireLength += len + 1;
      if (wireLength > 255) throw new DnsFormatError('a name is longer than 255 bytes');
      labels.push(escapeLabel(this.buf.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
    this.pos = end >= 0 ? end : pos;
    return labels.join('.');
  }
}

/** Bytes outside printable ASCII, dots and backslashes as \DDD, so a name is always one safe line. */
function escapeLabel(b: Buffer): string {
  let s = '';
  for (const c of b) s += c > 0x20 && c < 0x7f && c !== 0x2e && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
  return s;
}

function readData(r: Reader, type: number, klass: number, end: number): RecordData {
  const rest = (what: string) => { if (r.pos !== end) throw new DnsFormatError(`${what} RDATA has the wrong length`); };
  switch (type) {
    case TYPE.NS: {
      const name = r.name();
      rest('NS');
      return { kind: 'name', name };
    }
    case TYPE.SOA: {
      const mname = r.name();
      const rname = r.name();
      const serial = r.u32('SOA');
      r.bytes(12, 'SOA');
      const minimum = r.u32('SOA');
      rest('SOA');
      return { kind: 'soa', soa: { mname, rname, serial, minimum } };
    }
    case TYPE.A:
      if (klass !== CLASS.IN || end - r.pos !== 4) break;
      return { kind: 'address', address: [...r.bytes(4, 'A')].join('.') };
    case TYPE.AAAA: {
      if (klass !== CLASS.IN || end - r.pos !== 16) break;
      const b = r.bytes(16, 'AAAA');
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
      return { kind: 'address', address: groups.join(':') };
    }
    case TYPE.TXT: {
      const strings: Buffer[] = [];
      while (r.pos < end) strings.push(r.bytes(r.u8('TXT'), 'TXT'));
      rest('TXT');
      return { kind: 'txt', strings };
    }
    case TYPE.TSIG: {
      const algorithm = r.name();
      const timeSigned = r.u16('TSIG') * 2 ** 32 + r.u32('TSIG');
      const fudge = r.u16('TSIG');
      const mac = r.bytes(r.u16('TSIG'), 'TSIG MAC');
      const originalId = r.u16('TSIG');
      const error = r.u16('TSIG');
      const other = r.bytes(r.u16('TSIG'), 'TSIG other data');
      rest('TSIG');
      return { kind: 'tsig', tsig: { algorithm, timeSigned, fudge, mac, originalId, error, other } };
    }
  }
  r.pos = end;
  return { kind: 'raw' };
}

function readRecord(r: Reader): RecordIn {
  const offset = r.pos;
  const name = r.name();
  const type = r.u16('a record');
  const klass = r.u16('a record');
  const ttl = r.u32('a record');
  const rdlength = r.u16('a record');
  r.need(rdlength, 'RDATA');
  const start = r.pos;
  const end = start + rdlength;
  const data = readData(r, type, klass, end);
  return { name, type, class: klass, ttl, rdata: r.buf.subarray(start, end), data, offset };
}

export function decodeMessage(buf: Buffer): Message {
  if (buf.length < 12) throw new DnsFormatError('shorter than a header');
  const r = new Reader(buf);
  const id = r.u16('header');
  const flags = r.u16('header');
  const counts = [r.u16('header'), r.u16('header'), r.u16('header'), r.u16('header')] as const;
  const header: Header = {
    id, qr: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0, rd: (flags & 0x0100) !== 0, rcode: flags & 0xf,
  };
  const question: Question[] = [];
  for (let i = 0; i < counts[0]; i++) question.push({ name: r.name(), type: r.u16('a question'), class: r.u16('a question') });
  const sections: RecordIn[][] = [[], [], []];
  for (let s = 0; s < 3; s++) for (let i = 0; i < counts[s + 1]!; i++) sections[s]!.push(readRecord(r));
  if (r.pos !== buf.length) throw new DnsFormatError('trailing bytes after the last record');
  // The OPT record (EDNS) carries the upper eight bits of extended response codes.
  const opt = sections[2]!.find((rr) => rr.type === TYPE.OPT);
  const rcode = opt ? ((opt.ttl >>> 24) << 4) | header.rcode : header.rcode;
  return { header: { ...header, rcode }, question, answer: sections[0]!, authority: sections[1]!, additional: sections[2]! };
}
