import { literal } from '../../../../schema/types.js';
import { CERTIFICATE_FORMATS } from '../../../../schema/sets.js';
import { ParameterError } from '../../../../src/errors.js';
import { defineCommand, param, type Fields } from '../../../define.js';
import { fingerprintParam } from './delete.js';
import { certFields, pemLines } from '../service.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CA', 'Show'],
  help: 'Show trusted CA certificates, decoded or as PEM: the ones named by Fingerprint, or all',
  role: 'ReadOnly',
  params: {
    Fingerprint: { ...fingerprintParam, required: false },
    Format: param(literal(...CERTIFICATE_FORMATS), 'Decoded (default) or PEM'),
  },
  async run(args, { services }) {
    const trust = services.trust;
    const fps = args.Fingerprint ?? [];
    const picked = fps.length
      ? fps.map((fp) => {
          const c = trust.get(fp);
          if (!c) throw new ParameterError(`No trusted CA has the fingerprint ${fp}`);
          return c;
        })
      : trust.list();
    const pem = args.Format === 'PEM';
    return {
      Count: picked.length,
      Certificate: picked.map((c): Fields => (pem ? { Fingerprint: c.fingerprint, Pem: pemLines(c.pem) } : { ...certFields(c), CA: c.isCA ? 'True' : 'False' })),
    };
  },
});
