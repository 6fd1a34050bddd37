// The names a hosted (SNI) domain may have (rules in schema/types.ts `domainNameProblem`): a plain
// FQDN, or a wildcard `*.<FQDN>` standing for exactly one label. Pure.
import { domainNameProblem, isWildcardName } from '../../../schema/types.js';
import { ParameterError } from '../../errors.js';

export const isWildcard = isWildcardName;

/** `*.example.com` -> `example.com` (the name a wildcard does not cover). */
export function wildcardBase(name: string): string {
  return name.slice(2);
}

/** A hosted domain's name from input: lower case, without a final dot. ParameterError in one sentence otherwise. */
export function domainName(input: string): string {
  const problem = domainNameProblem(input);
  if (problem) throw new ParameterError(problem);
  return input.toLowerCase().replace(/\.$/, '');
}

/** True when `n` is a hosted domain's name as stored: lower case, no final dot, an FQDN or a valid wildcard. */
export function isDomainName(n: string): boolean {
  return n === n.toLowerCase() && !n.endsWith('.') && domainNameProblem(n) === undefined;
}

/**
 * A name a client sends in SNI to reach the domain `name`: the name itself, or for a wildcard a
 * label under it that no hosted domain takes exactly (an exact name would be served first).
 */
export function reachingName(name: string, hosted: ReadonlySet<string>): string {
  if (!isWildcard(name)) return name;
  for (let i = 0; ; i++) {
    const n = `xway-probe${i === 0 ? '' : `-${i}`}.${wildcardBase(name)}`;
    if (!hosted.has(n)) return n;
  }
}
