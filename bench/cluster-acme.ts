// An ACME order in a cluster, validated through another peer versus through the ordering peer
// (issue 9): two appliances in process on 127.0.0.2 and .3, each with its own etcd member (TLS
// from a CA made here with openssl), one real Pebble whose mock DNS resolves each ordered name to
// the peer that must answer. Every order is `xCommand Security Acme Sign Wait: True` on peer 1
// with a fresh CSR; the two kinds alternate, ROUNDS each, and the medians are compared.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../src/app.js';
import { startPebble } from './acme-pebble.js';
import { freePortOn } from './ports.js';
import type { Figure } from './report.js';
import { median, xapi } from './exec.js';

const ROUNDS = 5;
const HOSTS = ['127.0.0.2', '127.0.0.3'];

/** A CA and one certificate per peer address (etcd checks a client's SAN against 127.0.0.1 on loopback). */
function pki(dir: string): { caPem: string; peers: { certPem: string; keyPem: string }[] } {
  const o = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  o(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=xway bench cluster CA',
    '-keyout', 'ca.key', '-out', 'ca.pem', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const peers = HOSTS.map((h, i) => {
    o(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${h}`, '-keyout', `p${i}.key`, '-out', `p${i}.csr`]);
    fs.writeFileSync(path.join(dir, `p${i}.cnf`), `subjectAltName=IP:${h},IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=critical,CA:FALSE\n`);
    o(['x509', '-req', '-in', `p${i}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `p${i}.cnf`, '-out', `p${i}.pem`]);
    return { certPem: fs.readFileSync(path.join(dir, `p${i}.pem`), 'utf8'), keyPem: fs.readFileSync(path.join(dir, `p${i}.key`), 'utf8') };
  });
  return { caPem: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'), peers };
}

async function until(what: string, ok: () => boolean, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export default async function clusterAcmeBench(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-bench-cluster-acme-'));
  const stops: (() => Promise<void>)[] = [];
  const apps: App[] = [];
  try {
    const { caPem, peers } = pki(dir);
    const clientPort = await freePortOn(HOSTS);
    const peerPort = await freePortOn(HOSTS, [clientPort]);
    const httpPort = await freePortOn(HOSTS, [clientPort, peerPort]);
    const pebble = await startPebble({ httpPort }, (fn) => void stops.push(fn));
    for (const [i, host] of HOSTS.entries()) {
      const app = buildApp({
        dataDir: path.join(dir, `peer${i + 1}`), adminPassword: 'bench password', logSink: { write: () => {} }, announce: () => {},
        cluster: { self: host, clientPort, peerPort, bin: process.env.XWAY_ETCD_BIN ?? 'etcd' },
        clusterTls: () => ({ ...peers[i]!, caPems: [caPem] }),
      });
      apps.push(app);
      await app.web.web.listenHttp(httpPort, host);
    }
    const form = HOSTS.map((h, i) => `xConfiguration Clustering Peer ${i + 1} Address: ${h}`).join('\n')
      + '\nxConfiguration Clustering ConfigurationPrimary: 1\nxConfiguration Clustering TlsVerify Mode: Enforce\nxCommand Clustering Join\n';
    await Promise.all(apps.map((a) => xapi(a, form)));
    for (const a of apps) await until('peer Active', () => a.cluster.status === 'Active');
    const [p1, p2] = apps as [App, App];
    await xapi(p1, 'xCommand Security Certificates CA Add', pebble.httpsCaPem + '.\n');
    await xapi(p1, [
      `xConfiguration Security Acme DirectoryUrl: "${pebble.directoryUrl}"`,
      'xConfiguration Security Acme Provider: Custom',
      'xConfiguration Security Acme AdminEmail: "admin@example.com"',
      'xCommand Security Acme AcceptTerms Agree: True',
    ].join('\n') + '\n');
    await until('peer 2 has the shared configuration', () => p2.services.config.value('Security Acme DirectoryUrl') === pebble.directoryUrl, 30_000);

    const times: Record<'self' | 'other', number[]> = { self: [], other: [] };
    for (let i = 0; i < ROUNDS * 2; i++) {
      const kind = i % 2 === 0 ? 'other' : 'self';
      const name = `${kind}${i}.bench.test`;
      await pebble.setA(name, [kind === 'self' ? HOSTS[0]! : HOSTS[1]!]);
      await xapi(p1, `xCommand Security Certificates CSR Create CommonName: ${name} KeyType: ECDSA-P256\n`);
      const started = performance.now();
      const out = await xapi(p1, 'xCommand Security Acme Sign Wait: True\n');
      const ms = performance.now() - started;
      if (!/Status: "?Succeeded"?/.test(out)) throw new Error(`order for ${name} failed:\n${out}`);
      times[kind].push(ms);
      await xapi(p1, 'xCommand Security Certificates CSR Discard\n');
    }
    const self = median(times.self);
    const other = median(times.other);
    return [
      { name: `cluster order validated through the ordering peer (median of ${ROUNDS})`, value: Math.round(self), unit: 'ms' },
      {
        name: `cluster order validated through another peer (median of ${ROUNDS})`, value: Math.round(other), unit: 'ms',
        ratio: other / self, peer: 'through the ordering peer', target: '<= 2x through the ordering peer', met: other <= 2 * self,
      },
    ];
  } finally {
    for (const a of apps) {
      const pid = a.cluster.memberPid;
      await a.close().catch(() => undefined);
      if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
    }
    for (const s of stops) await s();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
