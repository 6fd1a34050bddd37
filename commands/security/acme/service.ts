// Parameters and result shapes shared by the ACME commands.
import { fqdn } from '../../../schema/types.js';
import { param } from '../../define.js';

/** The optional `Domain:` parameter shared by Sign, Pending and Deploy. */
export const domainParam = param(fqdn(), 'Hosted SNI domain; omit for the server certificate');

/** A decoded certificate as result fields (never key material); one shape for every command. */
export { certFields as certificateFields } from '../certificates/service.js';
