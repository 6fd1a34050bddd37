// Tab completion: verbs, paths, parameter names, literal values and upload-area file names, all
// read from the declarations. Pure given the registry and a file lister.
import type { Registry } from '../bus/registry.js';
import { walk, sorted, type TreeNode } from '../bus/tree.js';
import type { CommandDef } from '../../commands/define.js';
import type { ValueSpace } from '../../schema/types.js';
import { VERBS } from './parse.js';

export interface Completion {
  /** What could follow at the cursor (whole words). */
  candidates: string[];
  /** The line extended as far as the candidates agree (with a space after a unique word). */
  replacement: string;
}

/** Splits the line into finished words and the word being typed, respecting quotes. */
function split(line: string): { words: string[]; partial: string; quoted: boolean } {
  const words: string[] = [];
  let cur = '';
  let inQuote = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inQuote) {
      if (c === '\\' && i + 1 < line.length) cur += line[++i];
      else if (c === '"') inQuote = false;
      else cur += c;
    } else if (c === '"') {
      inQuote = true;
      started = true;
    } else if (c === ' ' || c === '\t') {
      if (started || cur) words.push(cur);
      cur = '';
      started = false;
    } else {
      cur += c;
      started = true;
    }
  }
  return { words, partial: cur, quoted: inQuote };
}

function commonPrefix(xs: string[]): string {
  if (!xs.length) return '';
  let p = xs[0]!;
  for (const x of xs) while (!x.toLowerCase().startsWith(p.toLowerCase())) p = p.slice(0, -1);
  return p;
}

function pick(options: readonly string[], partial: string): string[] {
  const lower = partial.toLowerCase();
  return options.filter((o) => o.toLowerCase().startsWith(lower));
}

function treeOptions<L>(node: TreeNode<L>): string[] {
  if (node.indexRange) {
    const out: string[] = [];
    for (let i = node.indexRange.min; i <= node.indexRange.max && out.length < 100; i++) out.push(String(i));
    return out;
  }
  return sorted(node).map((c) => c.name);
}

function valueOptions(type: ValueSpace, files: () => string[], isPath: boolean): string[] {
  if (isPath) return files().map((f) => `/tmp/${f}`);
  return [...(type.literals ?? [])];
}

export function complete(reg: Registry, line: string, files: () => string[] = () => []): Completion {
  const { words, partial, quoted } = split(line);
  const base = line.slice(0, line.length - partial.length - (quoted ? 1 : 0));
  const finish = (candidates: string[], suffix = ' '): Completion => {
    if (candidates.length === 0) return { candidates, replacement: line };
    if (candidates.length === 1) {
      const c = candidates[0]!;
      const needsQuote = /[\s"]/.test(c) || quoted;
      return { candidates, replacement: base + (needsQuote ? `"${c.replace(/(["\\])/g, '\\$1')}"` : c) + (c.endsWith(':') ? ' ' : suffix) };
    }
    const p = commonPrefix(candidates);
    return { candidates, replacement: p.length > partial.length && !quoted ? base + p : line };
  };
  if (words.length === 0) return finish(pick(VERBS, partial));
  const verb = VERBS.filter((v) => v.toLowerCase().startsWith(words[0]!.toLowerCase()));
  if (verb.length !== 1) return { candidates: [], replacement: line };
  const rest = words.slice(1);
  switch (verb[0]) {
    case 'xStatus':
      return finish(pathOptions(reg.status, rest, partial));
    case 'xConfiguration': {
      const last = rest[rest.length - 1];
      if (last?.endsWith(':')) {
        const w = walk(reg.config, [...rest.slice(0, -1), last.slice(0, -1)]);
        return finish(w.ok && w.node.leaf ? pick(valueOptions(w.node.leaf.type, files, false), partial) : []);
      }
      const w = walk(reg.config, rest);
      if (!w.ok || w.node.leaf) return { candidates: [], replacement: line };
      // A leaf name completes with the colon that starts its value.
      const leafNames = new Set(sorted(w.node).filter((c) => c.leaf).map((c) => c.name));
      return finish(pick(treeOptions(w.node), partial).map((o) => (leafNames.has(o) ? `${o}:` : o)));
    }
    case 'xCommand':
      return finish(commandOptions(reg, rest, partial, files));
    case 'xFeedback':
      return finish(rest.length === 0 ? pick(['register', 'deregister', 'deregisterall', 'list'], partial) : pick(['/Status', '/Configuration', '/Event'], partial));
    case 'xPreferences':
      return finish(rest.length === 0 ? pick(['outputmode'], partial) : rest.length === 1 ? pick(['terminal', 'xml', 'json'], partial) : []);
    case 'echo':
      return finish(rest.length === 0 ? pick(['on', 'off'], partial) : []);
    default:
      return { candidates: [], replacement: line };
  }
}

function pathOptions<L>(root: TreeNode<L>, done: string[], partial: string): string[] {
  const w = walk(root, done);
  if (!w.ok || (w.node.leaf && !w.node.children.size)) return [];
  return pick(treeOptions(w.node), partial);
}

function commandOptions(reg: Registry, done: string[], partial: string, files: () => string[]): string[] {
  const w = walk(reg.commands, done, true);
  if (!w.ok) return [];
  const def: CommandDef | undefined = w.node.leaf;
  if (!def) return pick(treeOptions(w.node), partial);
  const args = done.slice(w.consumed);
  const last = args[args.length - 1];
  const pname = last?.endsWith(':') ? Object.keys(def.params).find((n) => n.toLowerCase() === last.slice(0, -1).toLowerCase()) : undefined;
  if (pname) {
    const p = def.params[pname]!;
    return pick(valueOptions(p.type, files, !!p.file), partial);
  }
  const inline = /^([A-Za-z]+):(.*)$/.exec(partial);
  if (inline) {
    const n = Object.keys(def.params).find((k) => k.toLowerCase() === inline[1]!.toLowerCase());
    if (!n) return [];
    const p = def.params[n]!;
    return pick(valueOptions(p.type, files, !!p.file), inline[2]!).map((v) => `${n}:${v}`);
  }
  const given = new Set(args.filter((a) => a.includes(':')).map((a) => a.split(':')[0]!.toLowerCase()));
  return pick(
    Object.entries(def.params)
      .filter(([n, p]) => p.multiple || !given.has(n.toLowerCase()))
      .map(([n]) => `${n}:`),
    partial,
  );
}
