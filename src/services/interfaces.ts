// The services that commands and the bus may use. Each interface states its contract; the
// implementations live beside this file (or in src/stores) and are wired together in src/app.ts.
// Commands see only these interfaces, never a store or Node I/O.
import type { Role, Value } from '../../schema/types.js';
import type { ConfigKey, ConfigValue } from '../../schema/config.js';
import type { AcmeProvider, CertificateSource, ChallengeTypeWord, KeyType, RevocationReason, Severity, SshLoginRefusal } from '../../schema/sets.js';

// The closed sets are declared once in schema/sets.ts; services name them through here.
export type { AcmeProvider, CertificateSource, ChallengeTypeWord, KeyType, RevocationReason, Severity, SshLoginRefusal };
export { KEY_TYPES } from '../../schema/sets.js';

/** Who did something, from where; every audit line carries it. */
export interface Actor {
  readonly user: string;
  readonly role: Role;
  readonly remote: string;
  readonly session: string;
}

export interface ConfigChange {
  readonly key: string;
  readonly value: Value;
}

/**
 * The configuration. Keys are canonical paths joined by one space ("Http Redirect Mode",
 * "Clustering Peer 2 Address"). `set` is a commit: value spaces, then every owner's verify
 * (src/services/config/owner.ts; ConfigurationRefused, nothing written), then one transaction
 * (durable when it returns), then the owners' apply, then the change listeners (feedback).
 */
export interface ConfigService {
  /** A key's value typed by its value space: `value('Http Redirect Mode')` is 'On' | 'Off'. */
  value<K extends ConfigKey>(key: K): ConfigValue<K>;
  /** A key named at run time (typed by a user, read from a file); ParameterError when undeclared. */
  get(key: string): Value;
  /** Every key with its current value (defaults included), in schema order. */
  entries(): ConfigChange[];
  /** Every key's default. */
  defaults(): Map<string, Value>;
  set(changes: readonly ConfigChange[], actor: Actor): void;
  /** Registers the owner of one or more subtrees (see owner.ts); returns its removal. */
  own(owner: ConfigOwner): () => void;
  /** Feedback only: services follow the configuration through their owner, never by listening here. */
  onChange(listener: (changes: readonly ConfigChange[], actor: Actor) => void): () => void;
}

// ---- The configuration lifecycle (VyOS's conf_mode scripts) ----
// Every subtree of the xConfiguration tree has exactly one owner, declared next to the service it
// drives (src/services/<area>/owner.ts, src/ssh/owner.ts); a key nobody owns refuses the boot.
// A commit runs: value spaces → every owner's verify (pure, the whole proposed configuration) →
// one SQLite transaction → apply of each owner whose subtree the commit named. So a bad
// combination is refused before anything is written, and services never watch keys by name.

/** A configuration as a whole, read by typed key (the current one, or the one a commit proposes). */
export interface ConfigView {
  value<K extends ConfigKey>(key: K): ConfigValue<K>;
}

/** One reason a proposed configuration is refused: one sentence naming the keys involved. */
export type Problem = string;

/** What an apply receives: the committed configuration and the keys of its subtrees the commit named. */
export interface ConfigDiff {
  readonly next: ConfigView;
  /** Canonical keys under the owner's subtrees that the commit set (changed or not). */
  readonly keys: readonly string[];
  readonly actor: Actor;
}

export interface ConfigOwner {
  /** Shown in logs and in the alarm when its apply fails, e.g. "Security Acme". */
  readonly name: string;
  /** The subtrees it owns, as key prefixes in canonical case ("Security Acme", "Http"). */
  readonly subtrees: readonly string[];
  /**
   * Pure: looks only at `next` (the whole proposed configuration, every key, defaults included)
   * and returns what is wrong with it, one sentence per problem; [] accepts it. Never throws,
   * reads the clock or touches I/O: a refused commit has changed nothing.
   */
  verify(next: ConfigView): Problem[];
  /**
   * Makes the running services follow a committed configuration. Runs after the transaction, so it
   * cannot refuse; all or nothing for its own state (never half applied). A throw is shown as an
   * alarm (xStatus Alarm) and logged, until a later apply of this owner succeeds.
   */
  apply(diff: ConfigDiff): void;
}

/**
 * Something a commit must pass through besides the owners: the cluster, which refuses a change of
 * shared keys without a quorum and publishes committed ones to the other peers. admit() runs after
 * verify and before the transaction (a throw refuses the commit, nothing written); committed()
 * after the owners' apply. Both are synchronous and must be cheap.
 */
export interface CommitGate {
  admit(changes: readonly ConfigChange[], actor: Actor): void;
  committed(changes: readonly ConfigChange[], actor: Actor): void;
}

/**
 * Where the configuration is kept (SQLite). `write` is one transaction, durable when it returns
 * (WAL, synchronous FULL); when it throws nothing was written. Keys and values have been checked
 * by the caller (Configuration).
 */
export interface ConfigStore {
  /** Every stored row; keys not stored hold their default. */
  load(): { key: string; value: Value }[];
  write(changes: readonly ConfigChange[], who: string, when: string): void;
}

/** A small durable key/value area for service state that is not configuration (JSON values). */
export interface StateStore {
  read<T>(key: string): T | undefined;
  write(key: string, value: unknown): void;
  delete(key: string): void;
}

export type StatusTree = { [name: string]: StatusValue };
export type StatusValue = string | number | StatusTree | readonly StatusTree[];

/**
 * Aggregates status providers. A provider owns one top-level group (e.g. "SystemUnit") and
 * returns its subtree on demand; it must be cheap and must not throw.
 */
export interface StatusService {
  provide(group: string, provider: () => StatusTree | readonly StatusTree[]): void;
  /** The whole tree, groups in registration order. */
  snapshot(): StatusTree;
  /** Tells feedback subscribers that something under `path` changed. */
  changed(path: readonly string[]): void;
  onChanged(listener: (path: readonly string[]) => void): () => void;
}

export interface Alarm {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly raised: string;
}

/** Raised alarms, by stable id. Raising a raised alarm updates its title, not its time. */
export interface AlarmService {
  raise(id: string, title: string, severity: Severity): void;
  lower(id: string): void;
  list(): Alarm[];
}

export interface AuthorizedKey {
  readonly fingerprint: string;
  readonly type: string;
  readonly comment: string;
  readonly added: string;
}

export interface UserInfo {
  readonly name: string;
  readonly role: Role;
  /** Authorized SSH keys. */
  readonly keys: number;
}

/** Told to listeners after the change is durable. */
export type AccountChange = { readonly kind: 'deleted' | 'password'; readonly user: string };

/**
 * Login accounts and their SSH public keys. Passwords are never stored or logged; password checks
 * and hashing run off the event loop, a bounded number at once for the whole appliance (the rest
 * wait their turn), so they may resolve late under a guessing attack but never freeze sessions.
 * Errors: ParameterError (bad name, password or key), CommandError (refused: exists, unknown, the
 * last Admin, one's own account).
 */
export interface AccountService {
  /** Exactly one password check whether or not the user exists (timing tells nothing); false for unknown users. */
  verifyPassword(user: string, password: string): Promise<boolean>;
  /** True when this public key (ssh wire format) is authorized for the user. */
  hasKey(user: string, keyType: string, keyData: Buffer): boolean;
  listKeys(user: string): AuthorizedKey[];
  /** Adds an OpenSSH public key line; throws ParameterError when malformed. */
  addKey(user: string, line: string, actor: Actor): AuthorizedKey;
  deleteKey(user: string, fingerprint: string, actor: Actor): void;
  setPassword(user: string, password: string, actor: Actor): Promise<void>;
  /** The actor's own password, after one check of the old one; CommandError when it is wrong (nothing changes). */
  changeOwnPassword(oldPassword: string, newPassword: string, actor: Actor): Promise<void>;
  roleOf(user: string): Role | undefined;
  /** Every account, by name. */
  users(): UserInfo[];
  addUser(name: string, role: Role, password: string, actor: Actor): Promise<void>;
  /** Deletes the account and its keys; never the last Admin, never the actor's own account. */
  deleteUser(name: string, actor: Actor): void;
  /** Deletions and password changes (e.g. to end a deleted user's sessions); returns the unsubscribe. */
  onChange(listener: (c: AccountChange) => void): () => void;
}

/** Product identity and lifecycle. */
export interface SystemService {
  readonly product: string;
  readonly version: string;
  readonly releaseDate: string;
  uptimeSeconds(): number;
  /** Restarts the appliance's services (stop listeners, reload from disk, listen again). */
  reboot(actor: Actor): Promise<void>;
}

/** The admin's upload area, seen as `/tmp` in the shell and over SFTP. */
export interface UploadArea {
  /** Reads a file named as the admin sees it (`/tmp/x.pem`); throws ParameterError for any other path. */
  read(path: string, maxBytes: number): Buffer;
  /** File names directly in the area, for completion. */
  list(): string[];
  /** Writes a file there (0600), atomically; returns the path as the admin sees it. */
  write(name: string, data: string | Buffer): string;
  /** Deletes a file named as the admin sees it (e.g. a key file once installed); ParameterError for any other path. */
  remove(path: string): void;
}

// ---- Certificates: trust store, server and domain certificates, CSR, TLS listener ----

/** Limits shared by the certificate services and the commands that feed them. */
export const CERTIFICATE_LIMITS = {
  /** Trusted CA entries at most. */
  maxTrustedCas: 1000,
  /** Largest CA Add input: 1000 RSA-4096 roots fit with room to spare. */
  caInputBytes: 8 * 1024 * 1024,
  /** Largest certificate + chain + key upload. */
  uploadBytes: 256 * 1024,
} as const;

/** A decoded X.509 certificate, as users see it. Never holds key material. */
export interface CertificateInfo {
  /** Distinguished names in RFC 4514-like one-line form, e.g. "CN=edge.example.com, O=Example". */
  readonly subject: string;
  readonly issuer: string;
  /** Empty when the certificate has no CN. */
  readonly commonName: string;
  /** Serial number, upper-case hex without separators. */
  readonly serial: string;
  /** ISO 8601 UTC. */
  readonly notBefore: string;
  readonly notAfter: string;
  /** DNS names (and "IP:<addr>" entries, which a server certificate may not carry). */
  readonly subjectAltNames: readonly string[];
  /** SHA-256 fingerprint, upper-case hex pairs joined by ':' (openssl's form). */
  readonly fingerprint: string;
  /** e.g. "RSA-2048", "ECDSA-P256". */
  readonly keyType: string;
  readonly signatureAlgorithm: string;
  readonly isCA: boolean;
}

export interface TrustedCa extends CertificateInfo {
  readonly pem: string;
}

export interface CaAddResult {
  readonly added: readonly CertificateInfo[];
  /** Certificates already in the store (same fingerprint), skipped. */
  readonly duplicates: readonly CertificateInfo[];
  /** One sentence each, e.g. another CA with the same common name exists. */
  readonly warnings: readonly string[];
}

/**
 * The trusted CA list. Every mutation is all-or-nothing and durable when it returns: on any
 * error (ParameterError for bad input, CommandError for a refused change) the store is exactly
 * as before. Reads are cheap (in memory). At most 1000 entries.
 */
export interface TrustStore {
  /** PEM of every trusted CA, in list order: the `ca` option for TLS clients (the ACME client). */
  caPems(): readonly string[];
  list(): readonly TrustedCa[];
  count(): number;
  /** By SHA-256 fingerprint, with or without ':' separators, any case. */
  get(fingerprint: string): TrustedCa | undefined;
  /** Appends every certificate in `pemText` (one or many PEM blocks). Throws ParameterError
   *  naming the bad block (malformed, not a CA, expired, a private key, over the limit). */
  add(pemText: string, actor: Actor): CaAddResult;
  /** Deletes all given fingerprints, or none (ParameterError naming an unknown one). */
  delete(fingerprints: readonly string[], actor: Actor): readonly CertificateInfo[];
  /** Back to the default list (Node's bundled root certificates); returns the new count. */
  reset(actor: Actor): number;
  /** Called after every change (e.g. to rebuild an https.Agent). */
  onChange(listener: () => void): () => void;
}

/** A certificate as installed: leaf, chain, where it came from. The key stays inside the service. */
export interface InstalledCertificate {
  readonly info: CertificateInfo;
  readonly certPem: string;
  /** Intermediates, leaf first order (may be empty). */
  readonly chainPem: readonly string[];
  readonly source: CertificateSource;
  /** ISO 8601 UTC. */
  readonly installed: string;
}

export interface CsrInfo {
  readonly pem: string;
  readonly commonName: string;
  readonly alternativeNames: readonly string[];
  readonly keyType: KeyType;
  readonly reusedKey: boolean;
  /** ISO 8601 UTC. */
  readonly created: string;
}

export interface CsrRequest {
  readonly commonName: string;
  readonly alternativeNames: readonly string[];
  readonly keyType: KeyType;
  /** Re-use the current server key (its type wins over keyType). */
  readonly reuseKey: boolean;
}

export interface DomainCertificate {
  readonly name: string;
  /** Undefined until a certificate is installed for the domain (SNI then falls back to the server certificate). */
  readonly certificate?: InstalledCertificate;
}

export interface UploadResult {
  readonly certificate: CertificateInfo;
  readonly warnings: readonly string[];
}

/**
 * Server and domain certificates, and the CSR. Files are written atomically (keys 0600); a
 * certificate and its key are one generation on disk, so a crash never pairs a certificate
 * with a foreign key. Private keys never leave this service except through `csrKeyPem()`,
 * which exists for the ACME service and must never reach output or logs.
 * Errors: ParameterError (bad input, with the failing check named), CommandError (refused in
 * this state, e.g. a key while a CSR is in progress).
 */
export interface CertificateService {
  /** The server certificate the HTTPS listener presents now. */
  active(): InstalledCertificate;
  /** An uploaded certificate waiting for `SystemUnit Boot` (restart required), if any. */
  pendingRestart(): InstalledCertificate | undefined;
  /** Server Upload: PEM text holding the certificate, optional chain, optional unencrypted key.
   *  Without a key, the CSR key (or else the current key) must match. Takes effect after a restart. */
  upload(pemText: string, actor: Actor): UploadResult;
  /**
   * Installs a signed certificate as the server certificate now and swaps the listener without a
   * restart (ACME deploy). `keyPem` omitted: the CSR key must match. The previous certificate is
   * kept for `rollback()`. Resolves once new handshakes see the new certificate. CommandError while
   * an uploaded certificate waits for a restart: a deploy never discards it.
   */
  deploy(certPem: string, chainPem: readonly string[], keyPem: string | undefined, source: CertificateSource, actor: Actor): Promise<InstalledCertificate>;
  /**
   * Swaps the certificate in service with the one the last deploy (or rollback) replaced: a second
   * rollback swaps back. CommandError when there is none, an upload waits for a restart, or (unless
   * `undo`, a deploy taking itself back) the previous one has expired or its serial is in `revoked`.
   */
  rollback(actor: Actor, opts?: { readonly revoked?: readonly string[]; readonly undo?: boolean }): Promise<InstalledCertificate>;

  csr(): CsrInfo | undefined;
  /** Generates the key off the event loop (RSA-4096 takes seconds); CommandError when a CSR is in progress. */
  createCsr(req: CsrRequest, actor: Actor): Promise<CsrInfo>;
  discardCsr(actor: Actor): void;
  /** The CSR's private key PEM, for the ACME service only; undefined without a CSR. */
  csrKeyPem(): string | undefined;

  domains(): readonly DomainCertificate[];
  /** Adds a hosted domain; with `pemText` (certificate, chain, key) installs its certificate now. */
  addDomain(name: string, pemText: string | undefined, actor: Actor): DomainCertificate;
  /** Installs a signed certificate for a domain now (ACME deploy for a domain). */
  deployDomain(name: string, certPem: string, chainPem: readonly string[], keyPem: string, source: CertificateSource, actor: Actor): Promise<InstalledCertificate>;
  deleteDomain(name: string, actor: Actor): void;
}

/** Answers one HTTPS request completely (status, headers, body). Must not throw. */
export type HttpsHandler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

/** Answers an HTTP request on port 80 if it is a challenge it knows; returns true when it answered. */
export type ChallengeHandler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => boolean;

/**
 * The HTTPS listener (server certificate, SNI domain certificates; TLS 1.2 minimum) and the HTTP
 * listener (404, or a redirect to HTTPS; ACME challenge paths first). A swap never resets an open
 * connection, keeps every TLS option and the session ticket keys; the next handshake sees it.
 * Swaps are in memory only: persistent changes go through CertificateService.deploy.
 */
export interface TlsService {
  /** certPem may hold the chain after the leaf. Throws ParameterError if the pair is unusable. */
  swapServer(certPem: string, keyPem: string): Promise<{ serial: string }>;
  /**
   * Sets (or with undefined, removes) the SNI certificate of one hosted name. A wildcard
   * `*.example.com` serves one label under example.com when no exact name does
   * (src/services/tls/sni-match.ts).
   */
  setDomain(name: string, pair: { certPem: string; keyPem: string } | undefined): void;
  currentServer(): { serial: string; fingerprint: string; certPem: string };
  /** Requests to /.well-known/acme-challenge/ go to the handler first, never redirected. */
  setChallengeHandler(handler: ChallengeHandler | undefined): void;
  /**
   * Sets (or with undefined, removes) the tls-alpn-01 challenge certificate (RFC 8737) of one name.
   * While set, a ClientHello with that name as SNI that offers ALPN `acme-tls/1` gets this
   * certificate, negotiates `acme-tls/1` and is closed after the handshake; clients that do not
   * offer `acme-tls/1` never see it, and an `acme-tls/1` hello for a name without one is refused
   * (no_application_protocol alert). Removal also ends open challenge connections. Throws
   * ParameterError (changing nothing) if the pair does not match or the certificate's names are
   * not exactly DNS:`name`. Callers set it only for the names of a running order and remove it when
   * the order ends, whatever the outcome.
   */
  setAlpnChallenge(name: string, pair: { certPem: string; keyPem: string } | undefined): void;
  setRedirect(on: boolean): void;
  /**
   * Serves (or with undefined, stops serving) one exact path on the HTTPS listener, on every
   * certificate's name; the query string is ignored when matching. Paths nobody serves answer 404.
   * Takes effect for the next request, on open connections too.
   */
  setHttpsRoute(path: string, handler: HttpsHandler | undefined): void;
}

/** Events for xFeedback subscribers (`*e Name:` blocks), e.g. ACME progress. */
export interface EventSink {
  emit(name: string, fields: Readonly<Record<string, string | number>>): void;
}

// ---- ACME certificate service (issue 4) ----

/** A certificate the ACME service signed and keeps staged until it is deployed or discarded. */
export interface AcmePendingCertificate {
  readonly info: CertificateInfo;
  /** Leaf then chain, PEM. */
  readonly pem: string;
  readonly provider: AcmeProvider;
  /** ISO 8601 UTC. */
  readonly signed: string;
}

export interface AcmeSignResult {
  /** InProgress when the caller did not wait, or the bounded wait ran out first. */
  readonly status: 'InProgress' | 'Succeeded' | 'Failed';
  /** Why it failed (one sentence), or empty. */
  readonly reason: string;
  readonly pending?: CertificateInfo;
}

export interface AcmeDeployResult {
  readonly certificate: CertificateInfo;
  /** The serial number a fresh TLS handshake with the listener presented after the swap. */
  readonly servedSerial: string;
  /** Where the replaced certificate was archived, as the admin names it (`/archive/<serial>.pem`), or empty. */
  readonly previous: string;
}

export interface AcmeRevokeResult {
  readonly serial: string;
  readonly reason: RevocationReason;
  /** The CA's answer, e.g. "200 OK". */
  readonly answer: string;
}

/**
 * ACME (RFC 8555) certificates for the server and for SNI domains, per target (`domain`
 * undefined = the server certificate). One order per target at a time; an order never outlives
 * its bounded time, and its HTTP-01 answers stop when it ends. State survives restarts.
 * Errors: ParameterError (unknown domain, bad path or value), CommandError (refused in this state:
 * no account, no CSR, already signing, nothing pending, certificate in use...), Unavailable
 * (the CA cannot be reached or refused the TLS connection); the message says which and why.
 */
export interface AcmeService {
  /**
   * The configured provider's terms of service URL; with `agree`, also creates (or finds) the
   * account. CommandError when AdminEmail is empty. Without `agree` nothing is stored.
   */
  acceptTerms(actor: Actor, agree: boolean): Promise<{ termsUrl: string; accountUrl: string; provider: AcmeProvider; agreed: boolean }>;
  /** Starts an order for the saved CSR (server) or the domain's key; with `wait`, resolves when it ends (bounded). */
  sign(domain: string | undefined, wait: boolean, actor: Actor): Promise<AcmeSignResult>;
  /** The whole order with a throwaway key, storing and deploying nothing; only LastDryRun changes. */
  dryRun(domain: string | undefined, wait: boolean, actor: Actor): Promise<AcmeSignResult>;
  pending(domain: string | undefined): AcmePendingCertificate | undefined;
  discardPending(domain: string | undefined, actor: Actor): CertificateInfo;
  /** Installs the pending certificate through the listener's live swap and checks what it serves. */
  deploy(domain: string | undefined, actor: Actor): Promise<AcmeDeployResult>;
  /** `certPath` is hostile input: only the upload area (/tmp) or the ACME archive (/archive). */
  revoke(certPath: string, provider: AcmeProvider | undefined, reason: RevocationReason, actor: Actor): Promise<AcmeRevokeResult>;
  /** The `Security Acme` status subtree (see schema/status.ts). Cheap; never throws. */
  status(): StatusTree;
  /**
   * The domain stops being hosted: its ACME key, pending certificate, record and renewal alarms go.
   * CommandError while an order for it runs. Call before CertificateService.deleteDomain.
   */
  forgetDomain(domain: string, actor: Actor): void;
  /** Serial numbers this appliance revoked (Acmerevoke): never put back in service. */
  revokedSerials(): readonly string[];
  /**
   * Sets a hosted domain's order options, kept with its ACME record: its own challenge type
   * (undefined: Security Acme Challenge Type) and, for a wildcard, whether orders also name its base.
   */
  setDomainOrder(domain: string, options: { challenge?: ChallengeTypeWord; includeBase: boolean }): void;
  /** ParameterError when a wildcard among `names` needs DNS-01 and `type` (default: the configured type) is another. */
  checkNames(names: readonly string[], type?: ChallengeTypeWord): void;
  /** ParameterError (remedy WildcardDns01) when `domain` is a wildcard and `type` (default: the configured type) is not Dns01. */
  checkDomainChallenge(domain: string, type?: ChallengeTypeWord): void;
  /** Adds a probe TXT record at `_acme-challenge.<domain or Zone>`, waits until it is visible, deletes it. Throws a DNS error sentence. */
  dnsTest(domain: string | undefined): Promise<DnsProbeReport>;
}

export interface DnsProbeReport {
  readonly name: string;
  readonly zone: string;
  readonly server: string;
  readonly addMs: number;
  readonly visibleMs: number;
  readonly removeMs: number;
  readonly servers: readonly string[];
}

// ---- Monitoring (issue 10) ----

/**
 * What the SSH server tells the rest of the appliance, as counters (src/ssh calls it; metrics
 * read it through SshActivity). Cheap and synchronous; never throws.
 */
export interface SshActivityRecorder {
  /** A connection authenticated: one more session open. */
  sessionOpened(): void;
  /** An authenticated connection closed. Called once per sessionOpened(). */
  sessionClosed(): void;
  /** A login attempt or connection was refused, and why. */
  loginRefused(reason: SshLoginRefusal): void;
}

export interface SshActivity {
  /** Authenticated SSH connections open now. */
  sessionsOpen(): number;
  /** Refused logins since the daemon started, by reason (every reason present, 0 included). */
  loginsRefused(): Readonly<Record<SshLoginRefusal, number>>;
}

export interface Services {
  readonly events: EventSink;
  readonly config: ConfigService;
  readonly state: StateStore;
  readonly status: StatusService;
  readonly alarms: AlarmService;
  readonly accounts: AccountService;
  readonly system: SystemService;
  readonly uploads: UploadArea;
  readonly trust: TrustStore;
  readonly certificates: CertificateService;
  readonly tls: TlsService;
  readonly acme: AcmeService;
  readonly cluster: ClusterControl;
}

/**
 * Joining and leaving the cluster (src/services/cluster/service.ts). join() checks the plan and
 * answers at once (CommandError naming every problem); forming goes on in the background, seen in
 * `xStatus Clustering Status` (Joining, then Active). leave() resolves once this peer is standalone;
 * it needs a quorum (Unavailable, nothing changed, otherwise).
 */
export interface ClusterControl {
  join(actor: Actor): void;
  leave(actor: Actor): Promise<void>;
}
