import { defineCommand } from '../../define.js';
import { acmeOf, domainParam } from './service.js';

export default defineCommand({
  path: ['Security', 'Acme', 'Deploy'],
  help: 'Deploy the pending ACME certificate by a live swap (no restart); the previous one is kept for rollback',
  role: 'Admin',
  params: { Domain: domainParam },
  async run(args, { services, actor }) {
    const domain = args.Domain || undefined;
    const r = await acmeOf(services).deploy(domain, actor);
    return {
      SerialNumber: r.certificate.serial,
      NotAfter: r.certificate.notAfter,
      ServedSerialNumber: r.servedSerial,
      ...(r.previous ? { Previous: r.previous } : {}),
    };
  },
});
