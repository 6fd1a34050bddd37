// Parameters and result shapes shared by the ACME commands.
import { hostedDomain } from '../../../schema/types.js';
import { param } from '../../define.js';

/** The optional `Domain:` parameter shared by Sign, Pending and Deploy. */
export const domainParam = param(hostedDomain(), 'Hosted SNI domain (an FQDN or *.<FQDN>); omit for the server certificate');

/** A decoded certificate as result fields (never key material); one shape for every command. */
export { certFields as certificateFields } from '../certificates/service.js';
