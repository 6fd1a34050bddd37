// Both halves of the external account binding in one commit: the Security Acme owner refuses a
// configuration holding one without the other, and one xConfiguration line sets one key.
import { EAB_HMAC_KEY, EAB_KEY_ID } from '../../../../schema/config.js';
import { defineCommand, param } from '../../../define.js';

export default defineCommand({
  path: ['Security', 'Acme', 'ExternalAccount', 'Set'],
  help: 'Set Security Acme ExternalAccount KeyId and HmacKey together (both empty: no external account binding)',
  role: 'Admin',
  params: {
    KeyId: param(EAB_KEY_ID, 'The key identifier the CA gave', { required: true }),
    HmacKey: param(EAB_HMAC_KEY, 'The HMAC key the CA gave (base64url), never shown', { required: true, secret: true }),
  },
  async run(args, { services, actor }) {
    services.config.set([
      { key: 'Security Acme ExternalAccount KeyId', value: args.KeyId },
      { key: 'Security Acme ExternalAccount HmacKey', value: args.HmacKey },
    ], actor);
    return {};
  },
});
