// The export format: one replayable `xConfiguration <path>: <value>` line per key, values quoted
// with \" and \\ escapes, `#` comment lines. The same lines can be pasted into any xway shell.
import type { Value } from '../../../schema/types.js';

export function formatLine(key: string, value: Value): string {
  return `xConfiguration ${key}: "${String(value).replace(/[\\"]/g, (c) => '\\' + c)}"`;
}

export type ParsedLine = { key: string; value: string } | { error: string };

export function parseExportLine(line: string): ParsedLine | undefined {
  const t = line.trim();
  if (t === '' || t.startsWith('#')) return undefined;
  const m = /^xConfiguration\s+([A-Za-z0-9 ]+?):\s*(?:"((?:[^"\\]|\\.)*)"|(\S*))\s*$/i.exec(t);
  if (!m) return { error: `not an xConfiguration line: ${t.slice(0, 80)}` };
  const value = m[2] !== undefined ? m[2].replace(/\\(["\\])/g, '$1') : m[3]!;
  return { key: m[1]!.trim().replace(/\s+/g, ' '), value };
}
