// Child process for the cluster kill test: one whole appliance as a cluster peer (the in-process
// test app, its own etcd member as its child), driven by JSON lines on stdin so the test can kill
// it with SIGKILL by pid as a dead box would die: no close(), no lease revoked. Run compiled
// (dist/test/support/cluster-peer.js): under a busy machine the TypeScript loader took ~30 s to
// start it. Requests: {id, op: 'run', input} → {id, out, code};
// {id, op: 'state'} → {id, state}. It says {ready, pid} once built.
import fs from 'node:fs';
import readline from 'node:readline';
import { testApp } from '../helpers/app.js';
import { isShared } from '../../src/services/cluster/shared.js';

export interface ChildPeerConfig {
  readonly dataDir: string;
  readonly self: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly bin: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

export interface ChildPeerState {
  readonly clustering: { Status: string; ThisPeer?: number; Peer?: { Address: string; Status?: string; LastSeen?: string }[] };
  readonly alarms: string[];
  readonly memberPid?: number;
  /** The cluster-wide configuration as this peer has it: `key=value`, sorted. */
  readonly shared: string[];
  /** Trusted CAs' fingerprints, sorted. */
  readonly trust: string[];
}

const cfg = JSON.parse(fs.readFileSync(process.argv[2]!, 'utf8')) as ChildPeerConfig;
const app = testApp({ teardown: () => undefined }, {
  dataDir: cfg.dataDir,
  storage: 'memory',
  cluster: { self: cfg.self, clientPort: cfg.clientPort, peerPort: cfg.peerPort, bin: cfg.bin },
  clusterTls: () => ({ certPem: cfg.certPem, keyPem: cfg.keyPem, caPems: [cfg.caPem] }),
});

function state(): ChildPeerState {
  return {
    clustering: app.services.status.snapshot().Clustering as ChildPeerState['clustering'],
    alarms: app.services.alarms.list().map((a) => a.id).sort(),
    memberPid: app.cluster.memberPid,
    shared: app.services.config.entries().filter((e) => isShared(e.key)).map((e) => `${e.key}=${String(e.value)}`).sort(),
    trust: app.services.trust.list().map((c) => c.fingerprint).sort(),
  };
}

const send = (m: object) => process.stdout.write(JSON.stringify(m) + '\n');
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line) as { id: number; op: 'run' | 'state'; input?: string };
  if (req.op === 'state') return send({ id: req.id, state: state() });
  void app.run(req.input!).then((r) => send({ id: req.id, ...r }));
});
// The test process gone (its stdin closed): take the member along, by pid, rather than leave it running.
process.stdin.on('close', () => {
  const pid = app.cluster.memberPid;
  if (pid) process.kill(pid, 'SIGKILL');
  process.exit(1);
});
send({ ready: true, pid: process.pid });
