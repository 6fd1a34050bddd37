import { defineCommand } from '../../../define.js';
import { CommandError } from '../../../../src/errors.js';
import { acmeOf, certificateFields, domainParam } from '../service.js';

export default defineCommand({
  path: ['Security', 'Acme', 'Pending', 'Show'],
  help: 'Show the signed certificate waiting to be deployed, decoded',
  role: 'ReadOnly',
  params: { Domain: domainParam },
  async run(args, { services }) {
    const domain = args.Domain || undefined;
    const p = acmeOf(services).pending(domain);
    if (!p) throw new CommandError(`There is no pending ACME certificate for ${domain ?? 'the server certificate'}`);
    return { ...certificateFields(p.info), Provider: p.provider, Signed: p.signed };
  },
});
