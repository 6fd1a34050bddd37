// The etcd settings of src/main.ts: flags mirror the environment, flags win, defaults as documented,
// and the Clustering Peer Address value space takes IP addresses as well as FQDNs.
import t from 'tap';
import { settingsFrom } from '../../src/main.js';
import { hostAddress } from '../../schema/types.js';

t.test('etcd ports and binary: flags mirror the environment and win over it', async (t) => {
  const d = settingsFrom([], {});
  t.same([d.etcdClientPort, d.etcdPeerPort, d.etcdBin], [2379, 2380, 'etcd'], 'defaults');
  const e = settingsFrom([], { XWAY_ETCD_CLIENT_PORT: '12379', XWAY_ETCD_PEER_PORT: '12380', XWAY_ETCD_BIN: '/opt/etcd/etcd' });
  t.same([e.etcdClientPort, e.etcdPeerPort, e.etcdBin], [12379, 12380, '/opt/etcd/etcd'], 'environment');
  const f = settingsFrom(['--etcd-client-port', '22379', '--etcd-peer-port=22380'], { XWAY_ETCD_CLIENT_PORT: '12379', XWAY_ETCD_PEER_PORT: '12380' });
  t.same([f.etcdClientPort, f.etcdPeerPort], [22379, 22380], 'flags win');
  t.throws(() => settingsFrom(['--etcd-peer-port', '70000'], {}), /^Invalid etcd peer port 70000: expected <0..65535>$/);
  t.throws(() => settingsFrom([], { XWAY_ETCD_CLIENT_PORT: 'x' }), /^Invalid etcd client port x: expected <0..65535>$/);
});

t.test('peer addresses: IPv4, IPv6 or FQDN, empty for an unused slot', async (t) => {
  const space = hostAddress();
  for (const ok of ['', '127.0.0.2', '10.1.2.3', '::1', 'fd00::2', '2001:db8:0:0:0:0:0:1', 'peer1.example.com', 'peer1.example.com.']) {
    t.ok(space.parse(ok).ok, `${JSON.stringify(ok)} is accepted`);
  }
  for (const bad of ['bad host', '1:2:3:4:5:6:7:8:9', '::1::2', 'a..b', '-x.example.com']) {
    const r = space.parse(bad);
    t.same(r, { ok: false, reason: `${bad} is not an IP address or FQDN` }, `${bad} is refused`);
  }
});
