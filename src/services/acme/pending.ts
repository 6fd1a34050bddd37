// Everything the ACME service persists, behind one object: the record of each target (last sign,
// last deploy, when automated work may retry) and the accounts, as one value in the state
// database; the staged (pending) certificate of each target, the archive and the domain keys in
// the storage (src/stores/acme.ts). Each change of a target is one method: the staged value is put
// before the record says Succeeded and removed before it says Deployed, so a crash between the
// two leaves a record that is behind the files, never ahead of them.
import crypto from 'node:crypto';
import type { StateStore } from '../interfaces.js';
import type { AcmeStore, StagedFile } from '../../stores/acme.js';
import type { AccountRecords } from './accounts.js';
import { readAriState, type AriState } from './ari.js';
import { NO_DEPLOY, NO_SIGN, type DeployStatus, type Outcome, type SignStatus } from './status.js';
import { SERVER_TARGET, domainTarget, type Target } from './target.js';
import type { ChallengeTypeWord } from '../../../schema/sets.js';
import type { TxtValue } from './dns/index.js';

export interface TargetRecord {
  readonly lastSign: Outcome<SignStatus>;
  readonly lastDeploy: Outcome<DeployStatus>;
  readonly latest?: 'sign' | 'deploy';
  /** Automated signing waits until then (ms since the epoch) after a failure or rate limit. */
  readonly signNotBefore?: number;
  readonly deployNotBefore?: number;
  /** Consecutive failed signing attempts (cancelled ones not counted); 0 or absent after a success. */
  readonly failures?: number;
  /** The CA's renewal information for the certificate in use, and when to ask again. */
  readonly ari?: AriState;
  /** The domain's own challenge type (Domain Add Challenge:); absent: Security Acme Challenge Type. */
  readonly challenge?: ChallengeTypeWord;
  /** A wildcard domain's orders also name its base (Domain Add IncludeBase: True). */
  readonly includeBase?: boolean;
  /** DNS-01 values added (or about to be) and not yet deleted: what a crash mid-order leaves behind. */
  readonly published?: readonly TxtValue[];
}

/** What the CA's directory offered when last fetched (kept so xStatus shows it after a restart). */
export interface CaSnapshot {
  readonly directoryUrl: string;
  readonly renewalInfo?: string;
  /** Profile name → description. */
  readonly profiles: Record<string, string>;
  /** Epoch ms. */
  readonly fetched: number;
}

interface Persisted {
  seed: string;
  accounts: AccountRecords;
  targets: Record<string, TargetRecord>;
  /** Serials revoked from here (Rollback refuses them); bounded, oldest dropped first. */
  revoked?: string[];
  ca?: CaSnapshot;
}

const STATE_KEY = 'acme';
const MAX_REVOKED = 100;
const EMPTY: TargetRecord = { lastSign: NO_SIGN, lastDeploy: NO_DEPLOY };

/** A stored directory snapshot is used only when it has the expected shape. */
function readCa(v: unknown): v is CaSnapshot {
  const o = v as Partial<CaSnapshot> | undefined;
  return typeof o?.directoryUrl === 'string' && typeof o.fetched === 'number' && typeof o.profiles === 'object' && o.profiles !== null
    && Object.values(o.profiles).every((d) => typeof d === 'string') && (o.renewalInfo === undefined || typeof o.renewalInfo === 'string');
}

export class PendingRepository {
  private readonly data: Persisted;

  constructor(private readonly state: StateStore, readonly files: AcmeStore, random: () => number) {
    const loaded = state.read<Persisted>(STATE_KEY);
    this.data = {
      seed: loaded?.seed ?? crypto.createHash('sha256').update(String(random()) + String(random())).digest('hex'),
      accounts: loaded?.accounts ?? {},
      targets: loaded?.targets ?? {},
      revoked: loaded?.revoked ?? [],
      ...(readCa(loaded?.ca) ? { ca: loaded!.ca } : {}),
    };
    // An order cut short by a restart is over; say so rather than show InProgress forever.
    for (const [k, t] of Object.entries(this.data.targets)) {
      if (t.lastSign.status === 'InProgress') this.data.targets[k] = { ...t, lastSign: { status: 'Failed', time: t.lastSign.time, reason: 'Interrupted by a restart' } };
      // A state row from an older or damaged database: an unusable ARI state is asked for again,
      // an unusable failure count starts over.
      const { ari: stored, failures, ...rest } = this.data.targets[k]!;
      const ari = stored === undefined ? undefined : readAriState(stored);
      this.data.targets[k] = {
        ...rest,
        ...(ari ? { ari } : {}),
        ...(Number.isSafeInteger(failures) && failures! > 0 ? { failures } : {}),
      };
    }
    this.save();
  }

  /** The renewal scheduler's seed, drawn once. */
  get seed(): string {
    return this.data.seed;
  }

  /** The account records; AcmeAccounts changes them and calls `save`. */
  get accounts(): AccountRecords {
    return this.data.accounts;
  }

  get revoked(): readonly string[] {
    return this.data.revoked ?? [];
  }

  /** The CA confirmed a revocation. */
  noteRevoked(serial: string): void {
    this.data.revoked = [...this.revoked.filter((s) => s !== serial), serial].slice(-MAX_REVOKED);
    this.save();
  }

  save(): void {
    this.state.write(STATE_KEY, this.data);
  }

  record(t: Target): TargetRecord {
    return this.data.targets[t.key] ?? EMPTY;
  }

  /** The keys (`server`, `domain:<name>`) of every target with a record. */
  keys(): string[] {
    return Object.keys(this.data.targets);
  }

  /** The CA's directory as last fetched. */
  get ca(): CaSnapshot | undefined {
    return this.data.ca;
  }

  set ca(v: CaSnapshot | undefined) {
    this.data.ca = v;
    this.save();
  }

  /** A target no longer configured: its record, staged certificate and domain key go. */
  forget(t: Target): void {
    this.files.removePending(t.file);
    if (t.domain !== undefined) this.files.removeDomainKey(t.domain);
    delete this.data.targets[t.key];
    this.save();
  }

  /** Changes a target's record in one write. */
  update(t: Target, patch: Partial<TargetRecord>): void {
    this.data.targets[t.key] = { ...this.record(t), ...patch };
    this.save();
  }

  /** Targets whose DNS-01 values were not deleted (a crash mid-order), with those values. */
  leftovers(): { target: Target; values: readonly TxtValue[] }[] {
    return Object.entries(this.data.targets)
      .filter(([, r]) => (r.published?.length ?? 0) > 0)
      .map(([k, r]) => ({ target: k === SERVER_TARGET.key ? SERVER_TARGET : domainTarget(k.replace(/^domain:/, '')), values: r.published! }));
  }

  staged(t: Target): StagedFile | undefined {
    return this.files.readPending(t.file);
  }

  /** Stages a signed certificate, keeps a copy in the archive, then records the success. */
  stage(t: Target, staged: StagedFile, serial: string, patch: Partial<TargetRecord>): void {
    this.files.writePending(t.file, staged);
    this.files.archiveCertificate(serial, staged.pem);
    this.update(t, patch);
  }

  /** Drops the staged certificate (discarded by the admin). */
  discard(t: Target): void {
    this.files.removePending(t.file);
  }

  /** The domain is no longer hosted: its staged certificate, key and record go. */
  forgetDomain(t: Target & { domain: string }): void {
    this.files.removePending(t.file);
    this.files.removeDomainKey(t.domain);
    delete this.data.targets[t.key];
    this.save();
  }

  /** The staged certificate went live: it is no longer pending, then the record says so. */
  deployed(t: Target, patch: Partial<TargetRecord>): void {
    this.files.removePending(t.file);
    this.update(t, patch);
  }
}
