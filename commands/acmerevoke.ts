import { literal, str } from '../schema/types.js';
import { ACME_PROVIDERS, REVOCATION_REASONS } from '../schema/sets.js';
import { defineCommand, param } from './define.js';


export default defineCommand({
  path: ['Acmerevoke'],
  help: 'Revoke a certificate issued by an ACME provider; a pending certificate from that provider covering its names proves control',
  role: 'Admin',
  params: {
    CertPath: param(str(1, 1024), 'The certificate file: /tmp/<file> (upload area) or /archive/<serial>.pem', { required: true, file: true }),
    Provider: param(literal(...ACME_PROVIDERS), 'The provider that issued it (default: the configured one)'),
    Reason: param(literal(...REVOCATION_REASONS), 'Revocation reason (default Unspecified)'),
  },
  async run(args, { services, actor }) {
    const r = await services.acme.revoke(
      args.CertPath,
      args.Provider,
      args.Reason ?? 'Unspecified',
      actor,
    );
    return { SerialNumber: r.serial, Reason: r.reason, Answer: r.answer };
  },
});
