// What the ACME service uses to publish dns-01 records; the rest of this folder is its machinery.
export { Rfc2136Publisher, challengeName, type ProbeReport, type Rfc2136Options, type TxtPublisher, type TxtValue, type Visibility } from './publisher.js';
export { TsigKey, TSIG_ALGORITHMS, type TsigAlgorithm } from './tsig.js';
export type { DnsServer } from './exchange.js';
export {
  DnsBadKey, DnsBadReply, DnsBadSig, DnsBadTime, DnsNotVisible, DnsNotZone, DnsRefused, DnsServerError, DnsUnreachable,
  isDnsError, type DnsError, type DnsFailureKind,
} from './errors.js';
