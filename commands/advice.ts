// The words for what a user can do about a refusal. Services state the fact and name a Remedy
// (src/errors.ts); every command's errors pass through `advise` (defineCommand), so the advice is
// written once, here, in the layer that knows the commands.
import { XapiError, type Remedy } from '../src/errors.js';

const ADVICE: Record<Remedy, string> = {
  AcceptTerms: 'run xCommand Security Acme AcceptTerms first',
  AcceptTermsAgain: 'run xCommand Security Acme AcceptTerms',
  AddDomain: 'add it with xCommand Security Certificates Domain Add',
  CreateCsr: 'create one with xCommand Security Certificates CSR Create',
  DiscardCsr: 'discard it first with xCommand Security Certificates CSR Discard',
  LeaveCluster: 'run xCommand Clustering Leave first',
  RestartThenDeploy: 'restart (xCommand SystemUnit Boot) to put it in service, then deploy',
  Sign: 'sign one with xCommand Security Acme Sign',
  WildcardDns01: 'add it with Challenge: Dns01, or set xConfiguration Security Acme Challenge Type: Dns01',
};

/** The error with its remedy worded after the reason; anything else unchanged. */
export function advise(e: unknown): unknown {
  return e instanceof XapiError && e.remedy ? e.advised(ADVICE[e.remedy]) : e;
}
