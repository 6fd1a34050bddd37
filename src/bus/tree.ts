// A path tree built from declarations (config nodes, status nodes, commands). Words match
// without case; a unique prefix of a child's name is accepted, an exact name always wins.
// A `#` segment in a declared path is an index: the user types a number in its range.

export interface TreeNode<L> {
  readonly name: string;
  readonly children: Map<string, TreeNode<L>>;
  /** Set when this node's children are indexed (`Peer 2 ...`). */
  indexRange?: { min: number; max: number };
  leaf?: L;
  /** Declaration order, for stable listing. */
  readonly order: number;
}

export interface Declared {
  readonly path: readonly string[];
  readonly index?: { min: number; max: number };
}

let orderCounter = 0;

function node<L>(name: string): TreeNode<L> {
  return { name, children: new Map(), order: orderCounter++ };
}

export const INDEX = '#';

export function buildTree<L extends Declared>(decls: readonly L[]): TreeNode<L> {
  const root = node<L>('');
  for (const d of decls) {
    let cur = root;
    d.path.forEach((seg, i) => {
      if (seg === INDEX) {
        cur.indexRange = d.index ?? { min: 1, max: 1000 };
        seg = INDEX;
      }
      const key = seg.toLowerCase();
      let next = cur.children.get(key);
      if (!next) {
        next = node<L>(seg);
        cur.children.set(key, next);
      }
      if (i === d.path.length - 1) {
        if (next.leaf) throw new Error(`duplicate declaration: ${d.path.join(' ')}`);
        if (next.children.size) throw new Error(`leaf declared over a group: ${d.path.join(' ')}`);
        next.leaf = d;
      } else if (next.leaf) {
        throw new Error(`group declared over a leaf: ${d.path.join(' ')}`);
      }
      cur = next;
    });
  }
  return root;
}

export type Step<L> =
  | { ok: true; node: TreeNode<L>; word: string }
  | { ok: false; kind: 'nomatch' | 'ambiguous'; candidates: string[]; range?: { min: number; max: number } };

/** Matches one word against the children of `cur` (exact name first, then unique prefix). */
export function step<L>(cur: TreeNode<L>, word: string): Step<L> {
  if (cur.indexRange) {
    const idx = cur.children.get(INDEX)!;
    if (/^\d{1,6}$/.test(word)) {
      const n = Number(word);
      if (n >= cur.indexRange.min && n <= cur.indexRange.max) return { ok: true, node: idx, word: String(n) };
    }
    return { ok: false, kind: 'nomatch', candidates: [], range: cur.indexRange };
  }
  const lower = word.toLowerCase();
  const exact = cur.children.get(lower);
  if (exact) return { ok: true, node: exact, word: exact.name };
  const hits = [...cur.children.values()].filter((c) => c.name.toLowerCase().startsWith(lower));
  if (hits.length === 1) return { ok: true, node: hits[0]!, word: hits[0]!.name };
  return { ok: false, kind: hits.length ? 'ambiguous' : 'nomatch', candidates: hits.map((h) => h.name) };
}

export type Walk<L> =
  | { ok: true; node: TreeNode<L>; canonical: string[]; consumed: number }
  | { ok: false; kind: 'nomatch' | 'ambiguous'; at: number; candidates: string[]; canonical: string[]; range?: { min: number; max: number } };

/**
 * Walks as many words as match. With `stopAtLeaf`, stops at the first leaf (commands: what
 * follows are arguments). Otherwise every word must match.
 */
export function walk<L>(root: TreeNode<L>, words: readonly string[], stopAtLeaf = false): Walk<L> {
  let cur = root;
  const canonical: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (stopAtLeaf && cur.leaf) return { ok: true, node: cur, canonical, consumed: i };
    const s = step(cur, words[i]!);
    if (!s.ok) return { ok: false, kind: s.kind, at: i, candidates: s.candidates, canonical, range: s.range };
    canonical.push(s.word);
    cur = s.node;
  }
  return { ok: true, node: cur, canonical, consumed: words.length };
}

/** Every leaf under `from`, with its canonical path (indexes expanded when `expand`). */
export function leaves<L>(from: TreeNode<L>, prefix: readonly string[], expand = true): { path: string[]; leaf: L }[] {
  const out: { path: string[]; leaf: L }[] = [];
  const visit = (n: TreeNode<L>, path: string[]) => {
    if (n.leaf) out.push({ path, leaf: n.leaf });
    if (n.indexRange) {
      const child = n.children.get(INDEX)!;
      if (expand) for (let i = n.indexRange.min; i <= n.indexRange.max; i++) visit(child, [...path, String(i)]);
      else visit(child, [...path, `[${n.indexRange.min}..${n.indexRange.max}]`]);
      return;
    }
    for (const c of sorted(n)) visit(c, [...path, c.name]);
  };
  visit(from, [...prefix]);
  return out;
}

export function sorted<L>(n: TreeNode<L>): TreeNode<L>[] {
  return [...n.children.values()].sort((a, b) => a.order - b.order);
}

/** `//Name`: every node anywhere whose own name starts with `name` (without case). */
export function search<L>(root: TreeNode<L>, name: string): { path: string[]; leaf: L }[] {
  const lower = name.toLowerCase();
  return leaves(root, []).filter(({ path }) =>
    path.some((seg) => seg.toLowerCase().startsWith(lower) && !/^\d+$/.test(seg)),
  );
}
