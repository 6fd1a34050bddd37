import { defineCommand } from '../../define.js';

export default defineCommand({
  path: ['Security', 'Acme', 'AcceptTerms'],
  help: 'Accept the ACME provider\'s terms of service and create (or find) the account; shows the terms URL',
  role: 'Admin',
  params: {},
  async run(_args, { services, actor }) {
    const r = await services.acme.acceptTerms(actor);
    return { Provider: r.provider, TermsUrl: r.termsUrl, Account: r.accountUrl, AccountStatus: 'Valid' };
  },
});
