import { defineCommand, type Fields } from '../../../define.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'Domain', 'List'],
  help: 'List the hosted domains and their certificates',
  role: 'ReadOnly',
  params: {},
  async run(_args, { services }) {
    const list = services.certificates.domains();
    return {
      Count: list.length,
      Domain: list.map((d): Fields => (d.certificate
        ? { Name: d.name, Subject: d.certificate.info.subject, SerialNumber: d.certificate.info.serial, NotAfter: d.certificate.info.notAfter, Fingerprint: d.certificate.info.fingerprint, Source: d.certificate.source }
        : { Name: d.name, Source: 'None' })),
    };
  },
});
