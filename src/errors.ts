// The one error hierarchy. Every layer throws these (the parser, the bus, services, commands);
// `errorReply` in src/bus/reply.ts is the one place that turns them into a reply, and the three
// renderers show that reply as `*r <Name>Result (status=Error|ParameterError): Reason: ...`,
// XML or JSON. Services state facts; what the user can do about it is a `Remedy` that the
// commands layer words as advice (commands/advice.ts).

export type ErrorCode = 'ParameterError' | 'InvalidPath' | 'CommandError' | 'PermissionDenied' | 'Unavailable' | 'Internal';

/**
 * What the user can do about a refusal, as a stable word. Services name it; commands turn it into
 * advice such as "run xCommand Security Acme AcceptTerms first".
 */
export type Remedy = 'AcceptTerms' | 'AcceptTermsAgain' | 'AddDomain' | 'CreateCsr' | 'DiscardCsr' | 'LeaveCluster' | 'RestartThenDeploy' | 'Sign' | 'WildcardDns01';

export class XapiError extends Error {
  /** Set by the service that refused; cleared once a command has worded it (`advised`). */
  remedy?: Remedy;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra result fields, e.g. XPath for InvalidPath, Warnings for partial success. */
    readonly fields: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = code;
  }

  /** Names what the user can do about it (see Remedy); returns this, for `throw new X(..).needs(..)`. */
  needs(remedy: Remedy): this {
    this.remedy = remedy;
    return this;
  }

  /** The same error, its reason followed by `advice` (the commands layer words remedies). */
  advised(advice: string): this {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(this) as object) as this, this);
    copy.message = `${this.message}: ${advice}`;
    copy.stack = this.stack;
    copy.remedy = undefined;
    return copy;
  }
}

/** A parameter is missing, unknown, repeated or outside its value space. */
export class ParameterError extends XapiError {
  constructor(message: string) { super('ParameterError', message); }
}

/** A request naming a hosted (SNI) domain that does not exist. */
export class DomainNotHosted extends ParameterError {
  constructor(readonly domain: string) { super(`No hosted domain is named ${domain}`); }
}

/** An address expression (path) that matches nothing. */
export class InvalidPath extends XapiError {
  /** `detail` says why, when known (e.g. an index out of range). */
  constructor(xpath: string, detail?: string) {
    super('InvalidPath', `No match on address expression${detail ? `: ${detail}` : ''}`, { XPath: xpath });
  }
}

/** The request could not be done as asked (malformed, refused in this state); the message says why. */
export class CommandError extends XapiError {
  constructor(message: string, fields: Record<string, string | number> = {}) { super('CommandError', message, fields); }
}

/** A cluster peer (another, or this one in a second session) is ordering a certificate for `domain` now. */
export class NameLocked extends CommandError {
  constructor(readonly domain: string, readonly holder?: { peer: number; address: string }, self = false) {
    const who = self ? 'This peer' : holder ? `Cluster peer ${holder.peer} (${holder.address})` : 'Another cluster peer';
    super(`${who} is ordering a certificate for ${domain} now: two peers never order the same name at once`);
  }
}

/**
 * An order stopped because this peer lost the cluster's lock on one of its names (cut off from
 * the cluster for longer than the lock's lease): another peer may order the name now.
 */
export class OrderLockLost extends CommandError {
  constructor(names: readonly string[]) {
    super(`This peer lost the cluster lock on ${names.join(', ')}: the order was stopped, as another peer may order the same name now`);
  }
}

/** A configuration commit that an owner's verify refused; nothing was written. */
export class ConfigurationRefused extends XapiError {
  /** One sentence per problem; the reason shows them all, in owner order. */
  constructor(readonly problems: readonly string[]) { super('CommandError', problems.join('; ')); }
}

export class PermissionDenied extends XapiError {
  constructor(what: string) { super('PermissionDenied', `Permission denied: ${what} needs the Admin role`); }
}

/** A service the command needs is not running or not reachable (the CA, a listener). */
export class Unavailable extends XapiError {
  constructor(message: string) { super('Unavailable', message); }
}

/** A bug or an unexpected failure; the user sees a generic sentence, the log has the detail. */
export class Internal extends XapiError {
  constructor(message = 'Internal error; see the log') { super('Internal', message); }
}

/** The data disk refused a write (full, or not writable). Writes are atomic, so nothing was changed. */
export class DiskUnavailable extends Unavailable {}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
const DISK_READ_ONLY = new Set(['EACCES', 'EPERM', 'EROFS', 'SQLITE_READONLY', 'SQLITE_CANTOPEN']);

/** A Node (errno) or SQLite error that means the data disk refused a write, in one sentence; else undefined. */
export function diskFailure(err: unknown): DiskUnavailable | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (DISK_FULL.has(code)) return new DiskUnavailable('The data disk is full: nothing was changed');
  if (DISK_READ_ONLY.has(code)) return new DiskUnavailable('The data disk is not writable: nothing was changed');
  return undefined;
}

export function asXapiError(err: unknown): XapiError {
  return err instanceof XapiError ? err : diskFailure(err) ?? new Internal();
}
