// The cluster plan is pure: every problem is one sentence and stops the plan; a good set of peer
// addresses gives the same members, voters and etcd flags on every peer.
import t from 'tap';
import { planCluster, chooseVoters, type PlanInput } from '../../src/cluster/plan.js';

const base: PlanInput = {
  peers: ['127.0.0.2', '127.0.0.3', '127.0.0.4', '', '', ''],
  self: '127.0.0.3',
  primary: 1,
  clientPort: 2379,
  peerPort: 2380,
};

t.test('standalone: no peer configured, no plan and no problem', async (t) => {
  t.same(planCluster({ ...base, peers: ['', '', '', '', '', ''] }), { problems: [] });
});

t.test('three peers: all vote, this peer found by its address', async (t) => {
  const { plan, problems } = planCluster(base);
  t.same(problems, []);
  t.equal(plan!.self, 2);
  t.same(plan!.voters, [1, 2, 3]);
  t.equal(plan!.quorum, 2);
  t.equal(plan!.tolerates, 1);
  t.equal(plan!.initialCluster, 'peer1=https://127.0.0.2:2380,peer2=https://127.0.0.3:2380,peer3=https://127.0.0.4:2380');
  t.same(plan!.endpoints, ['https://127.0.0.2:2379', 'https://127.0.0.3:2379', 'https://127.0.0.4:2379']);
  t.same(plan!.peers.map((p) => [p.number, p.name, p.role]), [[1, 'peer1', 'Voter'], [2, 'peer2', 'Voter'], [3, 'peer3', 'Voter']]);
  t.match(plan!.token, /^xway-[0-9a-f]{16}$/);
});

t.test('every peer computes the same plan apart from its own number', async (t) => {
  const plans = ['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((self) => planCluster({ ...base, self }).plan!);
  t.same(plans.map((p) => p.self), [1, 2, 3]);
  for (const p of plans) {
    t.equal(p.initialCluster, plans[0]!.initialCluster);
    t.equal(p.token, plans[0]!.token);
  }
  t.not(planCluster({ ...base, peers: ['127.0.0.2', '127.0.0.3', '127.0.0.5'], self: '127.0.0.2' }).plan!.token, plans[0]!.token, 'another peer list, another token');
});

t.test('voters: the largest odd count, the primary first, the rest plain clients', async (t) => {
  t.same(chooseVoters([1, 2], 2), [2]);
  t.same(chooseVoters([1, 2, 3], 3), [3, 1, 2]);
  t.same(chooseVoters([1, 2, 3, 4], 1), [1, 2, 3]);
  t.same(chooseVoters([1, 2, 3, 4], 4), [4, 1, 2]);
  t.same(chooseVoters([1, 2, 3, 4, 5], 2), [2, 1, 3, 4, 5]);
  t.same(chooseVoters([1, 2, 3, 4, 5, 6], 6), [6, 1, 2, 3, 4]);
  const four = planCluster({ ...base, peers: ['a.example.com', 'b.example.com', '', 'd.example.com', 'e.example.com'], self: 'E.example.com.', primary: 5 }).plan!;
  t.equal(four.self, 5, 'names match without case and root dot');
  t.same(four.voters, [5, 1, 2]);
  t.same(four.peers.map((p) => [p.number, p.role]), [[1, 'Voter'], [2, 'Voter'], [4, 'Client'], [5, 'Voter']]);
  t.equal(four.initialCluster, 'peer5=https://e.example.com:2380,peer1=https://a.example.com:2380,peer2=https://b.example.com:2380');
  t.equal(four.tolerates, 1);
  const six = planCluster({ ...base, peers: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'], self: 'h6', primary: 1 }).plan!;
  t.same([six.voters, six.quorum, six.tolerates], [[1, 2, 3, 4, 5], 3, 2]);
  t.equal(six.peers.find((p) => p.number === 6)!.role, 'Client');
  const two = planCluster({ ...base, peers: ['h1', 'h2'], self: 'h1', primary: 2 }).plan!;
  t.same([two.voters, two.quorum, two.tolerates], [[2], 1, 0]);
});

t.test('IPv6 addresses are bracketed in URLs', async (t) => {
  const p = planCluster({ ...base, peers: ['fd00::1', 'fd00::2', 'fd00::3'], self: 'fd00::2' }).plan!;
  t.equal(p.endpoints[0], 'https://[fd00::1]:2379');
});

t.test('problems: one sentence each, and no plan', async (t) => {
  const cases: [Partial<PlanInput>, string[]][] = [
    [{ self: '127.0.0.9' }, ["This peer's address 127.0.0.9 is not among the Clustering Peer Addresses"]],
    [{ peers: ['127.0.0.2', '127.0.0.3', '127.0.0.2'] }, ['Clustering Peer 3 Address 127.0.0.2 duplicates Peer 1 Address']],
    [{ peers: ['A.example.com', 'a.example.com.'], self: 'a.example.com' }, ['Clustering Peer 2 Address a.example.com. duplicates Peer 1 Address']],
    [{ primary: 5 }, ['Clustering ConfigurationPrimary 5 is not a configured peer: Peer 5 Address is empty']],
    [{ primary: 0 }, ['Clustering ConfigurationPrimary 0 is out of range: expected <1..6>']],
    [{ peers: ['127.0.0.3'] }, ['A cluster needs at least two peers: only Clustering Peer 1 Address is set']],
    [{ peers: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', '127.0.0.3'] }, ['A cluster has at most 6 peers; 7 were given']],
    [{ peers: ['127.0.0.2', 'bad host', '127.0.0.3'] }, ['Clustering Peer 2 Address "bad host" is not an IP address or FQDN']],
    [{ peerPort: 2379 }, ['The etcd client and peer ports must differ; both are 2379']],
    [{ clientPort: 0 }, ['The etcd client port 0 is out of range: expected <1..65535>']],
  ];
  for (const [change, want] of cases) {
    const r = planCluster({ ...base, ...change });
    t.same(r.problems, want, JSON.stringify(change));
    t.equal(r.plan, undefined);
  }
});
