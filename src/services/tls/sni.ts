// Reads the server name (SNI) and the offered application protocols (ALPN) from a TLS
// ClientHello without consuming it. Pure: bytes in, answer out. Used by the listener to route a
// connection to the secure context of its domain before OpenSSL sees it, because Node's
// SNICallback only adds the domain certificate beside the default one: with an ECDSA default and
// an RSA domain certificate, OpenSSL would still pick the ECDSA one. ALPN picks the tls-alpn-01
// challenge certificate (RFC 8737), which only a validator asking for `acme-tls/1` may see.

/** The most we read before routing: one TLS record (16 KiB) and its header. */
export const MAX_HELLO_BYTES = 16384 + 5;

/** The ALPN protocol of tls-alpn-01 validators (RFC 8737). */
export const ACME_TLS_1 = 'acme-tls/1';

/** At most this many ALPN protocols are read (a validator offers one; browsers two or three). */
export const MAX_ALPN = 32;

export type HelloResult =
  | { kind: 'more' }
  /**
   * A ClientHello; `servername` when it carries a valid host_name entry, `alpn` (latin1, in the
   * client's order) when it carries a well-formed ALPN list.
   */
  | { kind: 'hello'; servername?: string; alpn?: readonly string[] }
  /** Not a ClientHello we can read: route to the default and let TLS answer. */
  | { kind: 'other' };

export function readClientHello(buf: Buffer): HelloResult {
  if (buf.length < 5) return buf.length > 0 && buf[0] !== 0x16 ? { kind: 'other' } : { kind: 'more' };
  if (buf[0] !== 0x16) return { kind: 'other' };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLen) return 5 + recordLen > MAX_HELLO_BYTES ? { kind: 'other' } : { kind: 'more' };
  const rec = buf.subarray(5, 5 + recordLen);
  try {
    if (rec[0] !== 0x01) return { kind: 'other' };
    const end = Math.min(rec.length, 4 + rec.readUIntBE(1, 3));
    let p = 4 + 2 + 32; // type, length, client_version, random
    p += 1 + rec[p]!; // session_id
    p += 2 + rec.readUInt16BE(p); // cipher_suites
    p += 1 + rec[p]!; // compression_methods
    const hello: { kind: 'hello'; servername?: string; alpn?: readonly string[] } = { kind: 'hello' };
    if (p + 2 > end) return hello;
    const extEnd = Math.min(end, p + 2 + rec.readUInt16BE(p));
    p += 2;
    // Only the first of each extension counts: OpenSSL refuses a hello that repeats one.
    let sniSeen = false;
    let alpnSeen = false;
    while (p + 4 <= extEnd) {
      const type = rec.readUInt16BE(p);
      const len = rec.readUInt16BE(p + 2);
      p += 4;
      if (p + len > extEnd) break;
      const body = rec.subarray(p, p + len);
      if (type === 0 && !sniSeen) {
        sniSeen = true;
        const name = serverName(body);
        if (name !== undefined) hello.servername = name;
      } else if (type === 16 && !alpnSeen) {
        alpnSeen = true;
        const alpn = protocols(body);
        if (alpn !== undefined) hello.alpn = alpn;
      }
      p += len;
    }
    return hello;
  } catch {
    return { kind: 'other' };
  }
}

/** The first host_name of a server_name extension (RFC 6066), lower case, without a final dot. */
function serverName(body: Buffer): string | undefined {
  if (body.length < 2) return undefined;
  const listEnd = Math.min(body.length, 2 + body.readUInt16BE(0));
  let q = 2;
  while (q + 3 <= listEnd) {
    const nameType = body[q]!;
    const nameLen = body.readUInt16BE(q + 1);
    q += 3;
    if (nameType === 0) {
      if (q + nameLen > listEnd) return undefined;
      const name = body.subarray(q, q + nameLen).toString('latin1').toLowerCase();
      return /^[a-z0-9.-]{1,253}$/.test(name) ? name.replace(/\.$/, '') : undefined;
    }
    q += nameLen;
  }
  return undefined;
}

/** The protocol names of an ALPN extension (RFC 7301), or undefined when malformed or empty. */
function protocols(body: Buffer): string[] | undefined {
  if (body.length < 2 || 2 + body.readUInt16BE(0) !== body.length) return undefined;
  const out: string[] = [];
  let q = 2;
  while (q < body.length && out.length < MAX_ALPN) {
    const n = body[q]!;
    q += 1;
    if (n === 0 || q + n > body.length) return undefined;
    out.push(body.toString('latin1', q, q + n));
    q += n;
  }
  return out.length > 0 ? out : undefined;
}
