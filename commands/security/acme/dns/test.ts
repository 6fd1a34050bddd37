// Checks the DNS-01 setup before an order needs it: a probe TXT record goes to the configured
// server in one signed update, is polled at every authoritative server, and is deleted again.
import { fqdn } from '../../../../schema/types.js';
import { defineCommand, param } from '../../../define.js';

export default defineCommand({
  path: ['Security', 'Acme', 'Dns', 'Test'],
  help: 'Add a probe TXT record at _acme-challenge.<Domain or Dns Zone> by RFC 2136, wait until every authoritative server answers it, delete it; report each step',
  role: 'Admin',
  params: {
    Domain: param(fqdn(), 'The name whose _acme-challenge record is probed; omit for the configured Dns Zone'),
  },
  async run(args, { services }) {
    const r = await services.acme.dnsTest(args.Domain || undefined);
    return {
      Name: r.name,
      Zone: r.zone,
      Server: r.server,
      AddMs: Math.round(r.addMs),
      VisibleMs: Math.round(r.visibleMs),
      RemoveMs: Math.round(r.removeMs),
      Servers: r.servers.join(', '),
    };
  },
});
