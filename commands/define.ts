// How an xCommand is declared: its path, help, role, parameters (in positional order) and handler.
// The parser, help, completion, the docs and the bus all read these declarations; handlers return
// plain data that one renderer per output mode turns into text, XML or JSON.
import type { Role, Value, ValueSpace } from '../schema/types.js';
import type { Services, Actor } from '../src/services/interfaces.js';

export interface ParamDef {
  readonly type: ValueSpace;
  readonly help: string;
  readonly required?: boolean;
  /** Repeatable (`Fingerprint: a Fingerprint: b`); the handler receives an array. */
  readonly multiple?: boolean;
  /** Never echoed in audit logs. */
  readonly secret?: boolean;
  /**
   * Names a file in the upload area (/tmp). ReadOnly accounts have no access to files, so only
   * Admin commands may declare one; a parameter named `...File` or `...Path` must say it is one
   * (src/bus/registry.ts refuses the declaration otherwise).
   */
  readonly file?: boolean;
}

/** A multiline body (e.g. pasted PEM), ended by a line holding `.` alone. */
export interface PayloadDef {
  readonly help: string;
  /** The body is needed unless one of these parameters is given (e.g. `File`). */
  readonly unless?: readonly string[];
  /** Largest body accepted, in bytes. */
  readonly maxBytes: number;
}

export type Args = Record<string, Value | Value[] | undefined>;

/** A result field: a scalar, a nested group, or an indexed list (`Certificate 1:`, `Certificate 2:`). */
export type Field = string | number | Fields | readonly Fields[] | readonly string[];
export interface Fields { readonly [name: string]: Field }

export interface CommandContext {
  readonly services: Services;
  readonly actor: Actor;
  /** The multiline body, when one was sent. */
  readonly payload?: string;
}

export interface CommandDef {
  readonly path: readonly string[];
  readonly help: string;
  readonly role: Role;
  readonly params: Readonly<Record<string, ParamDef>>;
  readonly payload?: PayloadDef;
  run(args: Args, ctx: CommandContext): Promise<Fields>;
}

export function defineCommand(def: CommandDef): CommandDef {
  return def;
}

export function param(type: ValueSpace, help: string, opts: Omit<ParamDef, 'type' | 'help'> = {}): ParamDef {
  return { type, help, ...opts };
}

/** Narrowing helpers for handlers. */
export function one(args: Args, name: string): Value | undefined {
  const v = args[name];
  return Array.isArray(v) ? v[0] : v;
}
export function many(args: Args, name: string): Value[] {
  const v = args[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
