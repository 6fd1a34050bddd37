// The owner of `Security Acme`: the rules across its fields, checked before a commit, and what
// the ACME service does once one is committed (status, renewal plan).
import type { ConfigOwner, ConfigView, Problem } from '../interfaces.js';

/** Pure: the cross-field rules of Security Acme, one sentence per broken rule. */
export function verifyAcme(next: ConfigView): Problem[] {
  const problems: Problem[] = [];
  const keyId = next.value('Security Acme ExternalAccount KeyId');
  const hmacKey = next.value('Security Acme ExternalAccount HmacKey');
  // One xConfiguration line sets one key: the pair is set together by a command.
  if (keyId !== '' && hmacKey === '') {
    problems.push('Security Acme ExternalAccount KeyId needs HmacKey: set both with xCommand Security Acme ExternalAccount Set, or neither');
  }
  if (keyId === '' && hmacKey !== '') {
    problems.push('Security Acme ExternalAccount HmacKey needs KeyId: set both with xCommand Security Acme ExternalAccount Set, or neither');
  }
  if (next.value('Security Acme Provider') === 'Custom' && next.value('Security Acme DirectoryUrl') === '') {
    problems.push('Security Acme Provider Custom needs Security Acme DirectoryUrl: set the directory URL first');
  }
  if (next.value('Security Acme Scheduler Mode') === 'On' && next.value('Security Acme Scheduler Days') === '') {
    problems.push('Security Acme Scheduler Mode On needs at least one day in Security Acme Scheduler Days');
  }
  // One sentence per missing part, so the admin sees everything to set at once.
  if (next.value('Security Acme Challenge Type') === 'Dns01') {
    for (const [key, what] of [['Server', 'the address of the DNS server that accepts updates'], ['TsigKeyName', 'the name of the TSIG key'], ['TsigSecret', 'the TSIG secret']] as const) {
      if (next.value(`Security Acme Dns ${key}`) === '') problems.push(`Security Acme Challenge Type Dns01 needs Security Acme Dns ${key}: set ${what} first`);
    }
  }
  return problems;
}

/** What the ACME service does when its configuration changed: recompute status and the renewal plan. */
export interface AcmeConfigFollower {
  configured(): void;
}

export function acmeOwner(acme: AcmeConfigFollower): ConfigOwner {
  return {
    name: 'Security Acme',
    subtrees: ['Security Acme'],
    verify: verifyAcme,
    apply: () => acme.configured(),
  };
}
