// A signed RFC 2136 UPDATE with no prerequisites, sent over TCP, and what its reply means.
// The reply must carry a valid TSIG from the same key before we believe a NOERROR; the server's
// own TSIG errors (BADSIG, BADKEY) come unsigned by design and can only make us fail.
import type { Clock } from '../../../platform/clock.js';
import { DnsBadKey, DnsBadReply, DnsBadSig, DnsBadTime, DnsNotZone, DnsRefused, DnsServerError, type DnsError } from './errors.js';
import { describeServer, exchangeTcp, randomId, readReply, type DnsServer } from './exchange.js';
import { signMessage, verifyReply, FUDGE_S, type ReplyCheck, type TsigKey } from './tsig.js';
import { CLASS, OPCODE, TYPE, encodeMessage, rcodeName, type Message, type RecordOut } from './wire.js';

export interface UpdateContext {
  readonly server: DnsServer;
  readonly key: TsigKey;
  readonly clock: Clock;
  readonly timeoutMs: number;
}

/** The names an update touches, for error text: the first and how many more. */
export function namesOf(records: readonly RecordOut[]): string {
  const names = [...new Set(records.map((r) => r.name))];
  return names.length > 1 ? `${names[0]} (and ${names.length - 1} more)` : names[0] ?? '';
}

/** Sends one UPDATE for `zone` with `records` in its update section; throws a DnsError on refusal. */
export async function sendUpdate(c: UpdateContext, zone: string, records: readonly RecordOut[]): Promise<void> {
  const id = randomId();
  const message = encodeMessage({ id, opcode: OPCODE.UPDATE, question: [{ name: zone, type: TYPE.SOA, class: CLASS.IN }], authority: records });
  const signed = signMessage(message, c.key, Math.floor(c.clock.now().getTime() / 1000));
  const raw = await exchangeTcp(c.server, signed.bytes, c);
  const reply = readReply(c.server, { id, opcode: OPCODE.UPDATE }, raw);
  const nowS = Math.floor(c.clock.now().getTime() / 1000);
  const error = updateError(c, zone, records, reply, verifyReply(raw, reply, c.key, signed.mac, nowS), nowS);
  if (error) throw error;
}

/** What a reply to an update means: nothing when it is a verified NOERROR. Pure. */
export function updateError(
  c: Pick<UpdateContext, 'server' | 'key'>, zone: string, records: readonly RecordOut[], reply: Message, check: ReplyCheck, nowS: number,
): DnsError | undefined {
  const s = `DNS server ${describeServer(c.server)}`;
  const key = `TSIG key ${c.key.name}`;
  if (!check.ok) {
    switch (check.problem) {
      case 'serverError': {
        const err = rcodeName(check.tsigError);
        if (err === 'BADSIG') return new DnsBadSig(`${s} rejected the signature of ${key} (BADSIG): the secret differs from the server's`);
        if (err === 'BADKEY') return new DnsBadKey(`${s} does not know ${key} with algorithm ${c.key.algorithm} (BADKEY)`);
        if (err === 'BADTIME') {
          // Other Data holds the server's time (RFC 8945 5.2.3).
          const other = check.tsig.other;
          const serverS = other.length === 6 ? other.readUInt16BE(0) * 2 ** 32 + other.readUInt32BE(2) : check.tsig.timeSigned;
          return new DnsBadTime(`${s} rejected the request time (BADTIME): its clock and ours differ by ${Math.abs(serverS - nowS)} s, more than the ${FUDGE_S} s allowed`);
        }
        return new DnsServerError(`${s} refused the update with TSIG error ${err}`, err);
      }
      case 'badTime':
        return new DnsBadTime(`${s} signed its reply at a time beyond its fudge from our clock (BADTIME: ${check.detail})`);
      case 'unsigned':
        return new DnsBadReply(`${s} sent an unsigned reply (${rcodeName(reply.header.rcode)}) to an update signed with ${key}`);
      default:
        return new DnsBadReply(`${s} sent a reply whose TSIG signature does not verify with ${key}`);
    }
  }
  const rcode = rcodeName(reply.header.rcode);
  switch (rcode) {
    case 'NOERROR': return undefined;
    case 'NOTZONE': return new DnsNotZone(`${s} refused the update: ${namesOf(records)} is not in zone ${zone} (NOTZONE)`);
    case 'NOTAUTH': return new DnsNotZone(`${s} is not authoritative for zone ${zone} (NOTAUTH)`);
    case 'REFUSED': return new DnsRefused(`${s} refused the update of ${namesOf(records)} by ${key} (REFUSED): its update policy does not allow it`);
    default: return new DnsServerError(`${s} refused the update of ${namesOf(records)} in zone ${zone} (${rcode})`, rcode);
  }
}
