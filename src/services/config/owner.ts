// Which owner a key belongs to. The owner contract (ConfigOwner) is in ../interfaces.ts; the
// commit that runs the owners is in configuration.ts.
import type { ConfigOwner } from '../interfaces.js';

/** True when `key` lies in `subtree` (whole words: "Http" owns "Http Redirect Mode", not "Https ..."). */
export function inSubtree(key: string, subtree: string): boolean {
  const k = key.toLowerCase();
  const s = subtree.toLowerCase();
  return k === s || k.startsWith(s + ' ');
}

/** Keys no owner claims, and keys two owners claim: both refuse the boot. */
export function ownershipProblems(keys: readonly string[], owners: readonly ConfigOwner[]): string[] {
  const out: string[] = [];
  for (const key of keys) {
    const by = owners.filter((o) => o.subtrees.some((s) => inSubtree(key, s)));
    if (by.length === 0) out.push(`configuration ${key} has no owner`);
    else if (by.length > 1) out.push(`configuration ${key} has two owners: ${by.map((o) => o.name).join(', ')}`);
  }
  return out;
}
