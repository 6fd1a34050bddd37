// What can go wrong publishing dns-01 records, one class per cause so callers can tell them apart
// (`kind` is stable), each message one sentence naming the server and the key or name, never a
// secret. Unreachable servers are Unavailable; everything the server said no to is a CommandError.
import { CommandError, Unavailable } from '../../../errors.js';

export type DnsFailureKind =
  | 'NOTZONE' | 'BADSIG' | 'BADKEY' | 'REFUSED' | 'BADTIME' | 'UNREACHABLE' | 'NOTVISIBLE' | 'BADREPLY' | 'SERVER';

/** The name lies outside the zone the server serves (or the server serves no zone for it). */
export class DnsNotZone extends CommandError {
  readonly kind = 'NOTZONE';
}

/** The server does not accept our signature: the secret differs from the server's. */
export class DnsBadSig extends CommandError {
  readonly kind = 'BADSIG';
}

/** The server does not know the key name, or knows it with another algorithm. */
export class DnsBadKey extends CommandError {
  readonly kind = 'BADKEY';
}

/** The server's policy does not let this key make this change. */
export class DnsRefused extends CommandError {
  readonly kind = 'REFUSED';
}

/** Our clock and the server's differ by more than the fudge. */
export class DnsBadTime extends CommandError {
  readonly kind = 'BADTIME';
}

/** Nothing answered: connection refused, timed out, closed without a reply. */
export class DnsUnreachable extends Unavailable {
  readonly kind = 'UNREACHABLE';
}

/** The records did not show at every authoritative server in time. */
export class DnsNotVisible extends CommandError {
  readonly kind = 'NOTVISIBLE';
}

/** The reply cannot be trusted or read: unsigned, badly signed, malformed, not ours. */
export class DnsBadReply extends CommandError {
  readonly kind = 'BADREPLY';
}

/** Any other refusal (SERVFAIL, FORMERR, NOTAUTH, ...), named by its code. */
export class DnsServerError extends CommandError {
  readonly kind = 'SERVER';
  constructor(message: string, readonly rcode: string) {
    super(message);
  }
}

export type DnsError =
  | DnsNotZone | DnsBadSig | DnsBadKey | DnsRefused | DnsBadTime | DnsUnreachable | DnsNotVisible | DnsBadReply | DnsServerError;

export function isDnsError(e: unknown): e is DnsError {
  return e instanceof DnsNotZone || e instanceof DnsBadSig || e instanceof DnsBadKey || e instanceof DnsRefused
    || e instanceof DnsBadTime || e instanceof DnsUnreachable || e instanceof DnsNotVisible || e instanceof DnsBadReply
    || e instanceof DnsServerError;
}
