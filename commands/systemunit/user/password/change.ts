import { str } from '../../../../schema/types.js';
import { defineCommand, param } from '../../../define.js';

export default defineCommand({
  path: ['SystemUnit', 'User', 'Password', 'Change'],
  help: 'Change your own password: the old one first (any role)',
  role: 'ReadOnly',
  params: {
    OldPassword: param(str(1, 128), 'Your current password', { required: true, secret: true }),
    NewPassword: param(str(12, 128), 'The new password, at least 12 characters', { required: true, secret: true }),
  },
  async run(args, { services, actor }) {
    await services.accounts.changeOwnPassword(args.OldPassword, args.NewPassword, actor);
    return {};
  },
});
