// Reads the server name (SNI) from a TLS ClientHello without consuming it. Pure: bytes in, answer
// out. Used by the listener to route a connection to the secure context of its domain before
// OpenSSL sees it, because Node's SNICallback only adds the domain certificate beside the default
// one: with an ECDSA default and an RSA domain certificate, OpenSSL would still pick the ECDSA one.

/** The most we read before routing: one TLS record (16 KiB) and its header. */
export const MAX_HELLO_BYTES = 16384 + 5;

export type HelloResult =
  | { kind: 'more' }
  /** A ClientHello; `servername` when it carries a host_name entry. */
  | { kind: 'hello'; servername?: string }
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
    if (p + 2 > end) return { kind: 'hello' };
    const extEnd = Math.min(end, p + 2 + rec.readUInt16BE(p));
    p += 2;
    while (p + 4 <= extEnd) {
      const type = rec.readUInt16BE(p);
      const len = rec.readUInt16BE(p + 2);
      p += 4;
      if (type === 0 && p + len <= extEnd) {
        let q = p + 2;
        const listEnd = p + 2 + rec.readUInt16BE(p);
        while (q + 3 <= listEnd) {
          const nameType = rec[q]!;
          const nameLen = rec.readUInt16BE(q + 1);
          q += 3;
          if (nameType === 0 && q + nameLen <= listEnd) {
            const name = rec.subarray(q, q + nameLen).toString('latin1').toLowerCase();
            return /^[a-z0-9.-]{1,253}$/.test(name) ? { kind: 'hello', servername: name.replace(/\.$/, '') } : { kind: 'hello' };
          }
          q += nameLen;
        }
        return { kind: 'hello' };
      }
      p += len;
    }
    return { kind: 'hello' };
  } catch {
    return { kind: 'other' };
  }
}
