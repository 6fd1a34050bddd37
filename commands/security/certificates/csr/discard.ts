import { defineCommand } from '../../../define.js';
import { withWarnings } from '../service.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CSR', 'Discard'],
  help: 'Discard the certificate signing request in progress and its private key',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    services.certificates.discardCsr(actor);
    // ACME renews the server certificate from the CSR: without one, automated renewal cannot run.
    const automated = services.config.value('Security Acme Scheduler Mode') === 'On';
    return withWarnings({ Message: 'The CSR was discarded' }, automated ? [AUTOMATED_WARNING] : []);
  },
});

const AUTOMATED_WARNING = 'Automated ACME renewal is on (Security Acme Scheduler Mode: On): the server certificate will not renew until a new CSR is created with xCommand Security Certificates CSR Create';
