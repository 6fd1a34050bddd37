import { defineCommand } from '../../../define.js';
import { domainNameProblem } from '../../../../schema/types.js';
import { ParameterError } from '../../../../src/errors.js';

import { nameParam } from './add.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'Domain', 'Delete'],
  help: 'Stop hosting a domain and delete its certificate and key, its ACME key, pending certificate and alarms; its clients get the server certificate',
  role: 'Admin',
  params: { Name: nameParam },
  async run(args, { services, actor }) {
    // The name first: a refused name reaches neither service.
    const problem = domainNameProblem(args.Name);
    if (problem) throw new ParameterError(problem);
    // ACME first: it refuses while an order for the domain runs, before anything is deleted.
    services.acme.forgetDomain(args.Name, actor);
    services.certificates.deleteDomain(args.Name, actor);
    return { Message: `The domain ${args.Name.toLowerCase()} was deleted` };
  },
});
