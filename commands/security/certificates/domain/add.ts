import { str } from '../../../../schema/types.js';
import { defineCommand, param } from '../../../define.js';
import { certsOf } from '../service.js';

export const nameParam = param(str(1, 253), 'The hosted domain (FQDN) clients name in SNI', { required: true });

export default defineCommand({
  path: ['Security', 'Certificates', 'Domain', 'Add'],
  help: 'Host a domain for SNI; give it a certificate with Domain Upload or xCommand Security Acme Sign Domain:',
  role: 'Admin',
  params: { Name: nameParam },
  async run(args, { services, actor }) {
    const d = certsOf(services).addDomain(args.Name, undefined, actor);
    return { Name: d.name, Status: 'NoCertificate' };
  },
});
