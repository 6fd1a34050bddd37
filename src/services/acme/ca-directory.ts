// What the service asks a CA outside an order: its directory (for `renewalInfo` and
// `meta.profiles`) and one certificate's renewal information. An interface so command tests can
// answer without a CA (test/helpers/fake-issuer.ts); the HTTPS implementation is ari-client.ts,
// trusting exactly the trust store's CAs.
import type { Clock } from '../../platform/clock.js';
import { fetchDirectory, fetchRenewalInfo, type RenewalInfoResult } from './ari-client.js';

export interface CaDirectory {
  /** The CA's directory object. Rejects with Unavailable (one sentence) when it cannot be fetched. */
  directory(url: string): Promise<Record<string, unknown>>;
  /** GET `<renewalInfo>/<certId>`. Never rejects: a failure is `ok: false` with a next poll time. */
  renewalInfo(renewalInfoUrl: string, certId: string): Promise<RenewalInfoResult>;
}

export class HttpsCaDirectory implements CaDirectory {
  constructor(private readonly caPems: () => readonly string[], private readonly timeoutMs: number, private readonly clock: Clock) {}

  directory(url: string): Promise<Record<string, unknown>> {
    return fetchDirectory(url, this.options());
  }

  renewalInfo(renewalInfoUrl: string, certId: string): Promise<RenewalInfoResult> {
    return fetchRenewalInfo(renewalInfoUrl, certId, this.options());
  }

  private options() {
    return { caPems: this.caPems(), timeoutMs: this.timeoutMs, now: () => this.clock.now().getTime() };
  }
}
