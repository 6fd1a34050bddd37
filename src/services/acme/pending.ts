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
  /** The domain's own challenge type (Domain Add Challenge:); absent: Security Acme Challenge Type. */
  readonly challenge?: ChallengeTypeWord;
  /** DNS-01 values added (or about to be) and not yet deleted: what a crash mid-order leaves behind. */
  readonly published?: readonly TxtValue[];
}

interface Persisted {
  seed: string;
  accounts: AccountRecords;
  targets: Record<string, TargetRecord>;
}

const STATE_KEY = 'acme';
const EMPTY: TargetRecord = { lastSign: NO_SIGN, lastDeploy: NO_DEPLOY };

export class PendingRepository {
  private readonly data: Persisted;

  constructor(private readonly state: StateStore, readonly files: AcmeStore, random: () => number) {
    const loaded = state.read<Persisted>(STATE_KEY);
    this.data = {
      seed: loaded?.seed ?? crypto.createHash('sha256').update(String(random()) + String(random())).digest('hex'),
      accounts: loaded?.accounts ?? {},
      targets: loaded?.targets ?? {},
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

  /** The staged certificate went live: it is no longer pending, then the record says so. */
  deployed(t: Target, patch: Partial<TargetRecord>): void {
    this.files.removePending(t.file);
    this.update(t, patch);
  }
}
