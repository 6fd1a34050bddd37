import { str } from '../../../schema/types.js';
import { defineCommand, param } from '../../define.js';
import { CommandError } from '../../../src/errors.js';

export default defineCommand({
  path: ['Ssh', 'AuthorizedKey', 'Delete'],
  help: 'Remove authorized SSH keys by fingerprint (SHA256:...)',
  role: 'Admin',
  params: {
    Fingerprint: param(str(8, 100), 'Fingerprint as listed, e.g. SHA256:abc...', { required: true, multiple: true }),
    User: param(str(1, 32), 'The account (default admin)'),
  },
  async run(args, { services, actor }) {
    const user = args.User ?? 'admin';
    const fps = args.Fingerprint;
    // Check them all first, so a bad fingerprint deletes nothing.
    const known = new Set(services.accounts.listKeys(user).map((k) => k.fingerprint));
    const missing = fps.filter((f) => !known.has(f));
    if (missing.length) throw new CommandError(`No key with fingerprint ${missing.join(', ')} for ${user}; nothing was deleted`);
    for (const f of new Set(fps)) services.accounts.deleteKey(user, f, actor);
    return { Deleted: new Set(fps).size };
  },
});
