import { domainNameProblem, isWildcardName, literal, str } from '../../../../schema/types.js';
import { CHALLENGE_TYPES, TRUE_FALSE } from '../../../../schema/sets.js';
import { defineCommand, param } from '../../../define.js';
import { ParameterError } from '../../../../src/errors.js';

export const nameParam = param(str(1, 253), 'The hosted domain clients name in SNI: an FQDN, or *.<FQDN> for every name one label under it', { required: true });

export default defineCommand({
  path: ['Security', 'Certificates', 'Domain', 'Add'],
  help: 'Host a domain for SNI; give it a certificate with Domain Upload or xCommand Security Acme Sign Domain:. A wildcard (*.example.com) needs the DNS-01 challenge',
  role: 'Admin',
  params: {
    Name: nameParam,
    Challenge: param(literal(...CHALLENGE_TYPES), 'The ACME challenge type for this domain; omit to follow xConfiguration Security Acme Challenge Type'),
    IncludeBase: param(literal(...TRUE_FALSE), 'A wildcard domain only: its ACME orders also name the base (example.com for *.example.com), which it then serves too (default False)'),
  },
  async run(args, { services, actor }) {
    // The name first: a bad name is refused for what it is, before its challenge type.
    const problem = domainNameProblem(args.Name);
    if (problem) throw new ParameterError(problem);
    const name = args.Name.toLowerCase().replace(/\.$/, '');
    const includeBase = args.IncludeBase === 'True';
    if (includeBase && !isWildcardName(name)) throw new ParameterError('IncludeBase applies to a wildcard domain (*.example.com) only');
    services.acme.checkDomainChallenge(name, args.Challenge);
    const d = services.certificates.addDomain(name, undefined, actor);
    // Always written, so a domain added again does not inherit an earlier domain's choices.
    services.acme.setDomainOrder(d.name, { challenge: args.Challenge, includeBase });
    return { Name: d.name, Status: 'NoCertificate' };
  },
});
