import { str } from '../../../../schema/types.js';
import { defineCommand, param } from '../../../define.js';
import { trustOf } from '../service.js';

export const fingerprintParam = param(str(64, 95), 'SHA-256 fingerprint (hex, with or without colons); repeat to name several', { required: true, multiple: true });

export default defineCommand({
  path: ['Security', 'Certificates', 'CA', 'Delete'],
  help: 'Delete trusted CA certificates by SHA-256 fingerprint (repeat Fingerprint for several; all or none)',
  role: 'Admin',
  params: { Fingerprint: fingerprintParam },
  async run(args, { services, actor }) {
    const gone = trustOf(services).delete(args.Fingerprint, actor);
    return {
      Deleted: gone.length,
      Count: trustOf(services).count(),
      Certificate: gone.map((c) => ({ Subject: c.subject, Fingerprint: c.fingerprint })),
    };
  },
});
