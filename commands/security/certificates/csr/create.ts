import { literal, str } from '../../../../schema/types.js';
import { KEY_TYPES, TRUE_FALSE } from '../../../../schema/sets.js';
import { defineCommand, param } from '../../../define.js';
import { csrFields } from '../service.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CSR', 'Create'],
  help: 'Create a certificate signing request, written to /tmp/xway-csr.pem; the private key is generated and kept on the appliance',
  role: 'Admin',
  params: {
    CommonName: param(str(1, 253), 'The FQDN for the certificate', { required: true }),
    AlternativeNames: param(str(0, 4096), 'More FQDNs, comma-separated (may be repeated); the CommonName is always included', { multiple: true }),
    KeyType: param(literal(...KEY_TYPES), 'Key type (default RSA-2048)'),
    ReuseKey: param(literal(...TRUE_FALSE), 'Re-use the current server key instead of a new one (default False)'),
  },
  async run(args, ctx) {
    const { services, actor } = ctx;
    const alternativeNames = (args.AlternativeNames ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    // A wildcard can only be proved by DNS-01: refuse it now rather than at Sign.
    services.acme.checkNames([args.CommonName, ...alternativeNames]);
    const csr = await services.certificates.createCsr({
      commonName: args.CommonName,
      alternativeNames,
      keyType: args.KeyType ?? 'RSA-2048',
      reuseKey: args.ReuseKey === 'True',
    }, actor);
    return csrFields(csr, ctx);
  },
});
