import { literal } from '../../../../schema/types.js';
import { CERTIFICATE_FORMATS } from '../../../../schema/sets.js';
import type { InstalledCertificate } from '../../../../src/services/interfaces.js';
import { defineCommand, param, type Fields } from '../../../define.js';
import { certFields, pemLines } from '../service.js';

function fields(c: InstalledCertificate, pem: boolean): Fields {
  const base: Fields = { ...certFields(c.info), Source: c.source, Installed: c.installed, ChainLength: c.chainPem.length };
  return pem ? { ...base, Pem: pemLines(c.certPem + c.chainPem.join('')) } : base;
}

export default defineCommand({
  path: ['Security', 'Certificates', 'Server', 'Show'],
  help: 'Show the server certificate in use (and one waiting for a restart), decoded or with its PEM',
  role: 'ReadOnly',
  params: { Format: param(literal(...CERTIFICATE_FORMATS), 'Decoded (default), or PEM to add the certificate and chain') },
  async run(args, { services }) {
    const certs = services.certificates;
    const pem = args.Format === 'PEM';
    const pending = certs.pendingRestart();
    return { Active: fields(certs.active(), pem), ...(pending ? { PendingRestart: fields(pending, pem) } : {}) };
  },
});
