import { defineCommand } from '../define.js';

export default defineCommand({
  path: ['Clustering', 'Leave'],
  help: 'Leave the cluster and run standalone again, keeping the current configuration',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    await services.cluster.leave(actor);
    return { Message: 'This peer left the cluster and runs standalone' };
  },
});
