// Text from outside (certificate subjects, names, typed values) may hold characters a terminal
// acts on or shows misleadingly: C0 and C1 controls (U+009B is a one-byte CSI), DEL, bidi
// overrides and isolates (U+202E turns text around), line separators, noncharacters (U+FFFF is not
// allowed in XML) and lone surrogates. Every renderer escapes them in its own syntax.

/** One unsafe character (or lone surrogate) per match; tab and newline included. */
export const UNSAFE =
  /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A surrogate without its other half: no valid text, and parsers (jsxapi's jsonparse) garble it. */
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The character's code unit as 4 hex digits. */
export const hex4 = (c: string): string => c.charCodeAt(0).toString(16).padStart(4, '0');

/** Terminal form: `\n`, `\t`, `\x9b` for one-byte codes, `\u202e` for the others. */
export function escapeForTerminal(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  const code = c.charCodeAt(0);
  return code < 0x100 ? '\\x' + code.toString(16).padStart(2, '0') : '\\u' + hex4(c);
}
