import { literal, str } from '../../../../schema/types.js';
import { KEY_TYPES, type KeyType } from '../../../../src/services/interfaces.js';
import { defineCommand, many, one, param } from '../../../define.js';
import { certsOf, csrFields } from '../service.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CSR', 'Create'],
  help: 'Create a certificate signing request, written to /tmp/xway-csr.pem; the private key is generated and kept on the appliance',
  role: 'Admin',
  params: {
    CommonName: param(str(1, 253), 'The FQDN for the certificate', { required: true }),
    AlternativeNames: param(str(0, 4096), 'More FQDNs, comma-separated (may be repeated); the CommonName is always included', { multiple: true }),
    KeyType: param(literal(...KEY_TYPES), 'Key type (default RSA-2048)'),
    ReuseKey: param(literal('True', 'False'), 'Re-use the current server key instead of a new one (default False)'),
  },
  async run(args, ctx) {
    const { services, actor } = ctx;
    const alternativeNames = many(args, 'AlternativeNames').flatMap((v) => String(v).split(',')).map((s) => s.trim()).filter((s) => s !== '');
    const csr = await certsOf(services).createCsr({
      commonName: String(one(args, 'CommonName')),
      alternativeNames,
      keyType: (one(args, 'KeyType') as KeyType | undefined) ?? 'RSA-2048',
      reuseKey: one(args, 'ReuseKey') === 'True',
    }, actor);
    return csrFields(csr, ctx);
  },
});
