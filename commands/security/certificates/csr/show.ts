import { CommandError } from '../../../../src/errors.js';
import { defineCommand } from '../../../define.js';
import { csrFields } from '../service.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CSR', 'Show'],
  help: 'Show the certificate signing request in progress, decoded; for an Admin its PEM is written to /tmp/xway-csr.pem (the private key is never shown)',
  role: 'ReadOnly',
  params: {},
  async run(_args, ctx) {
    const csr = ctx.services.certificates.csr();
    if (!csr) throw new CommandError('No CSR is in progress');
    return csrFields(csr, ctx);
  },
});
