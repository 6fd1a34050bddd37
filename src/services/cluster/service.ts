// The cluster as the appliance runs it: `xCommand Clustering Join` / `Leave` and `xStatus Clustering`.
// It owns this peer's etcd member (src/cluster/member.ts), its client, its heartbeat and its view of
// the other peers' heartbeats. A standalone appliance never builds any of them: no etcd runs until
// Join, and none after Leave.
//
// Forming: every peer runs Join with the same `Clustering Peer n Address` list. A voter starts its
// member with the plan's --initial-cluster (state 'new'); etcd becomes ready once a quorum of the
// voters has started, so Join answers at once with Status Joining and the rest happens in the
// background: member ready → client → first heartbeat → Active/Degraded. A peer planned as a plain
// client starts no member and waits for the voters' quorum.
// That the peer joined is kept in the state store: after a restart it takes its place again (its
// member's data directory wins over the --initial-* flags).
//
// Health: every healthEveryMs the client asks each voter for its status: Active (every voter
// answers, with a leader), Degraded (a quorum does), NoQuorum. Alarms: `cluster-no-quorum` while
// NoQuorum, `cluster-peer-<n>` while peer n's heartbeat is absent (it stopped, died, or cannot
// reach a quorum), and for every other peer while this one has no quorum (no heartbeat is written
// or expires then: the last ones seen prove nothing).
//
// Re-joining: a voter whose Join finds a cluster already running among the other voters (it left
// it, or was added to the Peer n Address list later) joins it as a new member instead (etcd
// `member add` through the others, then --initial-cluster-state existing, its old data wiped:
// src/cluster/membership.ts), and takes the cluster's shared configuration and trust store.
// Only when no other voter has a quorum do the voters bootstrap a cluster together.
//
// ACME: an order takes the per-name locks of src/cluster/locks.ts (lockNames), so two peers never
// order the same name at once; a peer's automated renewals are drawn inside its own slot of the
// day (renewalSlot, the rank of its peer number), so peers renew at different times.
//
// Leave removes the member through the cluster (so the others stop counting it for quorum), stops
// it and deletes its data; the configuration stays as it is.
//
// TLS: the member and the client use this peer's own server certificate and key, and the trust
// store as the CA bundle (TlsVerify Mode Enforce); Permissive adds the certificates the voters
// present, unverified (see src/cluster/member.ts and client.ts), and a voter's client listener
// serves a certificate naming its peer address (member-cert.ts).
import path from 'node:path';
import { planCluster, type ClusterPlan, type PlanResult } from '../../cluster/plan.js';
import { EtcdMember } from '../../cluster/member.js';
import { ClusterClient, ClusterUnavailable, presentedByEndpoint, presentedCertificates } from '../../cluster/client.js';
import { Heartbeat, PeerWatch } from '../../cluster/heartbeat.js';
import { joinCluster } from '../../cluster/membership.js';
import { NameLocks } from '../../cluster/locks.js';
import { CommandError, NameLocked } from '../../errors.js';
import { atomicWrite, ensureDir } from '../../platform/files.js';
import type { Logger } from '../../platform/log.js';
import type { ClusterStatus } from '../../../schema/sets.js';
import type { Actor, AlarmService, ConfigService, StateStore, StatusService, StatusTree } from '../interfaces.js';
import { SharedConfiguration, CONFIG_ALARM, type SharedConfigService } from './shared.js';
import { SharedTrust, TRUST_ALARM, type SharedTrustStore } from './shared-trust.js';
import { permissiveMemberCert, permissivePins } from './member-cert.js';
import { SharedAnswers } from '../../cluster/answers.js';

/** Where this peer is and which ports and binary its etcd uses (src/main.ts settings). */
export interface ClusterSettings {
  /** This peer's own address (XWAY_BIND): how it finds itself among the Peer n Addresses. */
  readonly self: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly bin: string;
}

/** The TLS material of this peer: its server certificate (chain after the leaf), key, and trusted CAs. */
export interface ClusterTlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPems: readonly string[];
}

export interface ClusterServiceDeps {
  readonly settings: ClusterSettings;
  readonly config: SharedConfigService & Pick<ConfigService, 'value'>;
  readonly trust: SharedTrustStore;
  readonly state: StateStore;
  readonly status: StatusService;
  readonly alarms: AlarmService;
  readonly logger: Logger;
  /** The etcd data directory and where the TLS files go. */
  readonly etcdDir: string;
  readonly tlsDir: string;
  readonly tls: () => ClusterTlsMaterial;
  readonly healthEveryMs?: number;
  /** Hands the cluster's ACME challenge answers to the ACME service (undefined: standalone again). */
  readonly shareChallenges?: (board: SharedAnswers | undefined) => void;
}

const JOINED = 'cluster.joined';
export const NO_QUORUM_ALARM = 'cluster-no-quorum';
export const JOIN_ALARM = 'cluster-join';
export const peerAlarm = (n: number) => `cluster-peer-${n}`;

/** The plan from the configuration and this peer's settings. Pure. */
export function planFrom(config: Pick<ConfigService, 'value'>, s: Pick<ClusterSettings, 'self' | 'clientPort' | 'peerPort'>): PlanResult {
  const peers = [1, 2, 3, 4, 5, 6].map((n) => config.value(`Clustering Peer ${n} Address`));
  return planCluster({ peers, self: s.self, primary: config.value('Clustering ConfigurationPrimary'), clientPort: s.clientPort, peerPort: s.peerPort });
}

interface Running {
  readonly plan: ClusterPlan;
  member?: EtcdMember;
  client?: ClusterClient;
  heartbeat?: Heartbeat;
  peers?: PeerWatch;
  shared?: SharedConfiguration;
  sharedTrust?: SharedTrust;
  locks?: NameLocks;
  answers?: SharedAnswers;
  timer?: NodeJS.Timeout;
  /** Permissive: when voters not answering were last asked for their certificates (repin). */
  repinnedAt?: number;
  /** Since when a quorum of voters answers without a leader (an election), if it does. */
  electingSince?: number;
  stopped: boolean;
}

/**
 * How long a quorum of voters may answer without a leader before this peer calls it NoQuorum. An
 * election (the leader's member died) takes one to two election timeouts (1 s each); meanwhile
 * commits are admitted and their writes retried until the new leader takes them, rather than
 * refused for the second it lasts.
 */
const ELECTION_GRACE_MS = 3000;

export class ClusterService {
  private current: ClusterStatus = 'Standalone';
  private run: Running | undefined;

  constructor(private readonly deps: ClusterServiceDeps) {
    deps.status.provide('Clustering', () => this.statusTree());
  }

  /** After a restart, a peer that had joined takes its place again. */
  resume(): void {
    if (this.deps.state.read<boolean>(JOINED) !== true) return;
    const { plan, problems } = planFrom(this.deps.config, this.deps.settings);
    if (!plan) {
      this.deps.alarms.raise(JOIN_ALARM, `This peer joined a cluster but cannot take its place again: ${problems.join('; ')}`, 'Error');
      return;
    }
    this.begin(plan, false);
  }

  get status(): ClusterStatus { return this.current; }
  /** The etcd member's pid while it runs (tests kill it by pid). */
  get memberPid(): number | undefined { return this.run?.member?.pid; }

  /** Starts joining; resolves once the member is started in the background (Status Joining). */
  join(actor: Actor): void {
    if (this.run) throw new CommandError(`This peer is already in a cluster (Status ${this.current})`).needs('LeaveCluster');
    const { plan, problems } = planFrom(this.deps.config, this.deps.settings);
    if (!plan) throw new CommandError(problems.length ? problems.join('; ') : 'No Clustering Peer Address is set: configure the peers first');
    this.deps.state.write(JOINED, true);
    this.deps.logger.log({ event: 'cluster.join', who: actor.user, peer: plan.self, peers: plan.peers.length });
    this.begin(plan, true);
  }

  /** `joining`: a Join command (not a restart), which may find a cluster running already. */
  private begin(plan: ClusterPlan, joining: boolean): void {
    const run: Running = { plan, stopped: false };
    this.run = run;
    this.setStatus('Joining');
    void this.form(run, joining).catch((e: Error) => {
      if (run.stopped) return;
      this.deps.logger.log({ event: 'cluster.join-failed', level: 'error', error: e.message });
      this.deps.alarms.raise(JOIN_ALARM, `Joining the cluster failed: ${e.message.split('\n')[0]}`, 'Error');
      void this.teardown(run, false).then(() => {
        if (this.run === run) this.run = undefined;
        this.setStatus('Standalone');
      });
    });
  }

  private async form(run: Running, joining: boolean): Promise<void> {
    const { plan } = run;
    const mode = this.deps.config.value('Clustering TlsVerify Mode');
    const material = this.deps.tls();
    const files = this.writeTls(material);
    const self = plan.peers.find((p) => p.number === plan.self)!;
    if (self.role === 'Voter') {
      const served = mode === 'Permissive' ? await permissiveMemberCert(this.deps.tlsDir, self.address) : {};
      run.member = new EtcdMember({
        bin: this.deps.settings.bin, name: self.name, dataDir: this.deps.etcdDir, address: self.address,
        clientPort: this.deps.settings.clientPort, peerPort: this.deps.settings.peerPort,
        initialCluster: plan.initialCluster, token: plan.token, state: 'new',
        tls: { ...files, ...served, verify: mode },
      }, { logger: this.deps.logger, readyTimeoutMs: 120_000 });
      // A restart with data takes its place from the data; otherwise a running cluster is joined.
      const running = joining || !run.member.hasData() ? await this.runningCluster(plan, material, mode) : undefined;
      if (running) {
        this.deps.logger.log({ event: 'cluster.join-running', peer: plan.self });
        try {
          await joinCluster(running, run.member);
        } finally {
          await running.close();
        }
      } else {
        await run.member.start();
      }
    }
    if (run.stopped) return;
    // Permissive pins what the voters present: wait until a quorum of them answers (a plain client
    // may get here before any voter listens). A voter that does not answer now keeps the pin it had
    // (member-cert.ts permissivePins); one never seen is pinned at the next start.
    const pinned = mode === 'Permissive'
      ? await retrying(run, async () => {
          const presented = await presentedByEndpoint(plan.endpoints);
          if (presented.filter((p) => p !== '').length < plan.quorum) throw new Error('too few voters answer yet');
          return permissivePins(this.deps.tlsDir, plan.endpoints, presented);
        })
      : '';
    run.client = new ClusterClient({
      endpoints: plan.endpoints,
      tls: { caPem: material.caPems.join('\n') + '\n' + pinned, certPem: material.certPem, keyPem: material.keyPem },
      logger: this.deps.logger,
    });
    const address = plan.peers.find((p) => p.number === plan.self)!.address;
    run.locks = new NameLocks(run.client, { peer: plan.self, address });
    // The first beat needs a quorum: a plain client (or a voter right after a restart) waits for it.
    run.heartbeat = await retrying(run, () => Heartbeat.start(run.client!, plan.self, { logger: this.deps.logger }));
    run.peers = await retrying(run, () => PeerWatch.open(run.client!, this.deps.logger));
    if (run.stopped) return;
    run.peers.on('change', () => {
      this.refreshPeerAlarms(run);
      this.deps.status.changed(['Clustering']);
    });
    // The primary's configuration, then every later commit, shared (see shared.ts).
    run.shared = new SharedConfiguration({
      client: run.client, config: this.deps.config, self: plan.self, primary: plan.primary === plan.self,
      writable: () => this.current === 'Active' || this.current === 'Degraded', alarms: this.deps.alarms, logger: this.deps.logger,
    });
    await retrying(run, () => run.shared!.start());
    run.sharedTrust = new SharedTrust({
      client: run.client, trust: this.deps.trust, self: plan.self, primary: plan.primary === plan.self,
      writable: () => this.current === 'Active' || this.current === 'Degraded', alarms: this.deps.alarms, logger: this.deps.logger,
    });
    await retrying(run, () => run.sharedTrust!.start());
    if (run.stopped) return;
    await this.shareAnswers(run);
    if (run.stopped) return;
    this.deps.alarms.lower(JOIN_ALARM);
    await this.checkHealth(run);
    const every = this.deps.healthEveryMs ?? 1000;
    const tick = () => {
      // A failed check (a full disk under an alarm, say) is logged; the next one comes all the same.
      run.timer = setTimeout(() => void this.checkHealth(run)
        .catch((e: Error) => this.deps.logger.log({ event: 'cluster.health-error', level: 'error', error: e.message }))
        .finally(() => { if (!run.stopped) tick(); }), every);
    };
    tick();
  }

  /**
   * A client of the cluster the other voters run, when they run one with a quorum that this peer
   * must join as a new member; undefined when none runs yet, or when the running one was founded
   * with this peer and waits for it (its entry named and never started: it starts as a founder).
   */
  private async runningCluster(plan: ClusterPlan, material: ClusterTlsMaterial, mode: string): Promise<ClusterClient | undefined> {
    const self = plan.peers.find((p) => p.number === plan.self)!;
    const others = plan.peers.filter((p) => p.role === 'Voter' && p.number !== plan.self).map((p) => p.clientUrl);
    if (others.length === 0) return undefined;
    const pinned = mode === 'Permissive' ? await presentedCertificates(others, 1000) : '';
    const client = new ClusterClient({
      endpoints: others,
      tls: { caPem: material.caPems.join('\n') + '\n' + pinned, certPem: material.certPem, keyPem: material.keyPem },
      logger: this.deps.logger,
    });
    try {
      if ((await client.health()).state !== 'NoQuorum') {
        const founder = (await client.members()).some((m) => m.name === self.name && m.peerUrls.includes(self.peerUrl) && m.clientUrls.length === 0);
        if (!founder) return client;
      }
    } catch {
      // The members could not be listed after all: no cluster to join.
    }
    await client.close();
    return undefined;
  }

  /**
   * Takes the cluster-wide order locks of `names` for an ACME order, released when it ends.
   * Standalone there is nothing to take. Refused with NameLocked while a peer orders one of the
   * names, with ClusterUnavailable while this peer joins or has no quorum: nothing is held then.
   */
  async lockNames(names: readonly string[]): Promise<{ release(): Promise<void>; onLost(fn: () => void): void }> {
    const run = this.run;
    if (!run) return { release: () => Promise.resolve(), onLost: () => undefined };
    if (!run.locks) throw new ClusterUnavailable('This peer is still joining the cluster: it orders certificates once it has joined');
    const r = await run.locks.acquire(names);
    if ('busy' in r) throw new NameLocked(r.busy, r.holder, r.holder?.peer === run.plan.self);
    const { held } = r;
    held.onLost((e) => this.deps.logger.log({ event: 'cluster.order-lock-lost', level: 'warn', names: held.names, reason: e.message }));
    return held;
  }

  /** This peer's share of the day for automated renewals: the rank of its number among the peers. */
  renewalSlot(): { index: number; count: number } | undefined {
    const plan = this.run?.plan;
    if (!plan) return undefined;
    return { index: plan.peers.findIndex((p) => p.number === plan.self), count: plan.peers.length };
  }

  /** Every peer serves every order's challenge answers (src/cluster/answers.ts). */
  private async shareAnswers(run: Running): Promise<void> {
    const self = run.plan.self;
    run.answers = await retrying(run, () => SharedAnswers.open({
      client: run.client!, self, logger: this.deps.logger,
      alive: () => (run.peers?.all() ?? []).filter((p) => p.alive && p.peer !== self).map((p) => p.peer),
    }));
    if (!run.stopped) this.deps.shareChallenges?.(run.answers);
  }

  private writeTls(m: ClusterTlsMaterial): { certFile: string; keyFile: string; caFile: string } {
    ensureDir(this.deps.tlsDir);
    const certFile = path.join(this.deps.tlsDir, 'server.pem');
    const keyFile = path.join(this.deps.tlsDir, 'server.key');
    const caFile = path.join(this.deps.tlsDir, 'trusted-ca.pem');
    atomicWrite(certFile, m.certPem, { mode: 0o644 });
    atomicWrite(keyFile, m.keyPem, { mode: 0o600 });
    atomicWrite(caFile, m.caPems.join('\n') + '\n', { mode: 0o644 });
    return { certFile, keyFile, caFile };
  }

  private async checkHealth(run: Running): Promise<void> {
    if (!run.client || run.stopped) return;
    let h = await run.client.health();
    if (run.stopped || this.run !== run) return;
    if (h.reachable < h.voters && (await this.repin(run, h.members.filter((m) => !m.reachable).map((m) => m.endpoint)))) {
      h = await run.client.health();
      if (run.stopped || this.run !== run) return;
    }
    let state = h.state;
    const electing = state === 'NoQuorum' && h.reachable >= run.plan.quorum && (this.current === 'Active' || this.current === 'Degraded');
    if (!electing) run.electingSince = undefined;
    else if ((run.electingSince ??= Date.now()) > Date.now() - ELECTION_GRACE_MS) state = 'Degraded';
    if (state === 'NoQuorum') {
      this.deps.alarms.raise(NO_QUORUM_ALARM, `The cluster has no quorum (${h.reachable} of ${h.voters} voters reachable): changes of shared state are refused until a majority is back`, 'Critical');
    } else {
      this.deps.alarms.lower(NO_QUORUM_ALARM);
    }
    this.setStatus(state);
    this.refreshPeerAlarms(run);
  }

  /**
   * Permissive: a voter that did not answer when this peer pinned the voters' certificates (it
   * started later) is pinned once it answers, asked at most every 5 s. True when a pin was added.
   */
  private async repin(run: Running, endpoints: readonly string[]): Promise<boolean> {
    if (this.deps.config.value('Clustering TlsVerify Mode') !== 'Permissive' || endpoints.length === 0) return false;
    const now = Date.now();
    if (run.repinnedAt !== undefined && now - run.repinnedAt < 5000) return false;
    run.repinnedAt = now;
    const presented = await presentedByEndpoint(endpoints, 1000);
    let before: string;
    let after: string;
    try {
      before = permissivePins(this.deps.tlsDir, run.plan.endpoints, []);
      after = permissivePins(this.deps.tlsDir, run.plan.endpoints, run.plan.endpoints.map((e) => presented[endpoints.indexOf(e)] ?? ''));
    } catch (e) {
      // The pins could not be kept (a full or read-only disk): asked again in 5 s.
      this.deps.logger.log({ event: 'cluster.pin-failed', level: 'warn', error: (e as Error).message });
      return false;
    }
    const added = after.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((pem) => pem !== '' && !before.includes(pem));
    if (added.length === 0 || run.stopped || !run.client) return false;
    run.client.trustMore(added.join(''));
    this.deps.logger.log({ event: 'cluster.pinned', peer: run.plan.self, added: added.length });
    return true;
  }

  private refreshPeerAlarms(run: Running): void {
    if (this.run !== run || !run.peers) return;
    for (const p of run.plan.peers) {
      if (p.number === run.plan.self) continue;
      const seen = run.peers.get(p.number);
      if (this.alive(seen)) this.deps.alarms.lower(peerAlarm(p.number));
      else this.deps.alarms.raise(peerAlarm(p.number), `Cluster peer ${p.number} (${p.address}) is unreachable${seen?.lastSeen ? `: last seen ${seen.lastSeen}` : ''}`, 'Error');
    }
  }

  /**
   * Whether another peer counts as alive. Without a quorum no heartbeat is written and no lease
   * expires, so the last keys seen say nothing: every other peer is unreachable from here.
   */
  private alive(seen: { alive: boolean } | undefined): boolean {
    return this.current !== 'NoQuorum' && seen?.alive === true;
  }

  private setStatus(s: ClusterStatus): void {
    if (s === this.current) return;
    this.current = s;
    this.deps.logger.log({ event: 'cluster.status', status: s });
    this.deps.status.changed(['Clustering']);
  }

  /** Leaves the cluster: removed from the members, member stopped, its data deleted; configuration kept. */
  async leave(actor: Actor): Promise<void> {
    const run = this.run;
    if (!run) throw new CommandError('This peer is not in a cluster');
    // Needs a quorum: without one the cluster would go on counting this member, so nothing is
    // changed and the ClusterUnavailable sentence is the answer. A member not started yet has
    // nothing to remove.
    if (run.member && run.client) await removeSoon(run.client, run.member.name);
    await this.teardown(run, true);
    if (this.run === run) this.run = undefined;
    this.deps.state.write(JOINED, false);
    for (const p of run.plan.peers) this.deps.alarms.lower(peerAlarm(p.number));
    this.deps.alarms.lower(NO_QUORUM_ALARM);
    this.deps.alarms.lower(JOIN_ALARM);
    this.deps.alarms.lower(CONFIG_ALARM);
    this.deps.alarms.lower(TRUST_ALARM);
    this.deps.logger.log({ event: 'cluster.leave', who: actor.user, peer: run.plan.self });
    this.setStatus('Standalone');
  }

  private async teardown(run: Running, wipe: boolean): Promise<void> {
    run.stopped = true;
    clearTimeout(run.timer);
    if (run.answers) {
      this.deps.shareChallenges?.(undefined);
      await run.answers.close();
    }
    await run.shared?.close();
    await run.sharedTrust?.close();
    await run.heartbeat?.stop();
    await run.peers?.close().catch(() => undefined);
    await run.client?.close().catch(() => undefined);
    await run.member?.stop();
    if (wipe) run.member?.wipe();
  }

  /** Stops everything this peer runs for the cluster (the member keeps its data: it rejoins at start). */
  async close(): Promise<void> {
    const run = this.run;
    this.run = undefined;
    if (run) await this.teardown(run, false);
  }

  statusTree(): StatusTree {
    const run = this.run;
    if (!run) return { Status: this.current };
    const last = Math.max(...run.plan.peers.map((p) => p.number));
    // Listed by slot, 1 to the highest configured: the list position is the peer's number.
    const peers: StatusTree[] = [];
    for (let n = 1; n <= last; n++) {
      const p = run.plan.peers.find((x) => x.number === n);
      if (!p) {
        peers.push({ Address: '' });
        continue;
      }
      const seen = run.peers?.get(n);
      const active = p.number === run.plan.self ? seen?.alive : this.alive(seen);
      peers.push({ Address: p.address, Status: active ? 'Active' : 'Unreachable', LastSeen: seen?.lastSeen ?? '' });
    }
    return { Status: this.current, ThisPeer: run.plan.self, Peer: peers };
  }
}

/**
 * etcd refuses any reconfiguration for 5 s after its leader (re)connected to the members ("unhealthy
 * cluster"), as right after a peer restarted: that refusal is retried for up to boundMs; one that
 * lasts (a removal that would lose the quorum) is the answer.
 */
async function removeSoon(client: ClusterClient, name: string, boundMs = 10_000): Promise<void> {
  const end = Date.now() + boundMs;
  for (;;) {
    try {
      await client.removeMember(name);
      return;
    } catch (e) {
      if (!(e instanceof ClusterUnavailable) || !/unhealthy cluster/.test(e.message) || Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** Retries `fn` every 500 ms until it succeeds or the run stops (a quorum that has not formed yet). */
async function retrying<T>(run: Running, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (run.stopped) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
