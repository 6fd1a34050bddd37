// TSIG (RFC 8945): signing a request with HMAC-SHA256/512 and verifying the server's signed reply.
// The secret lives in a private field of TsigKey: it never reaches a log line, an inspect() or
// JSON, and no error text is built from it.
import crypto from 'node:crypto';
import { inspect } from 'node:util';
import { ParameterError } from '../../../errors.js';
import { CLASS, TYPE, isValidName, nameToWire, sameName, type Message, type RecordIn, type Tsig } from './wire.js';

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512';
export const TSIG_ALGORITHMS: readonly TsigAlgorithm[] = ['hmac-sha256', 'hmac-sha512'];

const HASH: Record<TsigAlgorithm, string> = { 'hmac-sha256': 'sha256', 'hmac-sha512': 'sha512' };

/** The fudge we send: the clock skew BIND and nsupdate allow by default. */
export const FUDGE_S = 300;

export class TsigKey {
  readonly #secret: Buffer;

  /** `secret` in base64, as tsig-keygen prints it. Throws ParameterError (never quoting it) when unusable. */
  constructor(readonly name: string, readonly algorithm: TsigAlgorithm, secret: string) {
    if (!TSIG_ALGORITHMS.includes(algorithm)) throw new ParameterError(`TSIG algorithm must be one of ${TSIG_ALGORITHMS.join(', ')}`);
    if (!isValidName(name) || name.replace(/\.$/, '') === '') throw new ParameterError(`TSIG key name ${JSON.stringify(name).slice(0, 80)} is not a DNS name`);
    const s = secret.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) throw new ParameterError(`The TSIG secret of key ${name} is not base64`);
    this.#secret = Buffer.from(s, 'base64');
  }

  mac(data: Buffer): Buffer {
    return crypto.createHmac(HASH[this.algorithm], this.#secret).update(data).digest();
  }

  get macLength(): number {
    return this.algorithm === 'hmac-sha256' ? 32 : 64;
  }

  toJSON(): object {
    return { name: this.name, algorithm: this.algorithm };
  }

  [inspect.custom](): string {
    return `TsigKey(${this.name}, ${this.algorithm})`;
  }
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(n / 2 ** 32));
  b.writeUInt32BE(n % 2 ** 32, 2);
  return b;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** The TSIG variables that follow the message in the digest (RFC 8945 4.3.3). */
function variables(key: TsigKey, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([
    nameToWire(key.name, true), u16(CLASS.ANY), Buffer.alloc(4), nameToWire(key.algorithm, true),
    u48(timeSigned), u16(fudge), u16(error), u16(other.length), other,
  ]);
}

export interface Signed {
  readonly bytes: Buffer;
  /** The request MAC: the reply's MAC covers it. */
  readonly mac: Buffer;
}

/** Appends a TSIG record to an encoded message (which must not have one yet). */
export function signMessage(message: Buffer, key: TsigKey, timeSigned: number, fudge = FUDGE_S): Signed {
  const mac = key.mac(Buffer.concat([message, variables(key, timeSigned, fudge, 0, Buffer.alloc(0))]));
  const id = message.readUInt16BE(0);
  const rdata = Buffer.concat([
    nameToWire(key.algorithm), u48(timeSigned), u16(fudge), u16(mac.length), mac, u16(id), u16(0), u16(0),
  ]);
  const record = Buffer.concat([nameToWire(key.name), u16(TYPE.TSIG), u16(CLASS.ANY), Buffer.alloc(4), u16(rdata.length), rdata]);
  const out = Buffer.concat([message, record]);
  out.writeUInt16BE(out.readUInt16BE(10) + 1, 10);
  return { bytes: out, mac };
}

/** Why a reply's signature is not acceptable; `tsigError` is the server's own TSIG error, if any. */
export type ReplyCheck =
  | { readonly ok: true; readonly tsig: Tsig }
  | { readonly ok: false; readonly problem: 'unsigned' | 'wrongKey' | 'badMac' | 'badTime'; readonly detail: string }
  | { readonly ok: false; readonly problem: 'serverError'; readonly tsigError: number; readonly tsig: Tsig; readonly detail: string };

function tsigRecord(m: Message): RecordIn | undefined {
  const last = m.additional[m.additional.length - 1];
  return last?.type === TYPE.TSIG ? last : undefined;
}

/**
 * Checks the TSIG of a reply to a request we signed with `requestMac` (RFC 8945 5.3.2, 5.4).
 * A server's TSIG error (BADSIG, BADKEY) comes unsigned by design: it is reported as
 * 'serverError' so the caller can name it, and can only ever make the operation fail. A reply that
 * claims success must carry a valid MAC of the full length, made within the fudge of `nowS`.
 */
export function verifyReply(raw: Buffer, m: Message, key: TsigKey, requestMac: Buffer, nowS: number): ReplyCheck {
  const rr = tsigRecord(m);
  if (m.additional.some((r) => r.type === TYPE.TSIG && r !== rr)) return { ok: false, problem: 'unsigned', detail: 'a TSIG record that is not the last one' };
  if (!rr || rr.data.kind !== 'tsig') return { ok: false, problem: 'unsigned', detail: 'no TSIG record' };
  const tsig = rr.data.tsig;
  if (!sameName(rr.name, key.name) || !sameName(tsig.algorithm, key.algorithm)) {
    return { ok: false, problem: 'wrongKey', detail: `signed with key ${rr.name} ${tsig.algorithm}` };
  }
  if (tsig.error !== 0 && tsig.mac.length === 0) return { ok: false, problem: 'serverError', tsigError: tsig.error, tsig, detail: 'unsigned TSIG error' };
  if (tsig.mac.length !== key.macLength) return { ok: false, problem: 'badMac', detail: `a MAC of ${tsig.mac.length} bytes` };
  // The digest covers the message as it was before the TSIG record was added: original ID, one
  // additional record fewer.
  const body = Buffer.from(raw.subarray(0, rr.offset));
  body.writeUInt16BE(tsig.originalId, 0);
  body.writeUInt16BE(body.readUInt16BE(10) - 1, 10);
  const expected = key.mac(Buffer.concat([u16(requestMac.length), requestMac, body, variables(key, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other)]));
  if (!crypto.timingSafeEqual(expected, tsig.mac)) return { ok: false, problem: 'badMac', detail: 'a MAC that does not verify' };
  if (tsig.error !== 0) return { ok: false, problem: 'serverError', tsigError: tsig.error, tsig, detail: 'signed TSIG error' };
  if (Math.abs(nowS - tsig.timeSigned) > tsig.fudge) return { ok: false, problem: 'badTime', detail: `signed at ${tsig.timeSigned}, now ${nowS}` };
  return { ok: true, tsig };
}
