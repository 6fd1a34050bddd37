import { defineCommand } from '../../../define.js';
import { certsOf } from '../service.js';
import { nameParam } from './add.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'Domain', 'Delete'],
  help: 'Stop hosting a domain and delete its certificate and key; its clients get the server certificate',
  role: 'Admin',
  params: { Name: nameParam },
  async run(args, { services, actor }) {
    certsOf(services).deleteDomain(args.Name, actor);
    return { Message: `The domain ${args.Name.toLowerCase()} was deleted` };
  },
});
