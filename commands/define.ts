// How an xCommand is declared: its path, help, role, parameters (in positional order) and handler.
// The parser, help, completion, the docs and the bus all read these declarations; handlers return
// plain data that one renderer per output mode turns into text, XML or JSON.
import type { Role, Value, ValueSpace } from '../schema/types.js';
import type { Services, Actor } from '../src/services/interfaces.js';
import { advise } from './advice.js';

export interface ParamOptions {
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

/** A parameter whose values have type `T`; `R` and `M` record `required` and `multiple` for typing. */
export interface ParamDef<T extends Value = Value, R extends boolean = boolean, M extends boolean = boolean> extends ParamOptions {
  readonly type: ValueSpace<T>;
  readonly help: string;
  readonly required?: R;
  readonly multiple?: M;
}

/** A multiline body (e.g. pasted PEM), ended by a line holding `.` alone. */
export interface PayloadDef {
  readonly help: string;
  /** The body is needed unless one of these parameters is given (e.g. `File`). */
  readonly unless?: readonly string[];
  /** Largest body accepted, in bytes. */
  readonly maxBytes: number;
}

/** Arguments as the parser builds them, before a command's declaration types them. */
export type Args = Record<string, Value | Value[] | undefined>;

/** What the handler receives for one parameter: an array when `multiple`, undefined unless `required`. */
type ArgOf<P> = P extends ParamDef<infer T, infer R, infer M>
  ? (M extends true ? T[] : T) | (R extends true ? never : undefined)
  : never;

/** The handler's arguments, derived from the parameter declarations. */
export type ArgsOf<P extends Params> = { readonly [K in keyof P]: ArgOf<P[K]> };

// `any` here only erases the per-parameter types so every declaration fits one list.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Params = Readonly<Record<string, ParamDef<any, boolean, boolean>>>;

/** A result field: a scalar, a nested group, or an indexed list (`Certificate 1:`, `Certificate 2:`). */
export type Field = string | number | Fields | readonly Fields[] | readonly string[];
export interface Fields { readonly [name: string]: Field }

export interface CommandContext {
  readonly services: Services;
  readonly actor: Actor;
  /** The multiline body, when one was sent. */
  readonly payload?: string;
}

export interface CommandDef<P extends Params = Params> {
  readonly path: readonly string[];
  readonly help: string;
  readonly role: Role;
  readonly params: P;
  readonly payload?: PayloadDef;
  run(args: ArgsOf<P>, ctx: CommandContext): Promise<Fields>;
}

/** Declares a command; the handler's argument types follow from `params`. */
export function defineCommand<const P extends Params>(def: CommandDef<P>): CommandDef {
  const declared = {
    ...def,
    // A service's refusal reaches the user with its advice worded (advice.ts).
    run: (args: ArgsOf<P>, ctx: CommandContext) => def.run(args, ctx).catch((e: unknown) => { throw advise(e); }),
  };
  // The parser checks every argument against these same declarations before `run` is called.
  return declared as unknown as CommandDef;
}

export function param<T extends Value, const O extends ParamOptions = Record<never, never>>(
  type: ValueSpace<T>, help: string, opts?: O,
): ParamDef<T, O['required'] extends true ? true : false, O['multiple'] extends true ? true : false> {
  return { type, help, ...opts } as ParamDef<T, O['required'] extends true ? true : false, O['multiple'] extends true ? true : false>;
}
