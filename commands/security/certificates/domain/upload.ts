import { defineCommand } from '../../../define.js';
import { domainNameProblem } from '../../../../schema/types.js';
import { ParameterError } from '../../../../src/errors.js';
import { CERTIFICATE_LIMITS } from '../../../../src/services/interfaces.js';
import { consumeKeyFile, fileParam, namingInput, pemInput, withWarnings } from '../service.js';
import { nameParam } from './add.js';

const MAX_UPLOAD_BYTES = CERTIFICATE_LIMITS.uploadBytes;

export default defineCommand({
  path: ['Security', 'Certificates', 'Domain', 'Upload'],
  help: 'Install a certificate (first), chain and unencrypted key for a hosted domain; served at once, no restart. A File holding the key is deleted once installed',
  role: 'Admin',
  params: { Name: nameParam, File: fileParam },
  payload: { help: 'PEM: the domain certificate, then chain certificates, then the private key', unless: ['File'], maxBytes: MAX_UPLOAD_BYTES },
  async run(args, ctx) {
    const certs = ctx.services.certificates;
    const name = args.Name;
    // Checked before the PEM: a refused name is the Name's fault, not the input's.
    const problem = domainNameProblem(name);
    if (problem) throw new ParameterError(problem);
    const exists = certs.domains().some((d) => d.name === name.toLowerCase());
    const pem = pemInput(args.File, ctx, MAX_UPLOAD_BYTES);
    const d = namingInput(args.File, () => certs.addDomain(name, pem, ctx.actor));
    const c = d.certificate!;
    return withWarnings({
      Name: d.name, Subject: c.info.subject, SerialNumber: c.info.serial, NotAfter: c.info.notAfter, Fingerprint: c.info.fingerprint,
      Status: exists ? 'Replaced' : 'Added',
      ...consumeKeyFile(args.File, ctx, pem),
    }, []);
  },
});
