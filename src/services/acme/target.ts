// What an ACME order is for: the server certificate, or a hosted SNI domain's certificate. Every
// name the service derives from a target (state record, staged file, alarm, event, audit and
// human label) is made here, so "the server certificate" is one value rather than `undefined`.

import { storedDomainName } from '../../stores/keys.js';
import { isWildcard, wildcardBase } from '../certs/domain-name.js';

export interface Target {
  /** The hosted domain (lower case), or undefined for the server certificate. */
  readonly domain: string | undefined;
  /** `server` or `domain:<name>`: the record in the persisted state, and the running-order lock. */
  readonly key: string;
  /** For people: `the server certificate`, `the certificate of <name>`. */
  readonly label: string;
  /** `server` or `domain-<name>` (a wildcard's name as the storage keeps it): the staged file's name. */
  readonly file: string;
  /** `server` or `<name>`: audit and log lines. */
  readonly name: string;
  /** `Server` or `<name>`: the AcmeProgress event's Target field. */
  readonly event: string;
}

export const SERVER_TARGET: Target = {
  domain: undefined, key: 'server', label: 'the server certificate', file: 'server', name: 'server', event: 'Server',
};

export function domainTarget(domain: string): Target {
  const n = domain.toLowerCase();
  return { domain: n, key: `domain:${n}`, label: `the certificate of ${n}`, file: `domain-${storedDomainName(n)}`, name: n, event: n };
}

/** The names an order for a hosted domain asks for: its name, and a wildcard's base name when configured (Domain Add IncludeBase:). */
export function domainOrderNames(domain: string, includeBase: boolean): string[] {
  return isWildcard(domain) && includeBase ? [domain, wildcardBase(domain)] : [domain];
}

/** The target of a command's optional Domain parameter (already checked to be hosted). */
export function targetOf(domain: string | undefined): Target {
  return domain === undefined ? SERVER_TARGET : domainTarget(domain);
}

export const ALARM_KINDS = ['failing', 'overdue', 'urgent'] as const;

export function alarmId(kind: (typeof ALARM_KINDS)[number], t: Target): string {
  return `acme.renewal-${kind}${t.domain === undefined ? '' : `.${t.domain}`}`;
}
