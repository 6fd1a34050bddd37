// The xConfiguration tree, declared once. Each leaf: its path as users see it, value space,
// default, help and the role allowed to change it. `#` in a path is an index (see `index`).
// Declared `as const`: the key union (`ConfigKey`) and each key's value type (`ConfigValue<K>`)
// are derived from this list, so `config.value('Http Redirect Mode')` has type 'On' | 'Off'.
import {
  type Role, type Value, type ValueSpace,
  literal, int, str, email, httpsUrl, weekdays, timeOfDay, fqdn, isFqdn, hostAddress,
} from './types.js';
import { ACME_PROVIDERS, CHALLENGE_TYPES, KEY_TYPES, ON_OFF, TLS_VERIFY_MODES, TSIG_ALGORITHM_WORDS } from './sets.js';

export interface ConfigNode {
  readonly path: readonly string[];
  readonly type: ValueSpace;
  readonly default: Value;
  readonly help: string;
  /** Role needed to change it; everyone logged in may read it. */
  readonly role: Role;
  /** Never shown: reads answer "(hidden)" and logs redact it. */
  readonly secret?: boolean;
  /** For paths holding `#`: the index range. */
  readonly index?: { min: number; max: number };
}

const onOff = () => literal(...ON_OFF);

/** A profile name as CAs spell them (draft-ietf-acme-profiles names are short tokens). */
export const ACME_PROFILE = str(0, 64, {
  check: (v) => (/^[A-Za-z0-9._-]*$/.test(v) ? undefined : 'expected a profile name of A-Z a-z 0-9 . _ -, or "" for the CA\'s default'),
});

/**
 * A bearer token (RFC 6750 b64token characters), long enough not to be guessed; empty while
 * metrics are off. The reason never repeats the value: the token is secret.
 */
export const METRICS_TOKEN = str(0, 256, {
  check: (v) => (v === '' || /^[A-Za-z0-9._~+/-]{16,}=*$/.test(v)
    ? undefined
    : 'expected 16 to 256 characters of A-Z a-z 0-9 - . _ ~ + / (a bearer token), or "" for none'),
});

/** External account binding: also the parameters of xCommand Security Acme ExternalAccount Set. */
export const EAB_KEY_ID = str(0, 256);
export const EAB_HMAC_KEY = str(0, 512);

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
/** Hex groups and colons with at most one `::` (schema/ stays free of node:net). */
const isIpv6 = (v: string) => /^[0-9a-f:]{2,39}$/i.test(v) && (v.match(/::/g) ?? []).length <= 1
  && v.split(':').every((g) => g.length <= 4) && (v.includes('::') ? v.split(':').length <= 8 : v.split(':').length === 8);

/** A DNS server: an IPv4 or IPv6 address, or a host name. */
export const DNS_SERVER = str(0, 253, {
  check: (v) => (v === '' || IPV4.test(v) || isIpv6(v) || isFqdn(v) ? undefined : `${v} is not an IP address or FQDN`),
});
/** A TSIG key name as tsig-keygen and named.conf write it: DNS labels, one or more. */
export const TSIG_KEY_NAME = str(0, 253, {
  check: (v) => (v === '' || v.replace(/\.$/, '').split('.').every((l) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l))
    ? undefined : 'expected a key name of letters, digits, - and _ in dot-separated labels'),
});
/** A TSIG secret: base64, as tsig-keygen prints it. The reason never repeats the value. */
export const TSIG_SECRET = str(0, 512, {
  check: (v) => (v === '' || (/^[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length % 4 === 0) ? undefined : 'expected the base64 secret tsig-keygen prints'),
});

export const CONFIG = [
  {
    path: ['SystemUnit', 'Name'], type: str(0, 50), default: '', role: 'Admin',
    help: 'The name of this appliance, shown in status and used for the self-signed certificate',
  },
  {
    path: ['Http', 'Redirect', 'Mode'], type: onOff(), default: 'Off', role: 'Admin',
    help: 'Redirect plain HTTP requests on port 80 to HTTPS (ACME challenges are always excepted)',
  },
  {
    path: ['Security', 'Acme', 'Provider'], type: literal(...ACME_PROVIDERS),
    default: 'LetsEncrypt', role: 'Admin',
    help: 'The ACME certificate authority: Let\'s Encrypt, its staging service, or Custom (DirectoryUrl)',
  },
  {
    path: ['Security', 'Acme', 'DirectoryUrl'], type: httpsUrl(), default: '', role: 'Admin',
    help: 'The RFC 8555 directory URL of a Custom provider',
  },
  {
    path: ['Security', 'Acme', 'AdminEmail'], type: email(), default: '', role: 'Admin',
    help: 'Contact address registered with the ACME provider',
  },
  {
    path: ['Security', 'Acme', 'KeyType'], type: literal(...KEY_TYPES),
    default: 'ECDSA-P256', role: 'Admin',
    help: 'Key type of the ACME account key',
  },
  {
    path: ['Security', 'Acme', 'ExternalAccount', 'KeyId'], type: EAB_KEY_ID, default: '', role: 'Admin',
    help: 'External account binding key identifier, for CAs that require one',
  },
  {
    path: ['Security', 'Acme', 'ExternalAccount', 'HmacKey'], type: EAB_HMAC_KEY, default: '', role: 'Admin', secret: true,
    help: 'External account binding HMAC key (base64url), never shown',
  },
  {
    path: ['Security', 'Acme', 'Profile'], type: ACME_PROFILE, default: '', role: 'Admin',
    help: 'Certificate profile to request (e.g. "tlsserver"), checked against the CA\'s directory when signing; empty: the CA\'s default',
  },
  {
    path: ['Security', 'Acme', 'Scheduler', 'Mode'], type: onOff(), default: 'Off', role: 'Admin',
    help: 'Automated renewal: sign again when two thirds of the lifetime have passed and deploy on schedule',
  },
  {
    path: ['Security', 'Acme', 'Scheduler', 'Days'], type: weekdays(), default: 'Mon,Tue,Wed,Thu,Fri', role: 'Admin',
    help: 'Days of the week on which a renewed certificate may be deployed, e.g. "Mon,Thu"',
  },
  {
    path: ['Security', 'Acme', 'Scheduler', 'Time'], type: timeOfDay(), default: '03:00', role: 'Admin',
    help: 'Time of day (HH:MM, UTC) at which a renewed certificate is deployed on the scheduled days',
  },
  {
    path: ['Security', 'Acme', 'Challenge', 'Type'], type: literal(...CHALLENGE_TYPES), default: 'Http01', role: 'Admin',
    help: 'How the CA checks control of the names: Http01 (port 80), Dns01 (TXT records by RFC 2136; needed for wildcards), TlsAlpn01 (the HTTPS listener)',
  },
  {
    path: ['Security', 'Acme', 'Dns', 'Server'], type: DNS_SERVER, default: '', role: 'Admin',
    help: 'The DNS server that accepts RFC 2136 updates for dns-01 (address or host name)',
  },
  {
    path: ['Security', 'Acme', 'Dns', 'Port'], type: int(1, 65535), default: 53, role: 'Admin',
    help: 'Port of the Dns Server (TCP for updates, UDP for queries)',
  },
  {
    path: ['Security', 'Acme', 'Dns', 'Zone'], type: fqdn(0), default: '', role: 'Admin',
    help: 'The zone to update; empty: found from the SOA of each name',
  },
  {
    path: ['Security', 'Acme', 'Dns', 'TsigKeyName'], type: TSIG_KEY_NAME, default: '', role: 'Admin',
    help: 'Name of the TSIG key (RFC 8945) that signs the updates, as the server knows it',
  },
  {
    path: ['Security', 'Acme', 'Dns', 'TsigAlgorithm'], type: literal(...TSIG_ALGORITHM_WORDS), default: 'hmac-sha256', role: 'Admin',
    help: 'Algorithm of the TSIG key',
  },
  {
    path: ['Security', 'Acme', 'Dns', 'TsigSecret'], type: TSIG_SECRET, default: '', role: 'Admin', secret: true,
    help: 'The TSIG key secret (base64, as tsig-keygen prints it), never shown',
  },
  {
    path: ['Security', 'Acme', 'Dns', 'PropagationTimeout'], type: int(1, 3600), default: 120, role: 'Admin',
    help: 'Seconds to wait for every authoritative server of the zone to answer the TXT records before the CA is asked to check',
  },
  {
    path: ['Clustering', 'Peer', '#', 'Address'], type: hostAddress(), default: '', role: 'Admin', index: { min: 1, max: 6 },
    help: 'Address (IP or FQDN) of cluster peer n, as XWAY_BIND of that peer; empty when unused',
  },
  {
    path: ['Clustering', 'ConfigurationPrimary'], type: int(1, 6), default: 1, role: 'Admin',
    help: 'The peer whose cluster-wide configuration every peer takes when it joins (the n of Peer n Address)',
  },
  {
    path: ['Clustering', 'TlsVerify', 'Mode'], type: literal(...TLS_VERIFY_MODES), default: 'Permissive', role: 'Admin',
    help: 'Peer-to-peer TLS verification: Enforce checks each peer\'s certificate against the trust store',
  },
  {
    path: ['Metrics', 'Mode'], type: onOff(), default: 'Off', role: 'Admin',
    help: 'Serve Prometheus metrics at https://<host>/metrics to scrapers that send Metrics Token as a bearer token',
  },
  {
    path: ['Metrics', 'Token'], type: METRICS_TOKEN, default: '', role: 'Admin', secret: true,
    help: 'The bearer token a scraper sends (Authorization: Bearer <token>), 16 to 256 characters; never shown',
  },
  {
    path: ['Ssh', 'IdleTimeout'], type: int(0, 86400), default: 1800, role: 'Admin',
    help: 'Seconds of inactivity after which an admin session is closed; 0 never',
  },
] as const satisfies readonly ConfigNode[];

/** `['Clustering', 'Peer', '#', 'Address']` → `Clustering Peer ${number} Address`. */
type KeyOf<P extends readonly string[]> =
  P extends readonly [infer H extends string] ? Word<H>
    : P extends readonly [infer H extends string, ...infer R extends readonly string[]] ? `${Word<H>} ${KeyOf<R>}`
      : never;
type Word<W extends string> = W extends '#' ? `${number}` : W;

type Declared = (typeof CONFIG)[number];
type ValueOf<S> = S extends ValueSpace<infer T> ? T : never;
type Table = { [N in Declared as KeyOf<N['path']>]: ValueOf<N['type']> };

/** Every configuration key as the services name it (canonical case, one space between words). */
export type ConfigKey = keyof Table & string;
/** The values key `K` may hold, from its value space. */
export type ConfigValue<K extends ConfigKey> = Table[K];
