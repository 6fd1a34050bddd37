import { defineCommand } from '../define.js';

export default defineCommand({
  path: ['Clustering', 'Join'],
  help: 'Join the cluster of the configured Clustering Peer Addresses; xStatus Clustering shows Joining, then Active',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    services.cluster.join(actor);
    return { Message: 'Joining the cluster: xStatus Clustering Status shows when it is formed' };
  },
});
