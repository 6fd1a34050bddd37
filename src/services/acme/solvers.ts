// How one order proves control of its names, by challenge type: HTTP-01 stays with the responder
// (responder.ts); DNS-01 adds every TXT value of the order in one RFC 2136 update, waits until
// every authoritative server answers them, and deletes exactly those values afterwards; TLS-ALPN-01
// registers a challenge certificate per name on the HTTPS listener for the order's duration (in a
// cluster, also on the board: every peer's HTTPS listener answers them).
// DNS-01 values are written to the persisted record before they are added, so the next start
// after a crash deletes what a cut-short order left behind (`cleanLeftovers`).
import crypto from 'node:crypto';
import type { ChallengeTypeWord } from '../../../schema/sets.js';
import { publishOn, type BoardPem, type ChallengeBoard } from './board.js';
import type { ConfigService, TlsService } from '../interfaces.js';
import { CommandError, ParameterError } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { Logger } from '../../platform/log.js';
import { Rfc2136Publisher, TsigKey, challengeName, isDnsError, type ProbeReport, type TxtPublisher, type TxtValue } from './dns/index.js';
import type { ChallengeAnswer, ChallengeSolver } from './issuer.js';
import { OrderFailure } from './reasons.js';
import { tlsAlpnChallenge } from './tls-alpn.js';
import type { Target } from './target.js';

/** The wildcard names among `names` (first one), when the challenge type cannot prove them: one sentence. Pure. */
export function wildcardProblem(names: readonly string[], type: ChallengeTypeWord): string | undefined {
  const wild = names.find((n) => n.startsWith('*.'));
  if (wild === undefined || type === 'Dns01') return undefined;
  return `The wildcard name ${wild} needs the DNS-01 challenge: set xConfiguration Security Acme Challenge Type: Dns01`;
}

/** Where the records of an order are remembered until they are deleted (the target's persisted record). */
export interface PublishedLedger {
  published(t: Target): readonly TxtValue[];
  setPublished(t: Target, values: readonly TxtValue[]): void;
  /** Every target with remembered values. */
  leftovers(): readonly { target: Target; values: readonly TxtValue[] }[];
}

export interface SolverDeps {
  readonly config: Pick<ConfigService, 'value'>;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly ledger: PublishedLedger;
  /** The HTTPS listener, for TLS-ALPN-01; absent: TlsAlpn01 orders fail with a sentence. */
  readonly alpnHost?: Pick<TlsService, 'setAlpnChallenge'>;
  /** The cluster's board while this peer is in one (TLS-ALPN-01 answers go there too). */
  readonly board: () => ChallengeBoard | undefined;
  /** The target's own challenge type (Domain Add Challenge:), if any. */
  readonly override: (t: Target) => ChallengeTypeWord | undefined;
}

export interface DnsSettings {
  readonly server: string;
  readonly port: number;
  readonly zone: string;
  readonly keyName: string;
  readonly algorithm: 'hmac-sha256' | 'hmac-sha512';
  readonly secret: string;
  readonly timeoutMs: number;
}

function orderFailure(e: unknown): OrderFailure {
  if (e instanceof OrderFailure) return e;
  if (isDnsError(e)) {
    // A server that did not answer, or records still on their way, may do better shortly.
    return new OrderFailure({ kind: 'challenge', retryable: e.kind === 'UNREACHABLE' || e.kind === 'NOTVISIBLE', reason: e.message });
  }
  if (e instanceof CommandError || e instanceof ParameterError) return new OrderFailure({ kind: 'local', retryable: false, reason: e.message });
  throw e;
}

/** `work`, or a cancelled OrderFailure as soon as `signal` aborts (the work's own outcome is then ignored). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const cancelled = () => reject(new OrderFailure({ kind: 'cancelled', retryable: false, reason: 'The order was cancelled' }));
    if (signal.aborted) {
      work.catch(() => {});
      return cancelled();
    }
    signal.addEventListener('abort', cancelled, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', cancelled));
  });
}

/** Drops `values` from the target's remembered records, keeping any others. */
function forget(ledger: PublishedLedger, t: Target, values: readonly TxtValue[]): void {
  const gone = new Set(values.map((v) => `${v.name} ${v.value}`));
  ledger.setPublished(t, ledger.published(t).filter((v) => !gone.has(`${v.name} ${v.value}`)));
}

export class ChallengeSolvers {
  constructor(private readonly deps: SolverDeps) {}

  /** The challenge type of a target: its own, or `Security Acme Challenge Type`. */
  typeOf(t: Target): ChallengeTypeWord {
    return this.deps.override(t) ?? this.deps.config.value('Security Acme Challenge Type');
  }

  dnsSettings(): DnsSettings {
    const v = this.deps.config;
    return {
      server: v.value('Security Acme Dns Server'),
      port: v.value('Security Acme Dns Port'),
      zone: v.value('Security Acme Dns Zone'),
      keyName: v.value('Security Acme Dns TsigKeyName'),
      algorithm: v.value('Security Acme Dns TsigAlgorithm'),
      secret: v.value('Security Acme Dns TsigSecret'),
      timeoutMs: v.value('Security Acme Dns PropagationTimeout') * 1000,
    };
  }

  /** The publisher of the configured server; CommandError naming what is missing. */
  publisher(): { publisher: TxtPublisher; where: string; timeoutMs: number } {
    const s = this.dnsSettings();
    for (const [k, v] of [['Server', s.server], ['TsigKeyName', s.keyName], ['TsigSecret', s.secret]] as const) {
      if (v === '') throw new CommandError(`DNS-01 needs xConfiguration Security Acme Dns ${k}`);
    }
    const where = s.server.includes(':') ? `[${s.server}]:${s.port}` : `${s.server}:${s.port}`;
    const publisher = new Rfc2136Publisher({
      server: { host: s.server, port: s.port },
      ...(s.zone ? { zone: s.zone } : {}),
      key: new TsigKey(s.keyName, s.algorithm, s.secret),
      clock: this.deps.clock,
      // The zone's NS hosts answer on the configured port too (a test server, a stealth primary).
      nameserverPort: s.port,
    });
    return { publisher, where, timeoutMs: s.timeoutMs };
  }

  /**
   * What answers the order of `t` for `names`: undefined for HTTP-01 (the responder), a solver
   * otherwise. OrderFailure (not retryable) when the type cannot serve these names.
   */
  solverFor(t: Target, names: readonly string[], show: (published: string) => void): ChallengeSolver | undefined {
    const type = this.typeOf(t);
    const wild = wildcardProblem(names, type);
    if (wild) throw new OrderFailure({ kind: 'local', retryable: false, reason: wild });
    try {
      switch (type) {
        case 'Http01': return undefined;
        case 'Dns01': return new DnsSolver(this.publisher(), t, this.deps, show);
        case 'TlsAlpn01': {
          const host = this.deps.alpnHost;
          if (!host) throw new CommandError('TLS-ALPN-01 needs the HTTPS listener, which this appliance does not run');
          return new AlpnSolver(host, this.deps.clock, this.deps.board(), show);
        }
      }
    } catch (e) {
      throw orderFailure(e);
    }
  }

  /** Adds a probe TXT record, waits until it is visible, deletes it (xCommand Security Acme Dns Test). */
  async test(domain: string | undefined): Promise<ProbeReport> {
    const { publisher, timeoutMs } = this.publisher();
    return publisher.test(domain === undefined ? undefined : challengeName(domain), timeoutMs);
  }

  /** Deletes the records orders cut short by a crash left behind; what fails stays remembered for the next start. */
  async cleanLeftovers(): Promise<void> {
    const left = this.deps.ledger.leftovers();
    if (!left.length) return;
    let p: TxtPublisher;
    try {
      p = this.publisher().publisher;
    } catch (e) {
      this.deps.logger.log({ event: 'acme.dns-leftovers', level: 'warn', error: (e as Error).message, records: left.reduce((n, l) => n + l.values.length, 0) });
      return;
    }
    for (const { target, values } of left) {
      try {
        await p.remove(values);
        // Only these: an order started meanwhile may have recorded its own values.
        forget(this.deps.ledger, target, values);
        this.deps.logger.log({ event: 'acme.dns-leftovers-removed', target: target.name, records: values.length });
      } catch (e) {
        this.deps.logger.log({ event: 'acme.dns-leftovers', level: 'warn', target: target.name, error: (e as Error).message });
      }
    }
  }
}

class DnsSolver implements ChallengeSolver {
  readonly type = 'dns-01';
  private values: TxtValue[] = [];

  constructor(
    private readonly pub: { publisher: TxtPublisher; where: string; timeoutMs: number },
    private readonly target: Target,
    private readonly deps: SolverDeps,
    private readonly show: (published: string) => void,
  ) {}

  async present(answers: readonly ChallengeAnswer[], signal: AbortSignal): Promise<void> {
    this.values = answers.map((a) => ({ name: challengeName(a.identifier), value: a.keyAuthorization }));
    // Remembered before the update is sent: a crash between the two leaves a value to delete, never an unknown record.
    this.deps.ledger.setPublished(this.target, [...this.deps.ledger.published(this.target), ...this.values]);
    const names = [...new Set(this.values.map((v) => v.name))];
    this.show(`TXT ${names.join(', ')} at ${this.pub.where}`);
    try {
      // The update itself is short and never cut: removing before it lands would leave a record.
      await this.pub.publisher.add(this.values);
      // The wait may be long: a cancelled order stops waiting, and cleanup deletes the values at once.
      await untilAborted(this.pub.publisher.waitVisible(this.values, this.pub.timeoutMs), signal);
    } catch (e) {
      throw orderFailure(e);
    }
  }

  async cleanup(): Promise<void> {
    if (!this.values.length) return;
    try {
      await this.pub.publisher.remove(this.values);
      forget(this.deps.ledger, this.target, this.values);
    } catch (e) {
      // Kept in the ledger: the next start tries again.
      this.deps.logger.log({ event: 'acme.dns-cleanup', level: 'warn', target: this.target.name, error: (e as Error).message });
    }
    this.values = [];
    this.show('');
  }
}

class AlpnSolver implements ChallengeSolver {
  readonly type = 'tls-alpn-01';
  private readonly names: string[] = [];
  /** The board entry of this order, once published. */
  private published: string | undefined;

  constructor(
    private readonly host: Pick<TlsService, 'setAlpnChallenge'>,
    private readonly clock: Clock,
    private readonly board: ChallengeBoard | undefined,
    private readonly show: (published: string) => void,
  ) {}

  async present(answers: readonly ChallengeAnswer[]): Promise<void> {
    const pairs = new Map<string, BoardPem>();
    try {
      for (const a of answers) {
        const pair = await tlsAlpnChallenge(a.identifier, a.keyAuthorization, this.clock.now());
        this.names.push(a.identifier);
        this.host.setAlpnChallenge(a.identifier, pair);
        pairs.set(a.identifier.toLowerCase(), pair);
      }
    } catch (e) {
      throw orderFailure(e);
    }
    if (this.board) {
      this.published = crypto.randomUUID();
      await publishOn(this.board, this.published, { alpn: pairs });
    }
    this.show(`TLS-ALPN-01 certificate for ${this.names.join(', ')} on the HTTPS listener${this.board ? 's of every peer' : ''}`);
  }

  async cleanup(): Promise<void> {
    for (const n of this.names.splice(0)) this.host.setAlpnChallenge(n, undefined);
    if (this.published !== undefined) await this.board?.withdraw(this.published);
    this.published = undefined;
    this.show('');
  }
}
