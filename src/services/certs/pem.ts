// Splits pasted text into PEM blocks, strictly: a paste that was cut off, binary DER pasted as
// text, or stray lines between blocks are refused with the line that is wrong, because a
// half-pasted certificate must never be half-installed. Pure: text in, blocks or an error out.
import { ParameterError } from '../../errors.js';

export interface PemBlock {
  /** e.g. "CERTIFICATE", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY". */
  readonly label: string;
  readonly der: Buffer;
  /** The block re-encoded canonically (64-column base64, LF line ends, trailing LF). */
  readonly pem: string;
  /** 1-based line of the BEGIN line, for messages. */
  readonly line: number;
  /** Legacy OpenSSL encryption headers ("Proc-Type: 4,ENCRYPTED") were present. */
  readonly encryptedHeader: boolean;
}

/** Largest single block: a certificate with a long chain of names, or an RSA-16384 key. */
export const MAX_BLOCK_BYTES = 64 * 1024;

const BEGIN = /^-----BEGIN ([A-Z0-9 ]{1,40})-----$/;
const END = /^-----END ([A-Z0-9 ]{1,40})-----$/;
const B64_LINE = /^[A-Za-z0-9+/=]+$/;

export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Parses every PEM block in `text`. Outside blocks only blank lines and `#` comments are allowed.
 * Throws ParameterError naming the line for: binary data, text outside a block, a block without
 * its END line (an interrupted paste), mismatched labels, bad base64, an oversized block, or no
 * block at all (`what` names the expected content in that message).
 */
export function parsePem(text: string, what = 'certificate'): PemBlock[] {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0e-\x1f\x7f]/.test(text) || text.includes('\ufffd')) {
    throw new ParameterError(`The input holds binary data: paste PEM text (-----BEGIN ...-----), not DER`);
  }
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const blocks: PemBlock[] = [];
  let open: { label: string; line: number; body: string[]; headers: boolean; inHeaders: boolean } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const n = i + 1;
    if (!open) {
      if (line === '' || line.startsWith('#')) continue;
      const b = BEGIN.exec(line);
      if (!b) throw new ParameterError(`Line ${n} is not part of a PEM block: expected -----BEGIN ...-----`);
      open = { label: b[1]!, line: n, body: [], headers: false, inHeaders: false };
      continue;
    }
    const e = END.exec(line);
    if (e) {
      if (e[1] !== open.label) {
        throw new ParameterError(`The PEM block at line ${open.line} (${open.label}) ends with END ${e[1]} at line ${n}`);
      }
      const b64 = open.body.join('');
      if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
        throw new ParameterError(`The PEM block at line ${open.line} (${open.label}) is not valid base64`);
      }
      const der = Buffer.from(b64, 'base64');
      if (der.length > MAX_BLOCK_BYTES) {
        throw new ParameterError(`The PEM block at line ${open.line} is too large: at most ${MAX_BLOCK_BYTES} bytes`);
      }
      blocks.push({ label: open.label, der, pem: toPem(open.label, der), line: open.line, encryptedHeader: open.headers });
      open = undefined;
      continue;
    }
    if (BEGIN.test(line)) {
      throw new ParameterError(`The PEM block at line ${open.line} (${open.label}) has no END line: the paste was cut off`);
    }
    // Legacy encrypted keys carry RFC 1421 headers before the base64 body.
    if (open.body.length === 0 && /^(Proc-Type|DEK-Info):/i.test(line)) {
      open.headers = true;
      open.inHeaders = true;
      continue;
    }
    if (open.inHeaders && line === '') {
      open.inHeaders = false;
      continue;
    }
    if (line === '') continue;
    if (!B64_LINE.test(line)) {
      throw new ParameterError(`Line ${n} inside the PEM block at line ${open.line} is not base64`);
    }
    open.body.push(line);
    if (open.body.length * 64 > MAX_BLOCK_BYTES * 2) {
      throw new ParameterError(`The PEM block at line ${open.line} is too large: at most ${MAX_BLOCK_BYTES} bytes`);
    }
  }
  if (open) throw new ParameterError(`The PEM block at line ${open.line} (${open.label}) has no END line: the paste was cut off`);
  if (blocks.length === 0) throw new ParameterError(`No PEM ${what} found: expected -----BEGIN CERTIFICATE-----`);
  return blocks;
}

export const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'DSA PRIVATE KEY', 'OPENSSH PRIVATE KEY']);

export function isKeyBlock(b: PemBlock): boolean {
  return KEY_LABELS.has(b.label) || b.label.endsWith('PRIVATE KEY');
}
