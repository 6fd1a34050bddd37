import { literal, str } from '../../../../schema/types.js';
import { CHALLENGE_TYPES } from '../../../../schema/sets.js';
import { defineCommand, param } from '../../../define.js';
import { ParameterError } from '../../../../src/errors.js';


export const nameParam = param(str(1, 253), 'The hosted domain (FQDN) clients name in SNI', { required: true });

export default defineCommand({
  path: ['Security', 'Certificates', 'Domain', 'Add'],
  help: 'Host a domain for SNI; give it a certificate with Domain Upload or xCommand Security Acme Sign Domain:',
  role: 'Admin',
  params: {
    Name: nameParam,
    Challenge: param(literal(...CHALLENGE_TYPES), 'The ACME challenge type for this domain; omit to follow xConfiguration Security Acme Challenge Type'),
  },
  async run(args, { services, actor }) {
    // The listener matches SNI names exactly: a wildcard is served through the server certificate.
    if (args.Name.startsWith('*.')) {
      throw new ParameterError(`A wildcard domain (${args.Name}) cannot be hosted for SNI: put it in the server certificate with xCommand Security Certificates CSR Create and Challenge Type Dns01`);
    }
    services.acme.checkNames([args.Name], args.Challenge);
    const d = services.certificates.addDomain(args.Name, undefined, actor);
    // Always written, so a domain added again does not inherit an earlier domain's choice.
    services.acme.setDomainChallenge(d.name, args.Challenge);
    return { Name: d.name, Status: 'NoCertificate' };
  },
});
