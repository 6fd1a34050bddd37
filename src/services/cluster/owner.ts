// The owner of `Clustering`, as far as this version goes: the keys are declared (peers and their
// TLS verification) so that a configuration for a cluster can be prepared and exported, but
// nothing replicates yet. The cluster issue gives this owner its apply (connect to the peers);
// until then apply does nothing, and only the rule that needs no cluster is checked.
import { CONFIG } from '../../../schema/config.js';
import type { ConfigOwner, ConfigView, Problem } from '../interfaces.js';

/** The peer slots n of `Clustering Peer n Address`, from its declared index range. */
const PEER_SLOTS: readonly number[] = (() => {
  const node = CONFIG.find((n) => n.path.join(' ') === 'Clustering Peer # Address');
  const range = node && 'index' in node ? node.index : { min: 1, max: 0 };
  return Array.from({ length: range.max - range.min + 1 }, (_, i) => range.min + i);
})();

/** Pure: every peer address is different (an empty slot is unused). */
export function verifyClustering(next: ConfigView): Problem[] {
  const seen = new Map<string, number>();
  const problems: Problem[] = [];
  for (const n of PEER_SLOTS) {
    const address = next.value(`Clustering Peer ${n} Address`).toLowerCase().replace(/\.$/, '');
    if (address === '') continue;
    const first = seen.get(address);
    if (first !== undefined) problems.push(`Clustering Peer ${first} Address and Peer ${n} Address are both ${address}: each peer needs its own address`);
    else seen.set(address, n);
  }
  return problems;
}

export const clusteringOwner: ConfigOwner = {
  name: 'Clustering',
  subtrees: ['Clustering'],
  verify: verifyClustering,
  // Nothing runs a cluster yet (see above): committed values wait for the cluster issue.
  apply: () => {},
};
