import { literal } from '../../../../schema/types.js';
import { CERTIFICATE_FORMATS } from '../../../../schema/sets.js';
import { ParameterError } from '../../../../src/errors.js';
import { defineCommand, param, type Fields } from '../../../define.js';
import { fingerprintParam } from './delete.js';
import { certFields, pemFile } from '../service.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CA', 'Show'],
  help: 'Show trusted CA certificates (the ones named by Fingerprint, or all) decoded, or with Format: PEM write them to one file in /tmp (Admin)',
  role: 'ReadOnly',
  params: {
    Fingerprint: { ...fingerprintParam, required: false },
    Format: param(literal(...CERTIFICATE_FORMATS), 'Decoded (default), or PEM: the certificates go to /tmp/xway-ca-<fingerprint>.pem (one) or /tmp/xway-ca-bundle.pem'),
  },
  async run(args, ctx): Promise<Fields> {
    const trust = ctx.services.trust;
    const fps = args.Fingerprint ?? [];
    const picked = fps.length
      ? fps.map((fp) => {
          const c = trust.get(fp);
          if (!c) throw new ParameterError(`No trusted CA has the fingerprint ${fp}`);
          return c;
        })
      : trust.list();
    if (args.Format !== 'PEM') {
      return { Count: picked.length, Certificate: picked.map((c) => ({ ...certFields(c), CA: c.isCA ? 'True' : 'False' })) };
    }
    // A file name from the fingerprint (hex only), so the same CA always lands in the same file.
    const name = picked.length === 1 ? `xway-ca-${picked[0]!.fingerprint.replace(/:/g, '').slice(0, 16)}.pem` : 'xway-ca-bundle.pem';
    const file = pemFile(ctx, name, picked.map((c) => c.pem.trim()).join('\n'));
    return { Count: picked.length, File: file, Certificate: picked.map((c) => ({ Fingerprint: c.fingerprint, Subject: c.subject })) };
  },
});
