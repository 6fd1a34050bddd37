// The cluster plan: from the six `Clustering Peer n Address` values, this peer's own address
// (XWAY_BIND) and `Clustering ConfigurationPrimary`, everything the etcd side needs to know, or the
// problems that stop a cluster from forming, one sentence each. Pure: the clustering configuration
// owner's verify() calls it; the member supervisor and the client take their flags and endpoints
// from the plan it returns.
//
// Who votes. etcd needs a majority of its voting members (quorum) for every write and linearizable
// read: 2 voters tolerate no failure, 3 and 4 tolerate one, 5 and 6 tolerate two. An even number of
// voters buys no tolerance over one voter less and costs a raft round trip more. So the plan makes
// the largest odd number of peers voters (1 of 2, 3 of 3 or 4, 5 of 5 or 6), the primary first, then
// by peer number; the remaining peer (never more than one) runs no etcd member and is a plain client
// of the voters. A plain client's failure costs the cluster nothing, which a learner or a fourth
// voter would not give: a 4th voter makes any two failures fatal, and etcd 3.4 learners refuse
// writes and watches, so that peer would need the voters' endpoints anyway.
import crypto from 'node:crypto';

export const MAX_PEERS = 6;

export type PeerRole = 'Voter' | 'Client';

export interface PlanInput {
  /** `Clustering Peer 1..6 Address`, index 0 = peer 1; '' marks an unused slot. */
  readonly peers: readonly string[];
  /** This peer's own address (XWAY_BIND / --bind), as the others know it. */
  readonly self: string;
  /** `Clustering ConfigurationPrimary`, 1..6. */
  readonly primary: number;
  readonly clientPort: number;
  readonly peerPort: number;
}

export interface PlannedPeer {
  /** 1..6, the n of `Peer n Address`. */
  readonly number: number;
  /** etcd member name, `peer<n>`. */
  readonly name: string;
  readonly address: string;
  readonly role: PeerRole;
  /** https://address:peerPort, what other members dial (only voters listen). */
  readonly peerUrl: string;
  /** https://address:clientPort, what clients dial (only voters listen). */
  readonly clientUrl: string;
}

export interface ClusterPlan {
  /** This peer's number. */
  readonly self: number;
  readonly primary: number;
  /** Configured peers in peer-number order. */
  readonly peers: readonly PlannedPeer[];
  /** Voting peers' numbers, the primary first. */
  readonly voters: readonly number[];
  /** Voters needed for a write: floor(voters / 2) + 1. */
  readonly quorum: number;
  /** Voters that may fail with the cluster still writable. */
  readonly tolerates: number;
  /** etcd `--initial-cluster`: `peer1=https://a:2380,...`, voters only, in `voters` order. */
  readonly initialCluster: string;
  /** etcd `--initial-cluster-token`: the same on every peer with the same peer list, different otherwise. */
  readonly token: string;
  /** Every voter's client URL: the client's endpoint list on every peer. */
  readonly endpoints: readonly string[];
}

/** `plan` is undefined for a standalone appliance (no peer configured) or when there are problems. */
export interface PlanResult {
  readonly plan?: ClusterPlan;
  readonly problems: readonly string[];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

function validAddress(a: string): boolean {
  if (IPV4.test(a) || HOSTNAME.test(a)) return true;
  return a.includes(':') && IPV6.test(a);
}

/** Comparable form: names are case-insensitive and may carry a root dot. */
function canonical(a: string): string {
  return a.toLowerCase().replace(/\.$/, '');
}

function hostPart(a: string): string {
  return a.includes(':') ? `[${a}]` : a;
}

/** Voters: the largest odd count not above n, the primary first, then by peer number. */
export function chooseVoters(numbers: readonly number[], primary: number): number[] {
  const count = numbers.length % 2 === 1 ? numbers.length : numbers.length - 1;
  const ordered = [primary, ...numbers.filter((n) => n !== primary)].filter((n) => numbers.includes(n));
  return ordered.slice(0, Math.max(count, 0));
}

export function planCluster(input: PlanInput): PlanResult {
  if (input.peers.length > MAX_PEERS) return { problems: [`A cluster has at most ${MAX_PEERS} peers; ${input.peers.length} were given`] };
  const problems: string[] = [];
  const used = input.peers.map((raw, i) => ({ number: i + 1, address: raw.trim() })).filter((s) => s.address !== '');
  if (used.length === 0) return { problems };

  for (const s of used) {
    if (!validAddress(s.address)) problems.push(`Clustering Peer ${s.number} Address ${JSON.stringify(s.address)} is not an IP address or FQDN`);
  }
  const seen = new Map<string, number>();
  for (const s of used) {
    const first = seen.get(canonical(s.address));
    if (first !== undefined) problems.push(`Clustering Peer ${s.number} Address ${s.address} duplicates Peer ${first} Address`);
    else seen.set(canonical(s.address), s.number);
  }
  if (used.length === 1) problems.push('A cluster needs at least two peers: only Clustering Peer ' + used[0]!.number + ' Address is set');
  const self = used.find((s) => canonical(s.address) === canonical(input.self.trim()));
  if (!self) problems.push(`This peer's address ${input.self} is not among the Clustering Peer Addresses`);
  if (!Number.isInteger(input.primary) || input.primary < 1 || input.primary > MAX_PEERS) {
    problems.push(`Clustering ConfigurationPrimary ${input.primary} is out of range: expected <1..${MAX_PEERS}>`);
  } else if (!used.some((s) => s.number === input.primary)) {
    problems.push(`Clustering ConfigurationPrimary ${input.primary} is not a configured peer: Peer ${input.primary} Address is empty`);
  }
  for (const [name, port] of [['client', input.clientPort], ['peer', input.peerPort]] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`The etcd ${name} port ${port} is out of range: expected <1..65535>`);
  }
  if (input.clientPort === input.peerPort) problems.push(`The etcd client and peer ports must differ; both are ${input.clientPort}`);
  if (problems.length > 0 || !self) return { problems };

  const voters = chooseVoters(used.map((s) => s.number), input.primary);
  const peers: PlannedPeer[] = used.map((s) => ({
    number: s.number,
    name: `peer${s.number}`,
    address: s.address,
    role: voters.includes(s.number) ? 'Voter' : 'Client',
    peerUrl: `https://${hostPart(s.address)}:${input.peerPort}`,
    clientUrl: `https://${hostPart(s.address)}:${input.clientPort}`,
  }));
  const byNumber = new Map(peers.map((p) => [p.number, p]));
  const votingPeers = voters.map((n) => byNumber.get(n)!);
  const quorum = Math.floor(voters.length / 2) + 1;
  const token = 'xway-' + crypto.createHash('sha256').update(peers.map((p) => `${p.number}=${canonical(p.address)}`).join(',')).digest('hex').slice(0, 16);
  return {
    problems,
    plan: {
      self: self.number,
      primary: input.primary,
      peers,
      voters,
      quorum,
      tolerates: voters.length - quorum,
      initialCluster: votingPeers.map((p) => `${p.name}=${p.peerUrl}`).join(','),
      token,
      endpoints: votingPeers.map((p) => p.clientUrl),
    },
  };
}
