import { literal, str } from '../schema/types.js';
import { defineCommand, param, one } from './define.js';
import type { AcmeProvider, RevocationReason } from '../src/services/interfaces.js';
import { acmeOf } from './security/acme/service.js';

export default defineCommand({
  path: ['Acmerevoke'],
  help: 'Revoke a certificate issued by an ACME provider; a pending certificate from that provider covering its names proves control',
  role: 'Admin',
  params: {
    CertPath: param(str(1, 1024), 'The certificate file: /tmp/<file> (upload area) or /archive/<serial>.pem', { required: true, file: true }),
    Provider: param(literal('LetsEncrypt', 'LetsEncryptStaging', 'Custom'), 'The provider that issued it (default: the configured one)'),
    Reason: param(literal('Unspecified', 'KeyCompromise', 'AffiliationChanged', 'Superseded', 'CessationOfOperation'), 'Revocation reason (default Unspecified)'),
  },
  async run(args, { services, actor }) {
    const r = await acmeOf(services).revoke(
      String(one(args, 'CertPath')),
      one(args, 'Provider') as AcmeProvider | undefined,
      (one(args, 'Reason') as RevocationReason | undefined) ?? 'Unspecified',
      actor,
    );
    return { SerialNumber: r.serial, Reason: r.reason, Answer: r.answer };
  },
});
