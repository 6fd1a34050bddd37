// The xStatus tree, declared once: every leaf a service may report, with its value space and help.
// Providers in src/services fill in values; a test checks that what they report is declared here.
import { type ValueSpace, literal, int, str } from './types.js';
import {
  ACME_ACCOUNT_STATUSES, ACME_PROVIDERS, ACME_STATUSES, CHALLENGE_TYPES, CERTIFICATE_SOURCES, CLUSTER_STATUSES, PEER_STATUSES, DEPLOY_STATUSES, DRY_RUN_STATUSES, RENEWAL_SOURCES, SEVERITIES, SIGN_STATUSES, TRUE_FALSE,
} from './sets.js';

export interface StatusNode {
  readonly path: readonly string[];
  readonly type: ValueSpace;
  readonly help: string;
}

const text = () => str(0, 4096);
const count = () => int(0, 2 ** 31);

export const STATUS: readonly StatusNode[] = [
  { path: ['SystemUnit', 'Product'], type: text(), help: 'Product name' },
  { path: ['SystemUnit', 'Name'], type: text(), help: 'Configured system name' },
  { path: ['SystemUnit', 'Software', 'Version'], type: text(), help: 'Software version (with git commit)' },
  { path: ['SystemUnit', 'Software', 'ReleaseDate'], type: text(), help: 'Release date, YYYY-MM-DD' },
  { path: ['SystemUnit', 'Uptime'], type: count(), help: 'Seconds since the daemon started' },
  { path: ['Alarm', '#', 'Id'], type: text(), help: 'Stable alarm identifier' },
  { path: ['Alarm', '#', 'Title'], type: text(), help: 'What is wrong, in one sentence' },
  { path: ['Alarm', '#', 'Severity'], type: literal(...SEVERITIES), help: 'Severity' },
  { path: ['Alarm', '#', 'State'], type: literal('Active'), help: 'Active while the condition lasts' },
  { path: ['Alarm', '#', 'Raised'], type: text(), help: 'When it was raised (ISO 8601, UTC)' },
  // Security Certificates (issue 3): the server certificate the HTTPS listener presents, trust store, CSR, SNI domains.
  { path: ['Security', 'Certificates', 'Server', 'Subject'], type: text(), help: 'Subject of the server certificate in use' },
  { path: ['Security', 'Certificates', 'Server', 'Issuer'], type: text(), help: 'Issuer of the server certificate in use' },
  { path: ['Security', 'Certificates', 'Server', 'SerialNumber'], type: text(), help: 'Serial number, upper-case hex' },
  { path: ['Security', 'Certificates', 'Server', 'NotBefore'], type: text(), help: 'Start of validity (ISO 8601, UTC)' },
  { path: ['Security', 'Certificates', 'Server', 'NotAfter'], type: text(), help: 'End of validity (ISO 8601, UTC)' },
  { path: ['Security', 'Certificates', 'Server', 'DaysLeft'], type: count(), help: 'Whole days until the certificate expires (0 once expired)' },
  { path: ['Security', 'Certificates', 'Server', 'SubjectAltNames'], type: text(), help: 'Subject alternative names, comma-separated' },
  { path: ['Security', 'Certificates', 'Server', 'KeyType'], type: text(), help: 'Key type, e.g. RSA-2048 or ECDSA-P256' },
  { path: ['Security', 'Certificates', 'Server', 'Fingerprint'], type: text(), help: 'SHA-256 fingerprint' },
  { path: ['Security', 'Certificates', 'Server', 'Source'], type: literal(...CERTIFICATE_SOURCES), help: 'Where the certificate in use came from' },
  { path: ['Security', 'Certificates', 'Server', 'RestartRequired'], type: literal(...TRUE_FALSE), help: 'An uploaded certificate waits for xCommand SystemUnit Boot' },
  { path: ['Security', 'Certificates', 'TrustedCA', 'Count'], type: count(), help: 'Number of trusted CA certificates' },
  { path: ['Security', 'Certificates', 'CSR', 'State'], type: literal('None', 'InProgress'), help: 'Whether a certificate signing request is in progress' },
  { path: ['Security', 'Certificates', 'Domain', '#', 'Name'], type: text(), help: 'Hosted domain (SNI name)' },
  { path: ['Security', 'Certificates', 'Domain', '#', 'Subject'], type: text(), help: 'Subject of the domain certificate' },
  { path: ['Security', 'Certificates', 'Domain', '#', 'SerialNumber'], type: text(), help: 'Serial number of the domain certificate' },
  { path: ['Security', 'Certificates', 'Domain', '#', 'NotAfter'], type: text(), help: 'End of validity of the domain certificate' },
  { path: ['Security', 'Certificates', 'Domain', '#', 'DaysLeft'], type: count(), help: 'Whole days until the domain certificate expires' },
  { path: ['Security', 'Certificates', 'Domain', '#', 'Fingerprint'], type: text(), help: 'SHA-256 fingerprint of the domain certificate' },
  { path: ['Security', 'Certificates', 'Domain', '#', 'Source'], type: literal('None', ...CERTIFICATE_SOURCES), help: 'Where the domain certificate came from; None until one is installed' },
  // Security Acme (issue 4): the ACME certificate service, per target (server, then each SNI domain).
  ...acmeTarget(['Security', 'Acme']),
  { path: ['Security', 'Acme', 'Provider'], type: literal(...ACME_PROVIDERS), help: 'The configured ACME provider' },
  { path: ['Security', 'Acme', 'Account', 'Status'], type: literal(...ACME_ACCOUNT_STATUSES), help: 'ACME account with the configured provider: None until AcceptTerms' },
  { path: ['Security', 'Acme', 'Account', 'TermsUrl'], type: text(), help: 'Terms of service the account was created under' },
  { path: ['Security', 'Acme', 'Profiles'], type: text(), help: 'Certificate profiles the CA\'s directory offers, comma-separated (empty: none, or the directory not fetched yet)' },
  { path: ['Security', 'Acme', 'Domain', '#', 'Name'], type: text(), help: 'Hosted domain (SNI name) this ACME status is for' },
  { path: ['Security', 'Acme', 'Domain', '#', 'Names'], type: text(), help: 'A wildcard domain only: the names its orders ask for, comma-separated (the base name too with Domain Add IncludeBase: True)' },
  ...acmeTarget(['Security', 'Acme', 'Domain', '#']),
  // Clustering (issue 9): this peer's view of the cluster; Standalone shows Status alone.
  { path: ['Clustering', 'Status'], type: literal(...CLUSTER_STATUSES), help: 'Standalone, Joining, or the cluster\'s health: Active (every voter reachable), Degraded (a quorum is), NoQuorum' },
  { path: ['Clustering', 'ThisPeer'], type: int(1, 6), help: 'This peer\'s number n (its Clustering Peer n Address)' },
  { path: ['Clustering', 'Peer', '#', 'Address'], type: text(), help: 'The peer\'s address' },
  { path: ['Clustering', 'Peer', '#', 'Status'], type: literal(...PEER_STATUSES), help: 'Active while the peer\'s heartbeat is present in the cluster' },
  { path: ['Clustering', 'Peer', '#', 'LastSeen'], type: text(), help: 'The peer\'s last heartbeat seen (ISO 8601, UTC), or empty' },
];

/** The ACME fields shared by the server certificate and each hosted domain. */
function acmeTarget(base: readonly string[]): StatusNode[] {
  const time = 'ISO 8601 UTC, or empty';
  return [
    {
      path: [...base, 'Status'],
      type: literal(...ACME_STATUSES),
      help: 'ACME state: Disabled (no account), Configured, Signing (an order runs), PendingDeploy (a signed certificate waits), Deployed (the certificate in use came from ACME), Automated (scheduler on), Failed (the latest sign or deploy failed)',
    },
    { path: [...base, 'LastSign', 'Status'], type: literal(...SIGN_STATUSES), help: 'Outcome of the latest signing (order)' },
    { path: [...base, 'LastSign', 'Time'], type: text(), help: `When the latest signing started or ended (${time})` },
    { path: [...base, 'LastSign', 'Reason'], type: text(), help: 'Why the latest signing failed, in one sentence; empty otherwise' },
    { path: [...base, 'LastSign', 'Progress'], type: text(), help: 'The step a running order is at; empty when none runs' },
    { path: [...base, 'LastDeploy', 'Status'], type: literal(...DEPLOY_STATUSES), help: 'Outcome of the latest deploy' },
    { path: [...base, 'LastDeploy', 'Time'], type: text(), help: `When the latest deploy happened (${time})` },
    { path: [...base, 'LastDeploy', 'Reason'], type: text(), help: 'Why the latest deploy failed; empty otherwise' },
    { path: [...base, 'LastDryRun', 'Status'], type: literal(...DRY_RUN_STATUSES), help: 'Outcome of the latest dry run (Sign DryRun: True) since the service started; None when there was none' },
    { path: [...base, 'LastDryRun', 'Time'], type: text(), help: `When the latest dry run ended (${time})` },
    { path: [...base, 'LastDryRun', 'Reason'], type: text(), help: 'Why the latest dry run failed, in one sentence; empty otherwise' },
    { path: [...base, 'Pending', 'Subject'], type: text(), help: 'Subject of the signed certificate waiting to be deployed; empty when none' },
    { path: [...base, 'Pending', 'SerialNumber'], type: text(), help: 'Serial number of the pending certificate (upper-case hex)' },
    { path: [...base, 'Pending', 'NotAfter'], type: text(), help: `End of validity of the pending certificate (${time})` },
    { path: [...base, 'NextSign'], type: text(), help: `Next automated signing attempt (${time}; empty when none is planned)` },
    { path: [...base, 'NextDeploy'], type: text(), help: `Next automated deploy (${time}; empty when none is planned)` },
    { path: [...base, 'Renewal', 'Window', 'Start'], type: text(), help: `Start of the renewal window of the certificate in use (${time})` },
    { path: [...base, 'Renewal', 'Window', 'End'], type: text(), help: `End of the renewal window: past it, renewal is signed and deployed at once (${time})` },
    { path: [...base, 'Renewal', 'Source'], type: literal('', ...RENEWAL_SOURCES), help: 'Where the window comes from: the CA\'s renewal information (ARI), or two thirds of the lifetime; empty when ACME does not manage the certificate' },
    { path: [...base, 'Renewal', 'ExplanationUrl'], type: text(), help: 'A page the CA wrote about this window (e.g. a revocation incident); empty when none' },
    { path: [...base, 'Renewal', 'LastCheck'], type: text(), help: `When the CA's renewal information was last asked for (${time})` },
    { path: [...base, 'Renewal', 'Failures'], type: count(), help: 'Consecutive failed signing attempts; retries back off exponentially' },
    { path: [...base, 'Challenge', 'Type'], type: literal(...CHALLENGE_TYPES), help: 'How the CA checks control of the names: the domain\'s own type (Domain Add Challenge:) or Security Acme Challenge Type' },
    { path: [...base, 'Challenge', 'Published'], type: text(), help: 'During an order, what is published where (e.g. "TXT _acme-challenge.x.example at 192.0.2.53:53"); empty otherwise' },
  ];
}

