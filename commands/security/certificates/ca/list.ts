import { defineCommand } from '../../../define.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CA', 'List'],
  help: 'List the trusted CA certificates: subject, issuer, validity and SHA-256 fingerprint',
  role: 'ReadOnly',
  params: {},
  async run(_args, { services }) {
    const list = services.trust.list();
    return {
      Count: list.length,
      Certificate: list.map((c) => ({ Subject: c.subject, Issuer: c.issuer, NotBefore: c.notBefore, NotAfter: c.notAfter, Fingerprint: c.fingerprint })),
    };
  },
});
