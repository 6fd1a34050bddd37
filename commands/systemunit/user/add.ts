import { literal, str, userName } from '../../../schema/types.js';
import { ROLES } from '../../../schema/sets.js';
import { defineCommand, param } from '../../define.js';

export default defineCommand({
  path: ['SystemUnit', 'User', 'Add'],
  help: 'Create a login account: Admin (everything) or ReadOnly (status and configuration reads; no changes, no files)',
  role: 'Admin',
  params: {
    Name: param(userName(), 'The login name: a-z 0-9 _ . - (up to 32)', { required: true }),
    Role: param(literal(...ROLES), 'What the account may do', { required: true }),
    Password: param(str(12, 128), 'Its password, at least 12 characters', { required: true, secret: true }),
  },
  async run(args, { services, actor }) {
    await services.accounts.addUser(args.Name, args.Role, args.Password, actor);
    return { Name: args.Name, Role: args.Role };
  },
});
