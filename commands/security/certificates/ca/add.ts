import { defineCommand } from '../../../define.js';
import { CERTIFICATE_LIMITS } from '../../../../src/services/interfaces.js';
import { fileParam, namingInput, pemInput, trustOf, withWarnings } from '../service.js';

const MAX_CA_INPUT_BYTES = CERTIFICATE_LIMITS.caInputBytes;

export default defineCommand({
  path: ['Security', 'Certificates', 'CA', 'Add'],
  help: 'Append one or more PEM CA certificates to the trusted CA list (paste them, or give File); duplicates are skipped',
  role: 'Admin',
  params: { File: fileParam },
  payload: { help: 'PEM CA certificates', unless: ['File'], maxBytes: MAX_CA_INPUT_BYTES },
  async run(args, ctx) {
    const pem = pemInput(args.File, ctx, MAX_CA_INPUT_BYTES);
    const r = namingInput(args.File, () => trustOf(ctx.services).add(pem, ctx.actor));
    return withWarnings({
      Added: r.added.length,
      Skipped: r.duplicates.length,
      Count: trustOf(ctx.services).count(),
      Certificate: [
        ...r.added.map((c) => ({ Status: 'Added', Subject: c.subject, NotAfter: c.notAfter, Fingerprint: c.fingerprint })),
        ...r.duplicates.map((c) => ({ Status: 'Duplicate', Subject: c.subject, NotAfter: c.notAfter, Fingerprint: c.fingerprint })),
      ],
    }, r.warnings);
  },
});
