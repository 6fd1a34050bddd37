import { defineCommand } from '../../define.js';

export default defineCommand({
  path: ['Security', 'Acme', 'Rollback'],
  help: 'Put back the server certificate that the last deploy replaced (live swap, no restart)',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    const c = await services.certificates.rollback(actor);
    return { SerialNumber: c.info.serial, NotAfter: c.info.notAfter, Source: c.source };
  },
});
