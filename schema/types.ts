// Value spaces: the one description of what a leaf may hold. Validation, help (`<On/Off>`,
// `<1..65535>`, `<S: 0, 255>`), completion and the reference docs all read these.
// Pure data and pure functions: nothing here touches I/O or imports from src/.
import type { ROLES } from './sets.js';

export type Value = string | number;
export type Role = (typeof ROLES)[number];

export type Parsed<T extends Value = Value> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * A value space whose accepted values have type `T`: `literal('On', 'Off')` is a
 * `ValueSpace<'On' | 'Off'>`, `int(..)` a `ValueSpace<number>`, `str(..)` a `ValueSpace<string>`.
 * Commands and the configuration accessor derive their argument and value types from it.
 */
export interface ValueSpace<T extends Value = Value> {
  readonly kind: 'literal' | 'int' | 'string';
  /** The Cisco-style value space, e.g. `<On/Off>`, `<1..65535>`, `<S: 0, 255>`. */
  readonly space: string;
  /** Closed set of words (literal spaces only), in their canonical case. */
  readonly literals?: readonly string[];
  /** Whether terminal output quotes the value (strings yes, literals and integers no). */
  readonly quoted: boolean;
  /** Checks a raw value as typed; returns the canonical value or why it is refused. */
  parse(raw: string): Parsed<T>;
}

/** A closed set of words, matched without case, rendered in canonical case. */
export function literal<const L extends readonly string[]>(...values: L): ValueSpace<L[number]> {
  const space = `<${values.join('/')}>`;
  return {
    kind: 'literal',
    space,
    literals: values,
    quoted: false,
    parse(raw) {
      const hit = values.find((v) => v.toLowerCase() === raw.toLowerCase());
      return hit === undefined ? { ok: false, reason: `expected ${space}` } : { ok: true, value: hit };
    },
  };
}

/** An integer in [min, max]. */
export function int(min: number, max: number): ValueSpace<number> {
  const space = `<${min}..${max}>`;
  return {
    kind: 'int',
    space,
    quoted: false,
    parse(raw) {
      if (!/^-?\d{1,15}$/.test(raw)) return { ok: false, reason: `expected ${space}` };
      const n = Number(raw);
      return n < min || n > max ? { ok: false, reason: `expected ${space}` } : { ok: true, value: n };
    },
  };
}

export interface StringOptions {
  /** Extra check on a value of the right length; returns why it is refused, or undefined. */
  check?: (v: string) => string | undefined;
  /** Words offered by Tab completion (the value space stays open). */
  suggestions?: readonly string[];
}

/** A string of min..max characters, printable, no control characters. */
export function str(min: number, max: number, opts: StringOptions = {}): ValueSpace<string> {
  const space = `<S: ${min}, ${max}>`;
  return {
    kind: 'string',
    space,
    quoted: true,
    literals: opts.suggestions,
    parse(raw) {
      // Control characters never belong in a configuration value or parameter.
      // eslint-disable-next-line no-control-regex
      if (/[\x00-\x1f\x7f]/.test(raw)) return { ok: false, reason: `control characters are not allowed in ${space}` };
      const len = [...raw].length;
      if (len < min || len > max) return { ok: false, reason: `expected ${space}` };
      const why = opts.check?.(raw);
      return why ? { ok: false, reason: why } : { ok: true, value: raw };
    },
  };
}

// ---- Common checks, shared by schema and commands ----

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/** A fully qualified domain name: at least two labels, letters in the last one, no IP address. */
export function isFqdn(v: string): boolean {
  if (v.length > 253) return false;
  const name = v.endsWith('.') ? v.slice(0, -1) : v;
  const labels = name.split('.');
  if (labels.length < 2) return false;
  if (!labels.every((l) => LABEL.test(l))) return false;
  return /[a-z]/i.test(labels[labels.length - 1]!);
}

/** `*.example.com`: a wildcard name, valid or not (see domainNameProblem). */
export function isWildcardName(v: string): boolean {
  return v.startsWith('*.');
}

/**
 * Why `input` cannot name a hosted (SNI) domain, in one sentence; undefined when it can. A domain
 * is an FQDN, or a wildcard whose `*` is the whole first label and stands for exactly one label
 * (RFC 6125 section 6.4.3) above at least two more: `*.com` would cover a top-level domain.
 * Case and a final dot are the caller's to drop.
 */
export function domainNameProblem(input: string): string | undefined {
  const what = `Invalid Name ${JSON.stringify(input)}`;
  if (!input.includes('*')) return isFqdn(input) ? undefined : `${what}: expected a valid FQDN`;
  if (!isWildcardName(input)) return `${what}: a wildcard must be the whole first label, as in *.example.com`;
  const base = input.slice(2);
  if (base.includes('*')) return `${what}: only the first label may be a wildcard`;
  if (!base.replace(/\.$/, '').includes('.')) return `${what}: a wildcard needs at least two labels after *.`;
  if (input.length > 253 || !isFqdn(base)) return `${what}: expected *. followed by a valid FQDN`;
  return undefined;
}

/** A hosted (SNI) domain's name: an FQDN, or a wildcard `*.<FQDN>` (see domainNameProblem). */
export function hostedDomain(): ValueSpace<string> {
  return str(1, 253, {
    check: (v) => (v === '' || domainNameProblem(v) === undefined ? undefined : v.includes('*') ? `${v} is not a valid wildcard (*.<FQDN>)` : `${v} is not a valid FQDN`),
  });
}

export function fqdn(min = 1, max = 253): ValueSpace<string> {
  return str(min, max, { check: (v) => (v === '' || isFqdn(v) ? undefined : `${v} is not a valid FQDN`) });
}

/** An IP address (v4 or v6) or an FQDN: how cluster peers name each other; '' is allowed (unused). */
export function hostAddress(): ValueSpace<string> {
  return str(0, 253, { check: (v) => (v === '' || IPV4.test(v) || isIPv6(v) || isFqdn(v) ? undefined : `${v} is not an IP address or FQDN`) });
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** RFC 4291 text form: up to eight hex groups, one `::` at most (no node:net in the schema). */
function isIPv6(v: string): boolean {
  if (!/^[0-9A-Fa-f:]+$/.test(v) || v.split('::').length > 2) return false;
  const groups = v.split(':').filter((g) => g !== '');
  return groups.every((g) => g.length <= 4) && (v.includes('::') ? groups.length < 8 : groups.length === 8);
}

export function email(): ValueSpace<string> {
  return str(0, 254, {
    check: (v) => (v === '' || /^[^\s@"]+@[^\s@"]+\.[^\s@"]+$/.test(v) ? undefined : `${v} is not an email address`),
  });
}

export function httpsUrl(): ValueSpace<string> {
  return str(0, 1024, {
    check(v) {
      if (v === '') return undefined;
      try {
        const u = new URL(v);
        return u.protocol === 'https:' ? undefined : `${v} is not an https URL`;
      } catch {
        return `${v} is not a URL`;
      }
    },
  });
}

/** A login name as on a Unix system: it appears in audit lines and in `user@host`. */
export const USER_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

export function userName(): ValueSpace<string> {
  return str(1, 32, {
    check: (v) => (USER_NAME.test(v) ? undefined : `${v} is not a user name: expected a-z 0-9 _ . - starting with a letter or _`),
  });
}

export const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

/** Comma-separated days of the week, e.g. "Mon,Thu"; canonicalised, unique, week order. */
export function weekdays(): ValueSpace<string> {
  const base = str(0, 27);
  return {
    ...base,
    literals: DAYS,
    parse(raw) {
      const first = base.parse(raw);
      if (!first.ok) return first;
      if (raw.trim() === '') return { ok: true, value: '' };
      const picked = new Set<string>();
      for (const part of raw.split(',')) {
        const d = DAYS.find((x) => x.toLowerCase() === part.trim().toLowerCase());
        if (!d) return { ok: false, reason: `${part.trim()} is not a day: expected a list of ${DAYS.join('/')}` };
        picked.add(d);
      }
      return { ok: true, value: DAYS.filter((d) => picked.has(d)).join(',') };
    },
  };
}

/** A time of day "HH:MM", 24-hour. */
export function timeOfDay(): ValueSpace<string> {
  // The format is checked first: "2:30" must hear HH:MM, not the length bound <S: 5, 5>.
  return {
    ...str(5, 5),
    parse: (raw) => (/^([01]\d|2[0-3]):[0-5]\d$/.test(raw) ? { ok: true, value: raw } : { ok: false, reason: 'expected a time of day as HH:MM, 00:00 to 23:59' }),
  };
}
