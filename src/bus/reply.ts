// What the bus answers: plain data. One renderer per output mode (src/cli/render/) turns a
// Reply into terminal text, XML or JSON.
import type { Value } from '../../schema/types.js';
import type { Fields } from '../../commands/define.js';
import type { StatusTree } from '../services/interfaces.js';
import { asXapiError } from '../errors.js';

export type ResultStatus = 'OK' | 'Error' | 'ParameterError';

export type Reply =
  /** xStatus: the matching part of the tree, rooted at the top-level groups. */
  | { kind: 'status'; tree: StatusTree }
  /** xConfiguration get: leaves in schema order. */
  | { kind: 'config'; entries: readonly { path: readonly string[]; value: Value; quoted: boolean }[] }
  /** xCommand results, and every error. */
  | { kind: 'result'; name: string; status: ResultStatus; fields: Fields }
  /** Success with nothing to show (a configuration set, echo, preferences). */
  | { kind: 'ok' }
  /** An unknown first word: the single line `Command not recognized.` */
  | { kind: 'unrecognized' }
  /** Help and listings: text lines, then OK (or ERROR when `ok` is false). */
  | { kind: 'text'; lines: readonly string[]; ok: boolean };

export function isFailure(r: Reply): boolean {
  return r.kind === 'unrecognized' || (r.kind === 'result' && r.status !== 'OK') || (r.kind === 'text' && !r.ok);
}

/**
 * The one mapping from the error hierarchy to a reply, for every output mode: ParameterError
 * shows as `status=ParameterError`, every other code as `status=Error`; the message is the
 * Reason, extra fields (XPath) follow. Anything that is not an XapiError is an Internal error.
 */
export function errorReply(name: string, err: unknown): Reply {
  const e = asXapiError(err);
  return { kind: 'result', name, status: e.code === 'ParameterError' ? 'ParameterError' : 'Error', fields: { Reason: e.message, ...e.fields } };
}
