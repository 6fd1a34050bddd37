import { defineCommand } from '../../../define.js';
import { CERTIFICATE_LIMITS } from '../../../../src/services/interfaces.js';
import { consumeKeyFile, fileParam, namingInput, pemInput, withWarnings } from '../service.js';

const MAX_UPLOAD_BYTES = CERTIFICATE_LIMITS.uploadBytes;

export default defineCommand({
  path: ['Security', 'Certificates', 'Server', 'Upload'],
  help: 'Upload the server certificate (first), its chain and its unencrypted private key as PEM; used after xCommand SystemUnit Boot. A File holding the key is deleted once installed',
  role: 'Admin',
  params: { File: fileParam },
  payload: { help: 'PEM: the server certificate, then chain certificates, then the private key (omit the key when it is the CSR key)', unless: ['File'], maxBytes: MAX_UPLOAD_BYTES },
  async run(args, ctx) {
    const pem = pemInput(args.File, ctx, MAX_UPLOAD_BYTES);
    const r = namingInput(args.File, () => ctx.services.certificates.upload(pem, ctx.actor));
    return withWarnings({
      Subject: r.certificate.subject,
      SerialNumber: r.certificate.serial,
      NotAfter: r.certificate.notAfter,
      Fingerprint: r.certificate.fingerprint,
      Status: 'RestartRequired',
      Message: 'The certificate is used after xCommand SystemUnit Boot',
      ...consumeKeyFile(args.File, ctx, pem),
    }, r.warnings);
  },
});
