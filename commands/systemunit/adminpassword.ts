import { str } from '../../schema/types.js';
import { defineCommand, param } from '../define.js';

export default defineCommand({
  path: ['SystemUnit', 'AdminPassword', 'Set'],
  help: 'Change the password of the admin account',
  role: 'Admin',
  params: {
    Password: param(str(12, 128), 'The new password, at least 12 characters', { required: true, secret: true }),
  },
  async run(args, { services, actor }) {
    await services.accounts.setPassword('admin', args.Password, actor);
    return {};
  },
});
