import { str } from '../../../schema/types.js';
import { defineCommand, param } from '../../define.js';

export default defineCommand({
  path: ['Ssh', 'AuthorizedKey', 'Add'],
  help: 'Authorize an SSH public key for public-key login (an OpenSSH .pub line, quoted)',
  role: 'Admin',
  params: {
    Key: param(str(1, 16384), 'The public key line: "<type> <base64> [comment]"', { required: true }),
    User: param(str(1, 32), 'The account (default admin)'),
  },
  async run(args, { services, actor }) {
    const k = services.accounts.addKey(args.User ?? 'admin', args.Key, actor);
    return { Fingerprint: k.fingerprint, Type: k.type, Comment: k.comment };
  },
});
