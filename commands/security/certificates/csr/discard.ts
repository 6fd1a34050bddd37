import { defineCommand } from '../../../define.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CSR', 'Discard'],
  help: 'Discard the certificate signing request in progress and its private key',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    services.certificates.discardCsr(actor);
    return { Message: 'The CSR was discarded' };
  },
});
