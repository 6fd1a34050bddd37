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
import { NO_DEPLOY, NO_SIGN, type DeployStatus, type Outcome, type SignStatus } from './status.js';
import type { Target } from './target.js';

export interface TargetRecord {
  readonly lastSign: Outcome<SignStatus>;
  readonly lastDeploy: Outcome<DeployStatus>;
  readonly latest?: 'sign' | 'deploy';
  /** Automated signing waits until then (ms since the epoch) after a failure or rate limit. */
  readonly signNotBefore?: number;
  readonly deployNotBefore?: number;
}

interface Persisted {
  seed: string;
  accounts: AccountRecords;
  targets: Record<string, TargetRecord>;
  /** Serials revoked from here (Rollback refuses them); bounded, oldest dropped first. */
  revoked?: string[];
}

const STATE_KEY = 'acme';
const MAX_REVOKED = 100;
const EMPTY: TargetRecord = { lastSign: NO_SIGN, lastDeploy: NO_DEPLOY };

export class PendingRepository {
  private readonly data: Persisted;

  constructor(private readonly state: StateStore, readonly files: AcmeStore, random: () => number) {
    const loaded = state.read<Persisted>(STATE_KEY);
    this.data = {
      seed: loaded?.seed ?? crypto.createHash('sha256').update(String(random()) + String(random())).digest('hex'),
      accounts: loaded?.accounts ?? {},
      targets: loaded?.targets ?? {},
      revoked: loaded?.revoked ?? [],
    };
    // An order cut short by a restart is over; say so rather than show InProgress forever.
    for (const [k, t] of Object.entries(this.data.targets)) {
      if (t.lastSign.status === 'InProgress') this.data.targets[k] = { ...t, lastSign: { status: 'Failed', time: t.lastSign.time, reason: 'Interrupted by a restart' } };
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

  /** Changes a target's record in one write. */
  update(t: Target, patch: Partial<TargetRecord>): void {
    this.data.targets[t.key] = { ...this.record(t), ...patch };
    this.save();
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
