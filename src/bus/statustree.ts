// Cutting a status snapshot down to the part a path names. Indexed lists keep their user-visible
// index on each item (a symbol key, invisible to JSON.stringify) so `Alarm 2` stays `Alarm 2`
// after the first item is cut away.
import type { StatusTree, StatusValue } from '../services/interfaces.js';

export const ITEM_INDEX = Symbol('index');

export function indexOf(item: object, position: number): number {
  return (item as { [ITEM_INDEX]?: number })[ITEM_INDEX] ?? position + 1;
}

function withIndex(item: StatusTree, n: number): StatusTree {
  const copy: StatusTree = { ...item };
  Object.defineProperty(copy, ITEM_INDEX, { value: n, enumerable: false });
  return copy;
}

function findKey(tree: StatusTree, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(tree).find((k) => k.toLowerCase() === lower);
}

/**
 * The part of `tree` under `path` (canonical names, indexes as decimal strings), still rooted at
 * the top. Undefined when nothing is there (e.g. `Alarm 3` with two alarms).
 */
export function cut(tree: StatusTree, path: readonly string[]): StatusTree | undefined {
  if (path.length === 0) return tree;
  const key = findKey(tree, path[0]!);
  if (key === undefined) return undefined;
  const value = tree[key]!;
  const rest = path.slice(1);
  if (Array.isArray(value)) {
    const list = value as readonly StatusTree[];
    if (rest.length === 0) return { [key]: list };
    const n = Number(rest[0]);
    // By the item's own index: a list of changes holds only the items that changed.
    const item = list.find((it, i) => indexOf(it, i) === n);
    if (!item) return undefined;
    const inner = cut(item, rest.slice(1));
    return inner === undefined ? undefined : { [key]: [withIndex(inner, n)] };
  }
  if (rest.length === 0) return { [key]: value };
  if (typeof value !== 'object') return undefined;
  const inner = cut(value as StatusTree, rest);
  return inner === undefined ? undefined : { [key]: inner };
}

/** Merges cuts taken from one snapshot (for `//Name` searches). */
export function merge(a: StatusTree, b: StatusTree): StatusTree {
  const out: StatusTree = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev) && Array.isArray(v)) {
      const byIndex = new Map<number, StatusTree>();
      (prev as StatusTree[]).forEach((it, i) => byIndex.set(indexOf(it, i), it));
      (v as StatusTree[]).forEach((it, i) => {
        const n = indexOf(it, i);
        const old = byIndex.get(n);
        byIndex.set(n, withIndex(old ? merge(old, it) : it, n));
      });
      out[k] = [...byIndex.entries()].sort((x, y) => x[0] - y[0]).map(([, t]) => t);
    } else if (typeof prev === 'object' && typeof v === 'object' && !Array.isArray(prev)) {
      out[k] = merge(prev as StatusTree, v as StatusTree);
    } else out[k] = v;
  }
  return out;
}

const isTree = (v: unknown): v is StatusTree => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What changed from `before` to `after`: the leaves whose values differ, under their parents, and
 * subtrees that are new. A list whose length changed is sent whole (an item that went away cannot
 * be named otherwise); in a list of the same length only the changed items, with their index.
 * Undefined when nothing changed.
 */
export function changes(before: StatusValue | undefined, after: StatusValue): StatusValue | undefined {
  if (Array.isArray(after)) {
    const list = after as readonly StatusTree[];
    if (!Array.isArray(before) || before.length !== list.length) return list.map((it, i) => withIndex(it, indexOf(it, i)));
    const out: StatusTree[] = [];
    list.forEach((it, i) => {
      const d = changes((before as readonly StatusTree[])[i], it);
      if (d !== undefined) out.push(withIndex(d as StatusTree, indexOf(it, i)));
    });
    return out.length ? out : undefined;
  }
  if (isTree(after)) {
    if (!isTree(before)) return after;
    const out: StatusTree = {};
    for (const [k, v] of Object.entries(after)) {
      const d = changes(before[k], v);
      if (d !== undefined) out[k] = d;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return before === after ? undefined : after;
}

/** `base` with the part under `path` taken from `from` (what was announced is now known). */
export function graft(base: StatusTree, path: readonly string[], from: StatusTree): StatusTree {
  if (path.length === 0) return from;
  const key = findKey(from, path[0]!) ?? findKey(base, path[0]!) ?? path[0]!;
  const out: StatusTree = { ...base };
  const next = from[key];
  const prev = base[key];
  if (path.length > 1 && isTree(next) && isTree(prev)) out[key] = graft(prev, path.slice(1), next);
  else if (next === undefined) delete out[key];
  else out[key] = next;
  return out;
}

/** `tree` without the part under `path`: what is no longer known (copies along the way). */
export function prune(tree: StatusTree, path: readonly string[]): StatusTree {
  if (path.length === 0) return {};
  const key = findKey(tree, path[0]!);
  if (key === undefined) return tree;
  const out: StatusTree = { ...tree };
  const v = tree[key];
  if (path.length > 1 && isTree(v)) out[key] = prune(v, path.slice(1));
  else delete out[key];
  return out;
}

/** Every leaf path in a tree, indexes included: for checking providers against the schema. */
export function leafPaths(tree: StatusTree, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [k, v] of Object.entries(tree)) {
    if (Array.isArray(v)) (v as StatusTree[]).forEach((it) => out.push(...leafPaths(it, [...prefix, k, '#'])));
    else if (typeof v === 'object') out.push(...leafPaths(v as StatusTree, [...prefix, k]));
    else out.push([...prefix, k]);
  }
  return out;
}

export type { StatusValue };
