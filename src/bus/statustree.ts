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
    const item = list[n - 1];
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
