// The one error hierarchy. Every failure a user can see is one of these; the renderers turn
// `code` into `(status=ParameterError)` or `(status=Error)` and `message` into `Reason:`.

export type ErrorCode = 'ParameterError' | 'InvalidPath' | 'CommandError' | 'PermissionDenied' | 'Unavailable' | 'Internal';

export class XapiError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra result fields, e.g. XPath for InvalidPath, Warnings for partial success. */
    readonly fields: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** A parameter is missing, unknown, repeated or outside its value space. */
export class ParameterError extends XapiError {
  constructor(message: string) { super('ParameterError', message); }
}

/** An address expression (path) that matches nothing. */
export class InvalidPath extends XapiError {
  constructor(xpath: string) { super('InvalidPath', 'No match on address expression', { XPath: xpath }); }
}

/** The command ran and could not do what was asked; the message says why. */
export class CommandError extends XapiError {
  constructor(message: string, fields: Record<string, string | number> = {}) { super('CommandError', message, fields); }
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
