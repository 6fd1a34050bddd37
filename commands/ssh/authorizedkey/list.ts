import { str } from '../../../schema/types.js';
import { defineCommand, param } from '../../define.js';

export default defineCommand({
  path: ['Ssh', 'AuthorizedKey', 'List'],
  help: 'List the SSH public keys authorized for an account',
  role: 'Admin',
  params: { User: param(str(1, 32), 'The account (default admin)') },
  async run(args, { services }) {
    const keys = services.accounts.listKeys(args.User ?? 'admin');
    return { Count: keys.length, Key: keys.map((k) => ({ Fingerprint: k.fingerprint, Type: k.type, Comment: k.comment, Added: k.added })) };
  },
});
