// ACME accounts, one per provider name: the provider's directory and external account binding
// from the configuration, the account key (kept in acme/accounts/, reused), the account URL and
// status as the CA last told them. Records live in the service's persisted state.
import type { AcmeProvider, Actor, ConfigService } from '../interfaces.js';
import { CommandError } from '../../errors.js';
import type { Clock } from '../../platform/clock.js';
import type { AcmeStore } from '../../stores/acme.js';
import { Deadline, generateKey, type CertificateIssuer, type ProviderRef } from './issuer.js';
import { failureError, OrderFailure, type Failure } from './reasons.js';
import { DIRECTORIES } from './settings.js';
import { iso, type AccountStatus } from './status.js';

export interface AccountRecord {
  readonly directoryUrl: string;
  readonly url: string;
  readonly termsUrl: string;
  readonly status: 'Valid' | 'Deactivated';
  readonly created: string;
}

export interface AcceptTermsResult {
  readonly termsUrl: string;
  /** '' when nothing was agreed to. */
  readonly accountUrl: string;
  readonly provider: AcmeProvider;
  readonly agreed: boolean;
}

export type AccountRecords = Partial<Record<AcmeProvider, AccountRecord>>;

export interface AccountsDeps {
  readonly config: Pick<ConfigService, 'value'>;
  readonly files: AcmeStore;
  readonly issuer: CertificateIssuer;
  readonly clock: Clock;
  readonly timeoutMs: number;
  /** The records (mutated here); `save` makes them durable and announces the change. */
  readonly records: AccountRecords;
  readonly save: () => void;
  readonly audit: (actor: Actor, what: string, result: string, extra?: Record<string, unknown>) => void;
}

export class AcmeAccounts {
  constructor(private readonly deps: AccountsDeps) {}

  /** The configured provider (or `name`): directory URL and EAB. CommandError when incomplete. */
  provider(name?: AcmeProvider): ProviderRef {
    const cfg = this.deps.config;
    const n = name ?? cfg.value('Security Acme Provider');
    const keyId = cfg.value('Security Acme ExternalAccount KeyId');
    const hmacKey = cfg.value('Security Acme ExternalAccount HmacKey');
    // Commits refuse half a pair (owner.ts); a database written before that rule may still hold one.
    if ((keyId === '') !== (hmacKey === '')) throw new CommandError('Set both Security Acme ExternalAccount KeyId and HmacKey, or neither');
    const eab = keyId ? { kid: keyId, hmacKey } : undefined;
    if (n === 'Custom') {
      const url = cfg.value('Security Acme DirectoryUrl');
      if (!url) throw new CommandError('Security Acme DirectoryUrl is empty: set it for the Custom provider');
      return { name: n, directoryUrl: url, eab };
    }
    return { name: n, directoryUrl: DIRECTORIES[n], eab };
  }

  /** The account with the configured provider, as xStatus shows it. */
  status(): { status: AccountStatus; record?: AccountRecord; provider: AcmeProvider } {
    const provider = this.deps.config.value('Security Acme Provider');
    const record = this.deps.records[provider];
    let url: string;
    try {
      url = this.provider(provider).directoryUrl;
    } catch {
      return { status: 'None', provider };
    }
    if (!record || record.directoryUrl !== url) return { status: 'None', provider };
    return { status: record.status, record, provider };
  }

  /**
   * Without `agree`, fetches the CA's terms of service URL and changes nothing, so the admin reads
   * them before agreeing; with `agree`, creates (or finds) the account. Both need AdminEmail: the
   * CA's notices about the account go there.
   */
  async acceptTerms(actor: Actor, agree: boolean): Promise<AcceptTermsResult> {
    const p = this.provider();
    const email = this.deps.config.value('Security Acme AdminEmail');
    if (email === '') throw new CommandError('Security Acme AdminEmail is empty: set the address the CA writes to about this account first');
    const { files, records } = this.deps;
    const abort = new AbortController();
    const timer = this.deps.clock.setTimeout(() => abort.abort(new Deadline(Math.round(this.deps.timeoutMs / 1000))), this.deps.timeoutMs);
    try {
      if (!agree) {
        const termsUrl = await this.deps.issuer.termsOfService(p, abort.signal);
        return { termsUrl, accountUrl: '', provider: p.name, agreed: false };
      }
      let key = files.accountKey(p.name);
      // A deactivated account cannot come back: a new key makes a new account.
      if (!key || records[p.name]?.status === 'Deactivated') {
        key = await generateKey(this.deps.config.value('Security Acme KeyType'));
        files.writeAccountKey(p.name, key);
      }
      const r = await this.deps.issuer.register(p, key, email, abort.signal);
      records[p.name] = { directoryUrl: p.directoryUrl, url: r.accountUrl, termsUrl: r.termsUrl, status: 'Valid', created: iso(this.deps.clock.now().getTime()) };
      this.deps.save();
      this.deps.audit(actor, 'Security Acme AcceptTerms', 'account created', { provider: p.name });
      return { termsUrl: r.termsUrl, accountUrl: r.accountUrl, provider: p.name, agreed: true };
    } catch (e) {
      if (!(e instanceof OrderFailure)) throw e;
      this.note(p, e.failure);
      this.deps.audit(actor, 'Security Acme AcceptTerms', 'failed', { provider: p.name, reason: e.message });
      throw failureError(e);
    } finally {
      timer.cancel();
    }
  }

  /** What a refusal says about the account: forgotten by the CA (None) or deactivated. */
  note(p: ProviderRef, f: Failure): void {
    const record = this.deps.records[p.name];
    if (!record) return;
    if (f.kind === 'accountUnknown') delete this.deps.records[p.name];
    else if (f.kind === 'account' && /deactivated/i.test(f.reason)) this.deps.records[p.name] = { ...record, status: 'Deactivated' };
    else return;
    this.deps.save();
  }

  /** The usable account for an order with `p`; CommandError saying what to do otherwise. */
  require(p: ProviderRef): { keyPem: string; url: string } {
    const record = this.deps.records[p.name];
    const keyPem = this.deps.files.accountKey(p.name);
    if (!record || record.directoryUrl !== p.directoryUrl || !keyPem) {
      throw new CommandError(`No ACME account with ${p.name}`).needs('AcceptTerms');
    }
    if (record.status !== 'Valid') throw new CommandError(`The ACME account with ${p.name} is deactivated`).needs('AcceptTermsAgain');
    return { keyPem, url: record.url };
  }

  /** The account that ordered under `name` (any directory it had then), for revocation. */
  forRevocation(name: AcmeProvider): { provider: ProviderRef; account: { keyPem: string; url: string } } {
    const record = this.deps.records[name];
    const keyPem = this.deps.files.accountKey(name);
    if (!record || !keyPem) throw new CommandError(`No ACME account with ${name}`).needs('AcceptTerms');
    return { provider: { name, directoryUrl: record.directoryUrl }, account: { keyPem, url: record.url } };
  }
}
