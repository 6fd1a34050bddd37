import { defineCommand } from '../../../define.js';

export default defineCommand({
  path: ['Security', 'Certificates', 'CA', 'Reset'],
  help: 'Replace the trusted CA list with the default list (the root certificates shipped with the runtime)',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    return { Count: services.trust.reset(actor) };
  },
});
