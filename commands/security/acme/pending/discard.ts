import { defineCommand } from '../../../define.js';
import { acmeOf, domainParam } from '../service.js';

export default defineCommand({
  path: ['Security', 'Acme', 'Pending', 'Discard'],
  help: 'Discard the signed certificate waiting to be deployed',
  role: 'Admin',
  params: { Domain: domainParam },
  async run(args, { services, actor }) {
    const domain = args.Domain || undefined;
    const info = acmeOf(services).discardPending(domain, actor);
    return { Discarded: info.serial };
  },
});
