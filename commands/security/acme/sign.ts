import { literal } from '../../../schema/types.js';
import { TRUE_FALSE } from '../../../schema/sets.js';
import { defineCommand, param } from '../../define.js';
import { CommandError } from '../../../src/errors.js';
import { certificateFields, domainParam } from './service.js';

export default defineCommand({
  path: ['Security', 'Acme', 'Sign'],
  help: 'Submit the saved CSR (or the domain\'s request) to the ACME provider; HTTP-01 is answered only during this order',
  role: 'Admin',
  params: {
    Domain: domainParam,
    Wait: param(literal(...TRUE_FALSE), 'True: block until the order ends (bounded); False (default): return at once'),
    DryRun: param(literal(...TRUE_FALSE), 'True: run the whole order (LetsEncrypt: against its staging CA) with a throwaway key and keep nothing but xStatus LastDryRun'),
  },
  async run(args, { services, actor }) {
    const domain = args.Domain;
    const wait = args.Wait === 'True';
    if (args.DryRun === 'True') {
      const r = await services.acme.dryRun(domain || undefined, wait, actor);
      if (r.status === 'Failed') throw new CommandError(`Dry run failed: ${r.reason}`);
      return { Status: r.status, DryRun: 'True', ...(r.reason ? { Reason: r.reason } : {}) };
    }
    const r = await services.acme.sign(domain || undefined, wait, actor);
    if (r.status === 'Failed') throw new CommandError(r.reason);
    return {
      Status: r.status,
      ...(r.reason ? { Reason: r.reason } : {}),
      ...(r.pending ? { Pending: certificateFields(r.pending) } : {}),
    };
  },
});
