import { defineCommand } from '../../define.js';

export default defineCommand({
  path: ['Security', 'Acme', 'Rollback'],
  help: 'Swap the server certificate with the one the last deploy replaced (live, no restart); running it again swaps back. Refused when that one has expired or was revoked',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    const replaced = services.certificates.active().info.serial;
    const c = await services.certificates.rollback(actor, { revoked: services.acme.revokedSerials() });
    return {
      SerialNumber: c.info.serial, NotAfter: c.info.notAfter, Source: c.source,
      Replaced: replaced,
      Message: `Restored the server certificate that was in service before the last deploy (serial ${c.info.serial}, ${c.source}); Rollback again swaps back to serial ${replaced}`,
    };
  },
});
