// The one way ACME commands reach the service: Unavailable when app.ts has not wired it.
import type { AcmeService, Services } from '../../../src/services/interfaces.js';
import { Unavailable } from '../../../src/errors.js';
import { fqdn } from '../../../schema/types.js';
import { param } from '../../define.js';

export function acmeOf(services: Services): AcmeService {
  if (!services.acme) throw new Unavailable('The ACME certificate service is not running');
  return services.acme;
}

/** The optional `Domain:` parameter shared by Sign, Pending and Deploy. */
export const domainParam = param(fqdn(), 'Hosted SNI domain; omit for the server certificate');

/** A decoded certificate as result fields (never key material); one shape for every command. */
export { certFields as certificateFields } from '../certificates/service.js';
