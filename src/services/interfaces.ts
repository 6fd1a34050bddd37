// The services that commands and the bus may use. Each interface states its contract; the
// implementations live beside this file (or in src/stores) and are wired together in src/app.ts.
// Commands see only these interfaces, never a store or Node I/O.
import type { Value } from '../../schema/types.js';

/** Who did something, from where; every audit line carries it. */
export interface Actor {
  readonly user: string;
  readonly role: 'Admin' | 'ReadOnly';
  readonly remote: string;
  readonly session: string;
}

export interface ConfigChange {
  readonly key: string;
  readonly value: Value;
}

/**
 * The configuration database. Keys are canonical paths joined by one space
 * ("Http Redirect Mode", "Clustering Peer 2 Address"). Values have been validated by the caller
 * against the schema; `set` is one transaction: all of it is durable when it returns, or none.
 * Listeners run after the commit, in registration order; a listener that throws is logged, not undone.
 */
export interface ConfigService {
  get(key: string): Value;
  /** Every key with its current value (defaults included), in schema order. */
  entries(): ConfigChange[];
  set(changes: readonly ConfigChange[], actor: Actor): void;
  /** Resets the given keys to their defaults (one transaction). */
  reset(keys: readonly string[], actor: Actor): void;
  onChange(listener: (changes: readonly ConfigChange[], actor: Actor) => void): () => void;
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

export type Severity = 'Warning' | 'Error' | 'Critical';
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

/** Login accounts and their SSH public keys. */
export interface AccountService {
  verifyPassword(user: string, password: string): boolean;
  /** True when this public key (ssh wire format) is authorized for the user. */
  hasKey(user: string, keyType: string, keyData: Buffer): boolean;
  listKeys(user: string): AuthorizedKey[];
  /** Adds an OpenSSH public key line; throws ParameterError when malformed. */
  addKey(user: string, line: string, actor: Actor): AuthorizedKey;
  deleteKey(user: string, fingerprint: string, actor: Actor): void;
  setPassword(user: string, password: string, actor: Actor): void;
  roleOf(user: string): 'Admin' | 'ReadOnly' | undefined;
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
}

export interface Services {
  readonly config: ConfigService;
  readonly state: StateStore;
  readonly status: StatusService;
  readonly alarms: AlarmService;
  readonly accounts: AccountService;
  readonly system: SystemService;
  readonly uploads: UploadArea;
}
