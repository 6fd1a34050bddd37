// Cluster figures, three appliances in this process on 127.0.0.2/.3/.4, each with its own real etcd
// member (Enforce TLS, certificates from a bench CA), formed through their shells as an admin does:
// - replication latency of 1000 configuration changes, made in turn on each peer through an exec
//   session, until both other peers have applied it through their owners (their configuration
//   service reports it): p50 and p99. Target (issue 9): visible on all peers under 100 ms;
//   Expressway replicates in about a minute.
// - 50 trusted CAs added in turn on each peer until both others trust it, p50 and p99.
// - each etcd member's resident memory (VmRSS from /proc/<pid>/status) after the changes.
// The three must end with the same configuration and trust store, or the benchmark fails.
// Every member is killed by pid at the end, whatever happens; every wait is bounded.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildApp, type App } from '../src/app.js';
import { buildCertificate, generateKey, privateKeyPem } from '../src/services/certs/build.js';
import type { Figure } from './report.js';
import { xapi } from './exec.js';
import { freePortOn } from './ports.js';

const ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
const CHANGES = 1000;
const CAS = 50;
const TARGET_MS = 100;
const EXPRESSWAY_MS = 60_000;
const DAY = 86_400_000;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** Resolves when `check` holds, checked every `every` ms; rejects after `ms`. */
async function until(what: string, check: () => boolean, ms: number, every = 20): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, every));
  }
}

async function certificate(cn: string, issuer?: { cert: crypto.X509Certificate; key: crypto.KeyObject }, sans?: string[]): Promise<{ pem: string; key: crypto.KeyObject }> {
  const key = await generateKey('ECDSA-P256');
  const notBefore = new Date(Date.now() - DAY);
  const pem = buildCertificate({ commonName: cn, altNames: sans, isCA: !issuer, notBefore, notAfter: new Date(notBefore.getTime() + 30 * DAY), subjectKey: key, issuer });
  return { pem, key };
}

function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

/** Waits until every app in `apps` has applied `Ssh IdleTimeout: value` (its configuration service says so). */
function appliedOn(apps: readonly App[], value: number, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = [];
    const timer = setTimeout(() => done(new Error(`Ssh IdleTimeout ${value} not applied on every peer within ${ms / 1000} s`)), ms);
    const done = (e?: Error) => {
      clearTimeout(timer);
      for (const off of offs) off();
      if (e) reject(e);
      else resolve();
    };
    const check = () => { if (apps.every((a) => a.services.config.value('Ssh IdleTimeout') === value)) done(); };
    for (const a of apps) offs.push(a.services.config.onChange(check));
    check();
  });
}

export default async function clusterBench(): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xway-bench-cluster-'));
  const root = await certificate('xway bench cluster CA');
  const issuer = { cert: new crypto.X509Certificate(root.pem), key: root.key };
  // Loopback connections come from 127.0.0.1, which etcd checks against the client certificate.
  const leaves = await Promise.all(ADDRESSES.map((a) => certificate(a, issuer, [a, '127.0.0.1'])));
  const clientPort = await freePortOn(ADDRESSES);
  const peerPort = await freePortOn(ADDRESSES, [clientPort]);
  const apps = ADDRESSES.map((self, i) => buildApp({
    dataDir: path.join(dir, `peer${i + 1}`), adminPassword: 'bench password', logSink: { write: () => {} }, announce: () => {},
    cluster: { self, clientPort, peerPort, bin: process.env.XWAY_ETCD_BIN || 'etcd' },
    clusterTls: () => ({ certPem: leaves[i]!.pem, keyPem: privateKeyPem(leaves[i]!.key), caPems: [root.pem] }),
  }));
  try {
    const form = [...ADDRESSES.map((a, i) => `xConfiguration Clustering Peer ${i + 1} Address: ${a}`), 'xConfiguration Clustering TlsVerify Mode: Enforce', 'xCommand Clustering Join'];
    const formed = performance.now();
    await Promise.all(apps.map(async (app) => { for (const l of form) await xapi(app, l); }));
    await until('three peers Active', () => apps.every((a) => {
      const s = a.services.status.snapshot().Clustering as { Status: string; Peer?: { Status?: string }[] };
      return s.Status === 'Active' && s.Peer?.every((p) => p.Status === 'Active') === true;
    }), 180_000);
    const formMs = performance.now() - formed;

    // Configuration: change i on peer i mod 3, timed until the two others applied it.
    const latencies: number[] = [];
    const bound = Date.now() + 600_000;
    for (let i = 0; i < CHANGES && Date.now() < bound; i++) {
      const origin = apps[i % 3]!;
      const value = 1000 + i;
      const others = apps.filter((a) => a !== origin);
      const start = performance.now();
      const seen = appliedOn(others, value, 10_000);
      await xapi(origin, `xConfiguration Ssh IdleTimeout: ${value}`);
      await seen;
      latencies.push(performance.now() - start);
    }
    if (latencies.length < CHANGES) throw new Error(`only ${latencies.length} of ${CHANGES} changes within the time bound`);

    // Trust store: a CA added on peer i mod 3, timed until the others trust it.
    const cas = await Promise.all(Array.from({ length: CAS }, (_, i) => certificate(`Bench Cluster Root ${i}`)));
    const trustMs: number[] = [];
    for (const [i, ca] of cas.entries()) {
      const origin = apps[i % 3]!;
      const fp = new crypto.X509Certificate(ca.pem).fingerprint256;
      const start = performance.now();
      await xapi(origin, 'xCommand Security Certificates CA Add', ca.pem + '.\n');
      await until(`CA ${i} trusted everywhere`, () => apps.every((a) => a.services.trust.get(fp) !== undefined), 10_000, 1);
      trustMs.push(performance.now() - start);
    }

    // Whatever the timings, the three must agree at the end.
    const lists = apps.map((a) => a.services.trust.list().map((c) => c.fingerprint).sort().join());
    if (new Set(lists).size !== 1) throw new Error('the peers ended with different trust stores');
    if (new Set(apps.map((a) => a.services.config.value('Ssh IdleTimeout'))).size !== 1) throw new Error('the peers ended with different configurations');

    const rss = apps.map((a) => rssKb(a.cluster.memberPid!) / 1024);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    return [
      { name: 'three peers formed from the shell to all Active', value: formMs, unit: 'ms' },
      { name: `configuration change visible on the 2 other peers, p50 (${CHANGES})`, value: p50, unit: 'ms', target: `< ${TARGET_MS} ms (Expressway: about ${EXPRESSWAY_MS / 1000} s)`, met: p50 < TARGET_MS },
      { name: `configuration change visible on the 2 other peers, p99 (${CHANGES})`, value: p99, unit: 'ms', target: `< ${TARGET_MS} ms (Expressway: about ${EXPRESSWAY_MS / 1000} s)`, met: p99 < TARGET_MS },
      { name: `configuration change visible on the 2 other peers, max`, value: Math.max(...latencies), unit: 'ms' },
      { name: `trusted CA added, trusted on all peers, p50 (${CAS})`, value: percentile(trustMs, 50), unit: 'ms', target: `< ${TARGET_MS} ms`, met: percentile(trustMs, 50) < TARGET_MS },
      { name: `trusted CA added, trusted on all peers, p99 (${CAS})`, value: percentile(trustMs, 99), unit: 'ms', target: `< ${TARGET_MS} ms`, met: percentile(trustMs, 99) < TARGET_MS },
      ...rss.map((mb, i) => ({ name: `etcd member of peer ${i + 1}, VmRSS after the changes`, value: mb, unit: 'MB' })),
      // Every peer, every member and this loop share the machine: its load says how far to trust the above.
      { name: 'load average over the last minute (cores: ' + os.cpus().length + ')', value: os.loadavg()[0]!, unit: '' },
    ];
  } finally {
    // By pid, before closing: a graceful stop of the last members waits for a quorum that is gone.
    for (const a of apps) {
      const pid = a.cluster.memberPid;
      if (pid) process.kill(pid, 'SIGKILL');
    }
    await Promise.all(apps.map((a) => a.close()));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
