import { str, userName } from '../../../../schema/types.js';
import { defineCommand, param } from '../../../define.js';

export default defineCommand({
  path: ['SystemUnit', 'User', 'Password', 'Set'],
  help: "Set another account's password (when its owner has lost it); the owner changes it with Password Change",
  role: 'Admin',
  params: {
    Name: param(userName(), 'The login name', { required: true }),
    Password: param(str(12, 128), 'The new password, at least 12 characters', { required: true, secret: true }),
  },
  async run(args, { services, actor }) {
    await services.accounts.setPassword(args.Name, args.Password, actor);
    return { Name: args.Name };
  },
});
