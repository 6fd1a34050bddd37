import { userName } from '../../../schema/types.js';
import { defineCommand, param } from '../../define.js';

export default defineCommand({
  path: ['SystemUnit', 'User', 'Delete'],
  help: 'Delete a login account and its SSH keys; its open sessions end. Never the last Admin, never your own account',
  role: 'Admin',
  params: { Name: param(userName(), 'The login name', { required: true }) },
  async run(args, { services, actor }) {
    services.accounts.deleteUser(args.Name, actor);
    return { Name: args.Name };
  },
});
