import { literal } from '../../../schema/types.js';
import { TRUE_FALSE } from '../../../schema/sets.js';
import { defineCommand, param, type Fields } from '../../define.js';

export default defineCommand({
  path: ['Security', 'Acme', 'AcceptTerms'],
  help: 'Show the ACME provider\'s terms of service URL; with Agree: True, accept them and create (or find) the account. Needs Security Acme AdminEmail',
  role: 'Admin',
  params: {
    Agree: param(literal(...TRUE_FALSE), 'True: accept the terms shown by TermsUrl and create the account; False (default): only show TermsUrl'),
  },
  async run(args, { services, actor }): Promise<Fields> {
    const r = await services.acme.acceptTerms(actor, args.Agree === 'True');
    // Nothing was created: only the terms, and how to accept them.
    if (!r.agreed) return { Provider: r.provider, TermsUrl: r.termsUrl, Message: AGREE_HINT };
    return { Provider: r.provider, TermsUrl: r.termsUrl, Account: r.accountUrl, AccountStatus: 'Valid' };
  },
});

const AGREE_HINT = 'Read the terms at TermsUrl, then run xCommand Security Acme AcceptTerms Agree: True to accept them and create the account';
