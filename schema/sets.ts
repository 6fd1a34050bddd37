// The closed sets of words, each written once. Value spaces (schema/config.ts, schema/status.ts,
// command parameters) and the service types (src/services/interfaces.ts) all import them, so a
// new provider or key type is one edit here.

export const ON_OFF = ['On', 'Off'] as const;
export type OnOff = (typeof ON_OFF)[number];

export const TRUE_FALSE = ['True', 'False'] as const;
export type TrueFalse = (typeof TRUE_FALSE)[number];

/** Account roles: Admin may do everything; ReadOnly reads status and configuration, no files. */
export const ROLES = ['Admin', 'ReadOnly'] as const;

/** ACME certificate authorities: Let's Encrypt, its staging service, or a directory URL. */
export const ACME_PROVIDERS = ['LetsEncrypt', 'LetsEncryptStaging', 'Custom'] as const;
export type AcmeProvider = (typeof ACME_PROVIDERS)[number];

/** How the CA checks control of a name: a token on port 80, a TXT record (RFC 2136), or a certificate on the HTTPS listener (RFC 8737). */
export const CHALLENGE_TYPES = ['Http01', 'Dns01', 'TlsAlpn01'] as const;
export type ChallengeTypeWord = (typeof CHALLENGE_TYPES)[number];

/** TSIG algorithms for RFC 2136 updates (RFC 8945). */
export const TSIG_ALGORITHM_WORDS = ['hmac-sha256', 'hmac-sha512'] as const;

/** Key types for CSRs, domain keys and ACME account keys. */
export const KEY_TYPES = ['RSA-2048', 'RSA-3072', 'RSA-4096', 'ECDSA-P256', 'ECDSA-P384'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** RFC 5280 revocation reasons that ACME accepts (RFC 8555 section 7.6). */
export const REVOCATION_REASONS = ['Unspecified', 'KeyCompromise', 'AffiliationChanged', 'Superseded', 'CessationOfOperation'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

/** Where a certificate in use came from. */
export const CERTIFICATE_SOURCES = ['SelfSigned', 'Uploaded', 'Acme'] as const;
export type CertificateSource = (typeof CERTIFICATE_SOURCES)[number];

export const SEVERITIES = ['Warning', 'Error', 'Critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Peer-to-peer TLS verification in a cluster. */
export const TLS_VERIFY_MODES = ['Permissive', 'Enforce'] as const;

/** `xStatus Clustering Status`: Standalone until Join; then the etcd cluster's health as this peer sees it. */
export const CLUSTER_STATUSES = ['Standalone', 'Joining', 'Active', 'Degraded', 'NoQuorum'] as const;
export type ClusterStatus = (typeof CLUSTER_STATUSES)[number];
/** `xStatus Clustering Peer n Status`: whether the peer's heartbeat is present in the cluster. */
export const PEER_STATUSES = ['Active', 'Unreachable'] as const;

/** How Show commands present a certificate. */
export const CERTIFICATE_FORMATS = ['Decoded', 'PEM'] as const;

/** `xStatus Security Acme ... Status`: the ACME state of one target. */
export const ACME_STATUSES = ['Disabled', 'Configured', 'Signing', 'PendingDeploy', 'Deployed', 'Automated', 'Failed'] as const;
export type AcmeStatusWord = (typeof ACME_STATUSES)[number];

export const ACME_ACCOUNT_STATUSES = ['None', 'Valid', 'Deactivated'] as const;
export type AccountStatus = (typeof ACME_ACCOUNT_STATUSES)[number];

export const SIGN_STATUSES = ['None', 'InProgress', 'Succeeded', 'Failed'] as const;
export type SignStatus = (typeof SIGN_STATUSES)[number];

export const DEPLOY_STATUSES = ['None', 'Succeeded', 'Failed'] as const;
export type DeployStatus = (typeof DEPLOY_STATUSES)[number];

/** `Renewal Source`: where a renewal window comes from, the CA's renewal information or the lifetime rule. */
export const RENEWAL_SOURCES = ['ARI', 'Lifetime'] as const;
export type RenewalSource = (typeof RENEWAL_SOURCES)[number];

/** `LastDryRun Status`: a dry run is never InProgress in the status (it changes nothing while it runs). */
export const DRY_RUN_STATUSES = ['None', 'Succeeded', 'Failed'] as const;
export type DryRunStatus = (typeof DRY_RUN_STATUSES)[number];

/**
 * Why an SSH login was refused (the `reason` label of xway_ssh_logins_refused_total): a wrong
 * password or key, the login limits (lockout, too many unauthenticated connections), or a client
 * that chose a refused algorithm (ssh-rsa SHA-1 signatures).
 */
export const SSH_LOGIN_REFUSALS = ['credentials', 'limits', 'algorithm'] as const;
export type SshLoginRefusal = (typeof SSH_LOGIN_REFUSALS)[number];
