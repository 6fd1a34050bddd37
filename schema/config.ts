// The xConfiguration tree, declared once. Each leaf: its path as users see it, value space,
// default, help and the role allowed to change it. `#` in a path is an index (see `index`).
import {
  type Role, type Value, type ValueSpace,
  literal, int, str, email, httpsUrl, weekdays, timeOfDay, fqdn,
} from './types.js';

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

const onOff = () => literal('On', 'Off');

export const CONFIG: readonly ConfigNode[] = [
  {
    path: ['SystemUnit', 'Name'], type: str(0, 50), default: '', role: 'Admin',
    help: 'The name of this appliance, shown in status and used for the self-signed certificate',
  },
  {
    path: ['Http', 'Redirect', 'Mode'], type: onOff(), default: 'Off', role: 'Admin',
    help: 'Redirect plain HTTP requests on port 80 to HTTPS (ACME challenges are always excepted)',
  },
  {
    path: ['Security', 'Acme', 'Provider'], type: literal('LetsEncrypt', 'LetsEncryptStaging', 'Custom'),
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
    path: ['Security', 'Acme', 'KeyType'], type: literal('ECDSA-P256', 'ECDSA-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096'),
    default: 'ECDSA-P256', role: 'Admin',
    help: 'Key type of the ACME account key',
  },
  {
    path: ['Security', 'Acme', 'ExternalAccount', 'KeyId'], type: str(0, 256), default: '', role: 'Admin',
    help: 'External account binding key identifier, for CAs that require one',
  },
  {
    path: ['Security', 'Acme', 'ExternalAccount', 'HmacKey'], type: str(0, 512), default: '', role: 'Admin', secret: true,
    help: 'External account binding HMAC key (base64url), never shown',
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
    path: ['Clustering', 'Peer', '#', 'Address'], type: fqdn(0), default: '', role: 'Admin', index: { min: 1, max: 6 },
    help: 'Address (FQDN) of cluster peer n; empty when unused',
  },
  {
    path: ['Clustering', 'TlsVerify', 'Mode'], type: literal('Permissive', 'Enforce'), default: 'Permissive', role: 'Admin',
    help: 'Peer-to-peer TLS verification: Enforce checks each peer\'s certificate against the trust store',
  },
  {
    path: ['Ssh', 'IdleTimeout'], type: int(0, 86400), default: 1800, role: 'Admin',
    help: 'Seconds of inactivity after which an admin session is closed; 0 never',
  },
];
