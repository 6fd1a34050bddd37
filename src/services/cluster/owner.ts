// The owner of `Clustering`: the peers' addresses, the configuration primary and the TLS
// verification mode. Its verify runs the cluster plan (src/cluster/plan.ts) on the proposed
// configuration, so an address list no cluster could be formed from is refused when it is typed.
// Incompleteness is not a problem while addresses are typed one at a time (a single peer, this
// peer's own address not yet listed, a primary whose slot is still empty): Join names those.
// A running cluster keeps the plan it was formed with; a changed peer list takes effect at the
// next Join (Leave first), so apply has nothing to do.
import type { ConfigOwner, ConfigView, Problem } from '../interfaces.js';
import { planFrom, type ClusterSettings } from './service.js';

/** Plan problems that only mean the list is not finished yet (see above). */
const INCOMPLETE = [/^A cluster needs at least two peers/, /^This peer's address .* is not among/, /^Clustering ConfigurationPrimary \d+ is not a configured peer/];

/** Pure: the plan's problems with this configuration, but for incompleteness. */
export function verifyClustering(next: ConfigView, settings: Pick<ClusterSettings, 'self' | 'clientPort' | 'peerPort'>): Problem[] {
  return planFrom(next, settings).problems.filter((p) => !INCOMPLETE.some((re) => re.test(p)));
}

export function clusteringOwner(settings: Pick<ClusterSettings, 'self' | 'clientPort' | 'peerPort'>): ConfigOwner {
  return {
    name: 'Clustering',
    subtrees: ['Clustering'],
    verify: (next) => verifyClustering(next, settings),
    apply: () => {},
  };
}
