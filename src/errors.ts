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

export function asXapiError(err: unknown): XapiError {
  return err instanceof XapiError ? err : new Internal();
}
